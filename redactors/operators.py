"""Masking methods as operators, compiled with the policy.

An operator turns one merged finding into its replacement text. The policy names a method per
entity (`replace`, `pseudonym`, `mask`, `remove`); `compile_operators` resolves that table once
per distinct method table. Secrets are never subject to the method: they always become
`<SECRET:kind>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from policies.resolve import CompiledPolicy
from redactors.detectors.base import Finding
from redactors.identifiers import TenantPseudonymizer

_DIGIT_ENTITIES = frozenset({"CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE", "US_SSN"})


class Operator(Protocol):
    """Replacement text for `original` (the text under the finding, in the original string)."""

    name: str

    def apply(self, finding: Finding, original: str, pseudo: TenantPseudonymizer) -> str: ...


def mask_partially(entity: str, value: str) -> str:
    """`mask`: digits-like entities keep their last 4 alphanumerics, others their first letter."""
    alnum_positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    if entity in _DIGIT_ENTITIES:
        keep = set(alnum_positions[-4:]) if len(alnum_positions) > 8 else set()
    else:
        keep = set(alnum_positions[:1]) if len(alnum_positions) > 3 else set()
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(value))


@dataclass(frozen=True)
class Replace:
    name: str = "replace"

    def apply(self, finding: Finding, original: str, pseudo: TenantPseudonymizer) -> str:
        return f"<{finding.entity}>"


@dataclass(frozen=True)
class Pseudonym:
    """A keyed, tenant-scoped tag, computed on the normalised text the detector saw."""

    name: str = "pseudonym"

    def apply(self, finding: Finding, original: str, pseudo: TenantPseudonymizer) -> str:
        return pseudo.entity_tag(finding.entity, finding.canonical or original)


@dataclass(frozen=True)
class Mask:
    name: str = "mask"

    def apply(self, finding: Finding, original: str, pseudo: TenantPseudonymizer) -> str:
        return mask_partially(finding.entity, original)


@dataclass(frozen=True)
class Remove:
    name: str = "remove"

    def apply(self, finding: Finding, original: str, pseudo: TenantPseudonymizer) -> str:
        return ""


@dataclass(frozen=True)
class SecretTag:
    """Secrets, whatever the method: `<SECRET:kind>`."""

    name: str = "secret"

    def apply(self, finding: Finding, original: str, pseudo: TenantPseudonymizer) -> str:
        return f"<SECRET:{finding.label}>"


# The methods a policy may name (policies.config.Method), each one operator.
OPERATORS: Mapping[str, Operator] = MappingProxyType(
    {operator.name: operator for operator in (Replace(), Pseudonym(), Mask(), Remove())}
)
SECRET_OPERATOR: Operator = SecretTag()


@dataclass(frozen=True)
class CompiledOperators:
    """Entity -> operator for one policy's method table; `"*"` is the default."""

    by_entity: Mapping[str, Operator]

    def for_finding(self, finding: Finding) -> Operator:
        if finding.is_secret:
            return SECRET_OPERATOR
        return self.by_entity.get(finding.entity) or self.by_entity["*"]


_COMPILED: dict[tuple[tuple[str, str], ...], CompiledOperators] = {}


def compile_operators(policy: CompiledPolicy) -> CompiledOperators:
    """The policy's operators; an unknown method is a bug in the policy layer and raises."""
    key = tuple(sorted(policy.methods.items()))
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = CompiledOperators(MappingProxyType({entity: OPERATORS[method] for entity, method in key}))
        _COMPILED[key] = compiled
    return compiled
