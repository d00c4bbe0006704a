"""Record encryption: AES-256-GCM under a segment's data key, bound to where the record lives.

Each segment has its own fresh 32-byte data key (see `vault.keyring`); each record in it is
sealed separately with a random 96-bit nonce:

    sealed = nonce (12 bytes) || ciphertext || tag (16 bytes)

The associated data (`record_aad`) binds the tenant, the environment, the object key and the
record's position in the segment. A record copied to another tenant, environment, object or
position, or two records swapped, fail to decrypt.

Nonces: random 96-bit nonces are safe for up to about 2**32 records under one key (NIST SP
800-38D); a data key lives for one segment, which holds far fewer records.

Nothing here puts key material or plaintext into a message: `DecryptError` has a fixed text.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from policies.tenants import validate_id

AAD_TAG = b"tracevault/record/v1\x00"
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class DecryptError(Exception):
    """A ciphertext did not decrypt: wrong key, wrong place, or tampered. Carries no data."""

    def __init__(self, message: str = "ciphertext failed to decrypt") -> None:
        super().__init__(message)


def length_prefixed(*fields: bytes) -> bytes:
    """Unambiguous concatenation: each field preceded by its length (u32, big-endian)."""
    return b"".join(_U32.pack(len(field)) + field for field in fields)


def record_aad(tenant: str, env: str, object_key: str, position: int) -> bytes:
    """The associated data of one record: a version tag, then tenant, env, object key, position."""
    validate_id(tenant, "tenant id")
    validate_id(env, "env id")
    if not isinstance(object_key, str) or not object_key:
        raise ValueError("object key must be a non-empty string")
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < 2**64:
        raise ValueError("record position must be an integer in [0, 2**64)")
    return AAD_TAG + length_prefixed(tenant.encode(), env.encode(), object_key.encode()) + _U64.pack(position)


def _check_key(data_key: bytes) -> None:
    if not isinstance(data_key, (bytes, bytearray)) or len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"data key must be {DATA_KEY_BYTES} bytes (AES-256)")


def encrypt_record(data_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """Seal one record: ``nonce(12) || ciphertext+tag``, with a fresh random nonce."""
    _check_key(data_key)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(bytes(data_key)).encrypt(nonce, plaintext, aad)


def decrypt_record(data_key: bytes, aad: bytes, blob: bytes) -> bytes:
    """Open one record sealed by `encrypt_record`; any failure is a `DecryptError`."""
    try:
        _check_key(data_key)
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptError("payload record is truncated")
        blob = bytes(blob)
        return AESGCM(bytes(data_key)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except DecryptError:
        raise
    except (InvalidTag, ValueError, TypeError, OverflowError):
        # `from None`: the underlying error adds nothing and must not drag data along.
        raise DecryptError("payload record failed to decrypt") from None
