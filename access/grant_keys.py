"""The Ed25519 keys that sign access grants, kept beside the keyring, with key ids so they rotate.

Files under ``<data_dir>/keys/grants/`` (directory 0700, files 0600, every write atomic: temp
file, fsync, rename, fsync of the directory; ``.lock`` serialises changes across processes):

- ``signing.enc``: ``b"TVG1" || nonce(12) || AES-256-GCM(JSON {"format", "kid", "key":
  base64(raw Ed25519 private key)})`` under HKDF-SHA256(master secret, grant-signing info). Only
  the *active* key's private half is kept: after a rotation the old private key is destroyed,
  so an old kid can verify but never sign again.
- ``public.json``: ``{"format", "active": KID, "keys": {KID: {"public": base64, "created":
  ISO}}, "retired": {KID: ISO}, "mac": base64(HMAC-SHA256)}``. The MAC is keyed from the master
  secret, so a public key cannot be swapped in by someone who can write the directory but does
  not hold the master secret.

Lifecycle: the first `issue` creates kid ``g1-xxxxxxxx``. ``tracevault grant keys rotate`` makes a
new active kid; tokens signed by older kids still verify while their public key is listed.
``tracevault grant keys retire KID`` removes a non-active kid's public key: every token it signed
is refused from then on (rule ``unknown_key``).

Messages and reprs never contain key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from policies.files import atomic_write

if TYPE_CHECKING:
    from policies.config import Config

__all__ = ["GrantKeyError", "GrantKeys", "KeyInfo", "grant_keys_dir", "KID_PATTERN"]

_PUBLIC_FORMAT = "tracevault.grant-keys.public.v1"
_SIGNING_FORMAT = "tracevault.grant-keys.signing.v1"
_MAGIC = b"TVG1"
_NONCE_BYTES = 12
_PUBLIC_FILE = "public.json"
_SIGNING_FILE = "signing.enc"
_LOCK_FILE = ".lock"
_HKDF_SALT = b"tracevault/grant-keys/v1"
_ED25519_BYTES = 32

#: Key ids look like ``g3-9c1f04ab``: a version counter and a random suffix.
KID_PATTERN = re.compile(r"g[0-9]{1,9}-[0-9a-f]{8}")
MIN_MASTER_SECRET_BYTES = 32


class GrantKeyError(Exception):
    """The signing keys are missing, damaged, or the operation is not allowed. No key material."""


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    created: str
    status: str  # "active", "verify-only" or "retired"


def grant_keys_dir(config: Config) -> Path:
    """``<data_dir>/keys/grants`` (a sibling of the tenants' keyring, never a tenant directory)."""
    return config.data_dir / "keys" / "grants"


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(secret)


def _now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class GrantKeys:
    """Signing (issuer side) and verification keys of grants, in one directory."""

    def __init__(self, directory: Path | str, master_secret: bytes) -> None:
        if not isinstance(master_secret, (bytes, bytearray)) or len(master_secret) < MIN_MASTER_SECRET_BYTES:
            raise ValueError(f"master secret must be at least {MIN_MASTER_SECRET_BYTES} bytes")
        self._directory = Path(directory)
        self._file_key = _hkdf(bytes(master_secret), b"tracevault/grant-keys/signing-file/v1")
        self._mac_key = _hkdf(bytes(master_secret), b"tracevault/grant-keys/public-mac/v1")

    def __repr__(self) -> str:
        return f"GrantKeys(directory={str(self._directory)!r})"

    # -- files --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Path]:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._directory
        finally:
            os.close(fd)

    def _mac(self, active: str, keys: dict, retired: dict) -> str:
        body = json.dumps({"active": active, "keys": keys, "retired": retired}, sort_keys=True, separators=(",", ":"))
        return base64.b64encode(hmac.new(self._mac_key, body.encode(), hashlib.sha256).digest()).decode("ascii")

    def _read_public(self) -> tuple[str, dict[str, dict[str, str]], dict[str, str]] | None:
        try:
            raw = (self._directory / _PUBLIC_FILE).read_bytes()
        except FileNotFoundError:
            return None
        try:
            document = json.loads(raw)
            active, keys, retired, mac = document["active"], document["keys"], document["retired"], document["mac"]
            if document.get("format") != _PUBLIC_FORMAT or not isinstance(keys, dict) or not isinstance(retired, dict):
                raise ValueError
            valid = hmac.compare_digest(str(mac).encode(), self._mac(active, keys, retired).encode())
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GrantKeyError("grant verification keys are malformed") from None
        if not valid:
            raise GrantKeyError("grant verification keys fail authentication (another master secret, or tampering)")
        if active not in keys:
            raise GrantKeyError("grant verification keys are malformed")
        return active, keys, retired

    def _write_public(self, active: str, keys: dict[str, dict[str, str]], retired: dict[str, str]) -> None:
        document = {
            "format": _PUBLIC_FORMAT,
            "active": active,
            "keys": keys,
            "retired": retired,
            "mac": self._mac(active, keys, retired),
        }
        atomic_write(self._directory / _PUBLIC_FILE, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())

    def _read_signing(self) -> tuple[str, Ed25519PrivateKey] | None:
        try:
            raw = (self._directory / _SIGNING_FILE).read_bytes()
        except FileNotFoundError:
            return None
        head = len(_MAGIC)
        if raw[:head] != _MAGIC or len(raw) < head + _NONCE_BYTES + 16:
            raise GrantKeyError("grant signing key is malformed")
        try:
            plain = AESGCM(self._file_key).decrypt(raw[head : head + _NONCE_BYTES], raw[head + _NONCE_BYTES :], _MAGIC)
        except InvalidTag:
            raise GrantKeyError("grant signing key cannot be opened (another master secret, or tampering)") from None
        try:
            document = json.loads(plain)
            if document.get("format") != _SIGNING_FORMAT:
                raise ValueError
            kid = str(document["kid"])
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(document["key"], validate=True))
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise GrantKeyError("grant signing key is malformed") from None
        return kid, key

    def _write_signing(self, kid: str, key: Ed25519PrivateKey) -> None:
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        document = {"format": _SIGNING_FORMAT, "kid": kid, "key": base64.b64encode(raw).decode("ascii")}
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._file_key).encrypt(nonce, json.dumps(document).encode(), _MAGIC)
        atomic_write(self._directory / _SIGNING_FILE, _MAGIC + nonce + sealed)

    # -- operations ---------------------------------------------------------------------------

    def _new_locked(self) -> str:
        state = self._read_public()
        keys: dict[str, dict[str, str]] = dict(state[1]) if state else {}
        retired: dict[str, str] = dict(state[2]) if state else {}
        version = 1 + max([int(k[1:].split("-", 1)[0]) for k in [*keys, *retired] if KID_PATTERN.fullmatch(k)] + [0])
        kid = f"g{version}-{secrets.token_hex(4)}"
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys[kid] = {"public": base64.b64encode(public).decode("ascii"), "created": _now_text()}
        # The signing file first: a kid is never published as active without its private half.
        self._write_signing(kid, private)
        self._write_public(kid, keys, retired)
        return kid

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The active kid and its private key; the first call creates them."""
        with self._locked():
            signing = self._read_signing()
            state = self._read_public()
            if signing is None or state is None or signing[0] != state[0]:
                if signing is not None and state is not None:
                    raise GrantKeyError(
                        "grant signing key does not match the active verification key (an interrupted "
                        "rotation); run `tracevault grant keys rotate`"
                    )
                self._new_locked()
                signing = self._read_signing()
        assert signing is not None
        return signing

    def rotate(self) -> str:
        """A new active kid. The old private key is destroyed; its public key still verifies."""
        with self._locked():
            return self._new_locked()

    def retire(self, kid: str) -> None:
        """Stop accepting tokens signed by ``kid`` (not the active one: rotate first)."""
        with self._locked():
            state = self._read_public()
            if state is None:
                raise GrantKeyError("there are no grant keys")
            active, keys, retired = state
            if kid == active:
                raise GrantKeyError("the active grant key cannot be retired; rotate first")
            if kid not in keys:
                if kid in retired:
                    return
                raise GrantKeyError("no such grant key id")
            keys = {k: v for k, v in keys.items() if k != kid}
            retired = {**retired, kid: _now_text()}
            self._write_public(active, keys, retired)

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The verification key of ``kid``; None when unknown or retired."""
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            return None
        state = self._read_public()
        if state is None or kid not in state[1]:
            return None
        try:
            raw = base64.b64decode(state[1][kid]["public"], validate=True)
            if len(raw) != _ED25519_BYTES:
                raise ValueError
            return Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise GrantKeyError("grant verification keys are malformed") from None

    def list(self) -> list[KeyInfo]:
        state = self._read_public()
        if state is None:
            return []
        active, keys, retired = state
        out = [KeyInfo(kid, str(meta.get("created", "")), "active" if kid == active else "verify-only") for kid, meta in keys.items()]
        out += [KeyInfo(kid, "", "retired") for kid in retired]
        return sorted(out, key=lambda info: (int(info.kid[1:].split("-", 1)[0]) if KID_PATTERN.fullmatch(info.kid) else 0))
