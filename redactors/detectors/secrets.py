"""Secrets by value, as a detector: an adapter around `redactors.secrets.SecretRules`.

The compiled rules are cached per policy's extra secret key names (and, for a tenant with a
known-secrets file, per file and tenant); `rules(policy)` is also what
the walker uses to classify attribute keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from policies.resolve import CompiledPolicy
from redactors.detectors.base import SECRET_ENTITY, ViewFindings, in_original
from redactors.known_secrets import KnownSecrets
from redactors.normalize import TextView
from redactors.secrets import SecretRules


class KeyClassifier(Protocol):
    """Names the secret kind an attribute or JSON key announces, alone or with its value
    (`SecretRules` is one)."""

    def key_kind(self, key: str) -> str | None: ...

    def pair_kind(self, key: str, value: str) -> str | None: ...


class SecretsDetector:
    name = "secrets"
    structural = True  # a key pasted into a model name is still stripped
    normalised = True

    def __init__(self, known_secrets: Callable[[CompiledPolicy], KnownSecrets] | None = None) -> None:
        self._rules: dict[tuple[tuple[str, ...], str, str], SecretRules] = {}
        self._known_secrets = known_secrets  # loads a policy's known-secrets file (docs/secrets.md)

    def rules(self, policy: CompiledPolicy) -> SecretRules:
        """The policy's compiled rules (built-in plus its secret key names, and the tenant's known
        secrets when its policy names a file); raises on a bad name or a bad file."""
        known_file = policy.known_secrets_file if self._known_secrets is not None else ""
        key = (policy.secret_key_names, known_file, policy.tenant if known_file else "")
        rules = self._rules.get(key)
        if rules is None:
            known = self._known_secrets(policy) if known_file and self._known_secrets is not None else None
            rules = SecretRules.compile(policy.secret_key_names, known=known)
            self._rules[key] = rules
        return rules

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        rules = self.rules(policy)
        return [
            [in_original(view, s.start, s.end, SECRET_ENTITY, 1.0, s.kind, f"secret.{s.kind}") for s in rules.scan(view.text)]
            for view in views
        ]
