"""Keyed pseudonyms for identifiers: HMAC-SHA256 under a per-tenant key derived with HKDF.

- Stable within a tenant, different across tenants (the tenant id is in the HKDF info).
- The key id is visible in every identifier token, so that a rotated key is recognisable.
- Never a bare hash: without the master secret a pseudonym cannot be checked against a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_SALT = b"tracevault/pseudonym/v1"
IDENTIFIER_PREFIX = "pn"


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(secret)


def canonical(value: str) -> str:
    """The form that is hashed: the same person written twice hashes the same."""
    text = unicodedata.normalize("NFKC", value).strip()
    # Emails and host-like ids are case-insensitive in practice.
    if "@" in text:
        return text.casefold()
    return text


@dataclass(frozen=True, slots=True)
class TenantPseudonymizer:
    tenant: str
    kid: str
    _key: bytes

    def __repr__(self) -> str:  # never show the key
        return f"TenantPseudonymizer(tenant={self.tenant!r}, kid={self.kid!r})"

    def digest(self, domain: str, value: str) -> str:
        mac = hmac.new(self._key, domain.encode() + b"\x00" + canonical(value).encode(), hashlib.sha256)
        return mac.hexdigest()

    def identifier(self, value: str) -> str:
        """Token for a whole identifier value, e.g. ``pn:3c5e1a0b:9f2c4e...`` (key id, 96-bit tag)."""
        return f"{IDENTIFIER_PREFIX}:{self.kid}:{self.digest('id', value)[:24]}"

    def entity_tag(self, entity: str, value: str) -> str:
        """Pseudonym for an entity found in text: ``<EMAIL_ADDRESS:3fa9c2d1>``."""
        return f"<{entity}:{self.digest('entity', value)[:8]}>"


class Pseudonymizer:
    """Derives one pseudonym key per tenant from the master secret, and caches them."""

    def __init__(self, master_secret: bytes) -> None:
        if len(master_secret) < 32:
            raise ValueError("master secret must be at least 32 bytes")
        self._master = master_secret
        # Key id: a keyed fingerprint of the master secret, so it identifies the key without
        # revealing anything about it.
        self.kid = _hkdf(master_secret, b"kid").hex()[:8]
        self._tenants: dict[str, TenantPseudonymizer] = {}

    def __repr__(self) -> str:
        return f"Pseudonymizer(kid={self.kid!r})"

    def for_tenant(self, tenant: str) -> TenantPseudonymizer:
        found = self._tenants.get(tenant)
        if found is None:
            key = _hkdf(self._master, b"tenant:" + tenant.encode())
            found = TenantPseudonymizer(tenant=tenant, kid=self.kid, _key=key)
            if len(self._tenants) < 10_000:
                self._tenants[tenant] = found
        return found
