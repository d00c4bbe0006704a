"""Secrets by value, as a detector: an adapter around `redactors.secrets.SecretRules`.

The compiled rules are cached per policy's extra secret key names; `rules(policy)` is also what
the walker uses to classify attribute keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from policies.resolve import CompiledPolicy
from redactors.detectors.base import SECRET_ENTITY, ViewFindings, in_original
from redactors.normalize import TextView
from redactors.secrets import SecretRules


class KeyClassifier(Protocol):
    """Names the secret kind an attribute or JSON key announces (`SecretRules` is one)."""

    def key_kind(self, key: str) -> str | None: ...


class SecretsDetector:
    name = "secrets"
    structural = True  # a key pasted into a model name is still stripped
    normalised = True

    def __init__(self) -> None:
        self._rules: dict[tuple[str, ...], SecretRules] = {}

    def rules(self, policy: CompiledPolicy) -> SecretRules:
        """The policy's compiled rules (built-in plus its secret key names); raises on a bad name."""
        rules = self._rules.get(policy.secret_key_names)
        if rules is None:
            rules = SecretRules.compile(policy.secret_key_names)
            self._rules[policy.secret_key_names] = rules
        return rules

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        rules = self.rules(policy)
        return [
            [in_original(view, s.start, s.end, SECRET_ENTITY, 1.0, s.kind, f"secret.{s.kind}") for s in rules.scan(view.text)]
            for view in views
        ]
