"""Keyrings: per-tenant key-encryption keys that wrap each segment's data key.

Split by role: `DataKeyWriter` (new data keys: the sidecar), `DataKeyReader` (unwrap: audited
reads, erasure, compaction) and `KeyAdmin` (rotate, shred: the operator); `Keyring` is all three.
Two implementations, each with a writer-only class and a full one:

- `LocalKeyring`, the embedded default. Each tenant has X25519 key pairs (one per key version).
  The writer (the sidecar) seals a fresh data key to the tenant's active *public* key; only a
  holder of the private key can unwrap it (privacy invariant 6). The private keys are stored
  encrypted under a key derived from the master secret and bound to the tenant id (invariant 7).
- `KmsKeyring`, AWS KMS: the writer calls GenerateDataKey, the reader calls Decrypt, both with an
  encryption context of tenant and env. The sidecar's IAM role should allow GenerateDataKey only.

Files of the local keyring, under ``<directory>/<tenant>/`` (directory mode 0700, files 0600,
every write atomic: temp file, fsync, rename, fsync of the directory):

- ``public.json``: ``{"format": "tracevault.local-keyring.public.v1", "tenant": T,
  "active": KEY_ID, "keys": {KEY_ID: base64(X25519 public key)}, "mac": base64(HMAC-SHA256)}``.
  The MAC is keyed from the master secret and the tenant id, so a public key cannot be swapped
  in, and a public.json copied from another tenant is refused.
- ``private.enc``: ``b"TVK1" || nonce(12) || AES-256-GCM(JSON {"format", "tenant", "keys":
  {KEY_ID: base64(X25519 private key)}})``, under HKDF-SHA256(master secret, info bound to the
  tenant), with the tenant in the associated data too.
- ``shredded``: written by `shred`, JSON ``{"shredded_at", "key_ids", "last_version"}``.
- ``.lock``: flock(2) target that serialises key creation, rotation and shredding across
  processes (several sidecar workers may meet a new tenant at the same time).

A wrapped data key (local) is ``ephemeral X25519 public key (32) || nonce (12) || AES-256-GCM
ciphertext+tag (48)``: the wrapping key is HKDF-SHA256 of the X25519 shared secret with info
binding tenant, env, key id and both public keys; the AAD binds tenant, env and key id.

Key ids look like ``v3-9c1f04ab``: a version counter and a random suffix, no tenant id.

Messages and reprs never contain key material or plaintext.
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
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from policies.files import atomic_write, fsync_dir
from policies.tenants import validate_id
from vault.envelope import DATA_KEY_BYTES, DecryptError, length_prefixed

if TYPE_CHECKING:
    from policies.config import Config, KeyringConfig

__all__ = [
    "DataKey",
    "DataKeyReader",
    "DataKeyWriter",
    "DecryptError",
    "KeyServiceUnavailable",
    "KeyUnavailable",
    "KeyAdmin",
    "Keyring",
    "KmsKeyWriter",
    "KmsKeyring",
    "LocalKeyWriter",
    "LocalKeyring",
    "build_key_writer",
    "build_keyring",
]

MIN_MASTER_SECRET_BYTES = 32


class KeyUnavailable(Exception):
    """The key cannot be used: tenant or key id unknown, shredded, or no permission.

    The message names the tenant and the reason, never key material. For KMS errors,
    ``aws_code`` holds the AWS error code (else None).
    """

    aws_code: str | None = None


class KeyServiceUnavailable(KeyUnavailable):
    """A transient failure of the key service (throttling, network, internal error): retry later."""


@dataclass(frozen=True)
class DataKey:
    """A fresh data key and its wrapped form. The plaintext never appears in the repr."""

    plaintext: bytes = field(repr=False)
    wrapped: bytes = field(repr=False)
    key_id: str

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id!r}, plaintext=<{len(self.plaintext)} bytes>, wrapped=<{len(self.wrapped)} bytes>)"

    __str__ = __repr__


@runtime_checkable
class DataKeyWriter(Protocol):
    """The ingest tier's role: seal new data. It cannot unwrap what it wrote (invariant 6)."""

    def new_data_key(self, tenant: str, env: str) -> DataKey:
        """A fresh 32-byte data key and its form wrapped under the tenant's active key."""
        ...


@runtime_checkable
class DataKeyReader(Protocol):
    """The reader's role (audited payload reads, erasure, compaction)."""

    def unwrap(self, tenant: str, env: str, key_id: str, wrapped: bytes) -> bytes:
        """The data key. Raises `KeyUnavailable` or `DecryptError`."""
        ...


@runtime_checkable
class KeyAdmin(Protocol):
    """The operator's role: key versions and crypto-shredding."""

    def rotate(self, tenant: str) -> str:
        """Start a new key version for new data; old data stays readable. Returns the new key id."""
        ...

    def shred(self, tenant: str) -> None:
        """Destroy the tenant's key-encryption keys: afterwards every unwrap for it fails."""
        ...


@runtime_checkable
class Keyring(DataKeyWriter, DataKeyReader, KeyAdmin, Protocol):
    """Every role: the operator's CLI and the reader side hold one."""


# --------------------------------------------------------------------------------------------
# Local keyring
# --------------------------------------------------------------------------------------------

_PUBLIC_FORMAT = "tracevault.local-keyring.public.v1"
_PRIVATE_FORMAT = "tracevault.local-keyring.private.v1"
_PRIVATE_MAGIC = b"TVK1"
_PUBLIC_FILE = "public.json"
_PRIVATE_FILE = "private.enc"
_SHREDDED_FILE = "shredded"
_LOCK_FILE = ".lock"
_HKDF_SALT = b"tracevault/local-keyring/v1"
_X25519_BYTES = 32
_NONCE_BYTES = 12
_WRAPPED_BYTES = _X25519_BYTES + _NONCE_BYTES + DATA_KEY_BYTES + 16


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=info).derive(secret)


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _raw_private(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _wrap_context(tenant: str, env: str, key_id: str) -> bytes:
    return b"tracevault/local-keyring/wrap/v1\x00" + length_prefixed(tenant.encode(), env.encode(), key_id.encode())


def _key_version(key_id: str) -> int:
    head = key_id.split("-", 1)[0]
    return int(head[1:]) if head.startswith("v") and head[1:].isdigit() else 0


def _new_key_id(version: int) -> str:
    return f"v{version}-{secrets.token_hex(4)}"


def _overwrite_and_unlink(path: Path) -> None:
    """Best effort: overwrite with random bytes, fsync, unlink. (Copy-on-write file systems and
    SSD wear levelling may still keep old blocks; the master secret is what finally protects them.)"""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with open(path, "r+b") as handle:
        handle.write(secrets.token_bytes(max(size, 1)))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


class LocalKeyWriter:
    """The ingest tier's half of the local keyring (`DataKeyWriter`): it seals to public keys,
    creates a tenant's first key pair when none exists, and never opens ``private.enc``. It has
    no `unwrap`, `rotate` or `shred`: those are `LocalKeyring`'s.

    After `shred`, `new_data_key` for that tenant raises `KeyUnavailable` instead of silently
    creating fresh keys: a shredded tenant is meant to stay erased, and a sidecar still receiving
    its spans must not start a new key history behind the operator's back. An explicit `rotate`
    (``tracevault keys rotate --tenant T``) creates fresh keys; data from before the shred stays
    unreadable.
    """

    def __init__(self, directory: Path, master_secret: bytes) -> None:
        if not isinstance(master_secret, (bytes, bytearray)) or len(master_secret) < MIN_MASTER_SECRET_BYTES:
            raise ValueError(f"master secret must be at least {MIN_MASTER_SECRET_BYTES} bytes")
        self._directory = Path(directory)
        self._master = bytes(master_secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(directory={str(self._directory)!r})"

    # -- paths and derived keys ---------------------------------------------------------------

    def _tenant_dir(self, tenant: str) -> Path:
        return self._directory / validate_id(tenant, "tenant id")

    def _private_key_for_file(self, tenant: str) -> bytes:
        return _hkdf(self._master, b"tracevault/local-keyring/private-file/v1\x00" + length_prefixed(tenant.encode()))

    def _public_mac_key(self, tenant: str) -> bytes:
        return _hkdf(self._master, b"tracevault/local-keyring/public-mac/v1\x00" + length_prefixed(tenant.encode()))

    def _ensure_dir(self, tenant: str) -> Path:
        path = self._tenant_dir(tenant)
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.mkdir(exist_ok=True, mode=0o700)
        return path

    @contextlib.contextmanager
    def _locked(self, tenant: str) -> Iterator[Path]:
        path = self._ensure_dir(tenant)
        fd = os.open(path / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            os.close(fd)  # closing releases the lock

    # -- public.json ----------------------------------------------------------------------------

    def _public_mac(self, tenant: str, active: str, keys: dict[str, str]) -> str:
        body = json.dumps({"tenant": tenant, "active": active, "keys": keys}, sort_keys=True, separators=(",", ":"))
        mac = hmac.new(self._public_mac_key(tenant), body.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii")

    def _write_public(self, path: Path, tenant: str, active: str, keys: dict[str, bytes]) -> None:
        encoded = {kid: base64.b64encode(pub).decode("ascii") for kid, pub in keys.items()}
        document = {
            "format": _PUBLIC_FORMAT,
            "tenant": tenant,
            "active": active,
            "keys": encoded,
            "mac": self._public_mac(tenant, active, encoded),
        }
        atomic_write(path / _PUBLIC_FILE, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())

    def _read_public(self, tenant: str) -> tuple[str, dict[str, bytes]] | None:
        """(active key id, {key id: public key}) or None when the tenant has no public.json."""
        path = self._tenant_dir(tenant) / _PUBLIC_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            document = json.loads(raw)
            active = document["active"]
            encoded = document["keys"]
            mac = document["mac"]
            if document.get("format") != _PUBLIC_FORMAT or not isinstance(encoded, dict) or not isinstance(mac, str):
                raise ValueError
            valid = hmac.compare_digest(mac.encode(), self._public_mac(tenant, active, encoded).encode())
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyUnavailable(f"public keys of tenant {tenant} are malformed") from None
        if not valid or document.get("tenant") != tenant:
            raise KeyUnavailable(
                f"public keys of tenant {tenant} fail authentication (another tenant's files, "
                "another master secret, or tampering)"
            )
        try:
            keys = {str(kid): base64.b64decode(pub, validate=True) for kid, pub in encoded.items()}
        except (binascii.Error, ValueError, TypeError):
            raise KeyUnavailable(f"public keys of tenant {tenant} are malformed") from None
        if active not in keys or any(len(pub) != _X25519_BYTES for pub in keys.values()):
            raise KeyUnavailable(f"public keys of tenant {tenant} are malformed")
        return active, keys

    # -- private.enc ----------------------------------------------------------------------------

    def _write_private(self, path: Path, tenant: str, keys: dict[str, bytes]) -> None:
        document = {
            "format": _PRIVATE_FORMAT,
            "tenant": tenant,
            "keys": {kid: base64.b64encode(priv).decode("ascii") for kid, priv in keys.items()},
        }
        nonce = os.urandom(_NONCE_BYTES)
        aad = _PRIVATE_MAGIC + length_prefixed(tenant.encode())
        sealed = AESGCM(self._private_key_for_file(tenant)).encrypt(nonce, json.dumps(document).encode(), aad)
        atomic_write(path / _PRIVATE_FILE, _PRIVATE_MAGIC + nonce + sealed)

    # -- shredded marker ------------------------------------------------------------------------

    def _read_shredded(self, tenant: str) -> dict[str, Any] | None:
        try:
            document = json.loads((self._tenant_dir(tenant) / _SHREDDED_FILE).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            return {"last_version": 0, "key_ids": []}
        return document if isinstance(document, dict) else {"last_version": 0, "key_ids": []}

    # -- key creation ---------------------------------------------------------------------------

    def _create_locked(self, path: Path, tenant: str, *, allow_after_shred: bool) -> str:
        """Create the tenant's first key pair (lock held). Returns the new active key id."""
        if (path / _PRIVATE_FILE).exists():
            # A crash between writing private.enc and public.json: never overwrite private keys.
            return self._complete_locked(path, tenant)
        marker = self._read_shredded(tenant)
        if marker is not None and not allow_after_shred:
            raise KeyUnavailable(
                f"keys of tenant {tenant} were shredded; run `tracevault keys rotate --tenant {tenant}` "
                "to start fresh keys for new data"
            )
        last = int(marker.get("last_version", 0)) if marker else 0
        key_id = _new_key_id(last + 1)
        private = X25519PrivateKey.generate()
        # private.enc first: a public key is never published without its private half on disk.
        self._write_private(path, tenant, {key_id: _raw_private(private)})
        self._write_public(path, tenant, key_id, {key_id: _raw_public(private.public_key())})
        return key_id

    def _active_public(self, tenant: str) -> tuple[str, bytes]:
        state = self._read_public(tenant)
        if state is None:
            with self._locked(tenant) as path:
                state = self._read_public(tenant)  # another process may have won the race
                if state is None:
                    self._create_locked(path, tenant, allow_after_shred=False)
                    state = self._read_public(tenant)
        assert state is not None
        active, keys = state
        return active, keys[active]

    # -- the writer's role -----------------------------------------------------------------------

    def new_data_key(self, tenant: str, env: str) -> DataKey:
        validate_id(tenant, "tenant id")
        validate_id(env, "env id")
        key_id, recipient_raw = self._active_public(tenant)
        recipient = X25519PublicKey.from_public_bytes(recipient_raw)
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = _raw_public(ephemeral.public_key())
        context = _wrap_context(tenant, env, key_id)
        wrapping_key = _hkdf(ephemeral.exchange(recipient), context + ephemeral_raw + recipient_raw)
        data_key = os.urandom(DATA_KEY_BYTES)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(wrapping_key).encrypt(nonce, data_key, context)
        return DataKey(plaintext=data_key, wrapped=ephemeral_raw + nonce + sealed, key_id=key_id)

    def _complete_locked(self, path: Path, tenant: str) -> str:
        """Private keys without public keys: only the full keyring can repair that."""
        raise KeyUnavailable(
            f"keyring of tenant {tenant} is incomplete (private keys without public keys); "
            "run `tracevault keys rotate` with the full keyring"
        )

    def verify_public_keys(self, tenant: str) -> str | None:
        """Authenticate the tenant's public.json under this master secret; its active key id, or
        None when the tenant has no keys yet. Raises `KeyUnavailable` naming the problem."""
        state = self._read_public(tenant)
        return state[0] if state is not None else None


class LocalKeyring(LocalKeyWriter):
    """X25519 sealed-box style keyring in a local directory (the embedded default), every role:
    the writer's, plus `unwrap` (reader) and `rotate` / `shred` (admin)."""

    def _complete_locked(self, path: Path, tenant: str) -> str:
        return self._rotate_locked(path, tenant)

    def _read_private(self, tenant: str) -> dict[str, bytes] | None:
        """{key id: X25519 private key bytes}, or None when the tenant has no private.enc."""
        path = self._tenant_dir(tenant) / _PRIVATE_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        head = len(_PRIVATE_MAGIC)
        if raw[:head] != _PRIVATE_MAGIC or len(raw) < head + _NONCE_BYTES + 16:
            raise KeyUnavailable(f"private keys of tenant {tenant} are malformed")
        try:
            plain = AESGCM(self._private_key_for_file(tenant)).decrypt(
                raw[head : head + _NONCE_BYTES], raw[head + _NONCE_BYTES :], _PRIVATE_MAGIC + length_prefixed(tenant.encode())
            )
        except InvalidTag:
            raise KeyUnavailable(
                f"private keys of tenant {tenant} cannot be opened (another master secret, or "
                "another tenant's files)"
            ) from None
        try:
            document = json.loads(plain)
            if document.get("format") != _PRIVATE_FORMAT or document.get("tenant") != tenant:
                raise ValueError
            keys = {str(kid): base64.b64decode(priv, validate=True) for kid, priv in document["keys"].items()}
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            raise KeyUnavailable(f"private keys of tenant {tenant} are malformed") from None
        if any(len(priv) != _X25519_BYTES for priv in keys.values()):
            raise KeyUnavailable(f"private keys of tenant {tenant} are malformed")
        return keys

    def _rotate_locked(self, path: Path, tenant: str) -> str:
        private_keys = self._read_private(tenant)
        if private_keys is None:
            if self._read_public(tenant) is not None:
                raise KeyUnavailable(f"private keys of tenant {tenant} are missing; cannot rotate")
            return self._create_locked(path, tenant, allow_after_shred=True)
        marker = self._read_shredded(tenant) or {}
        last = max([_key_version(kid) for kid in private_keys] + [int(marker.get("last_version", 0))])
        key_id = _new_key_id(last + 1)
        private = X25519PrivateKey.generate()
        private_keys[key_id] = _raw_private(private)
        self._write_private(path, tenant, private_keys)
        publics = {
            kid: _raw_public(X25519PrivateKey.from_private_bytes(raw).public_key()) for kid, raw in private_keys.items()
        }
        self._write_public(path, tenant, key_id, publics)
        return key_id

    def unwrap(self, tenant: str, env: str, key_id: str, wrapped: bytes) -> bytes:
        validate_id(tenant, "tenant id")
        validate_id(env, "env id")
        if not isinstance(key_id, str) or not isinstance(wrapped, (bytes, bytearray)):
            raise DecryptError("wrapped data key is malformed")
        private_keys = self._read_private(tenant)
        if private_keys is None:
            if self._read_shredded(tenant) is not None:
                raise KeyUnavailable(f"keys of tenant {tenant} were shredded")
            raise KeyUnavailable(f"tenant {tenant} has no keys")
        private_raw = private_keys.get(key_id)
        if private_raw is None:
            raise KeyUnavailable(f"tenant {tenant} has no key with this key id (unknown or shredded)")
        if len(wrapped) != _WRAPPED_BYTES:
            raise DecryptError("wrapped data key is malformed")
        wrapped = bytes(wrapped)
        ephemeral_raw = wrapped[:_X25519_BYTES]
        nonce = wrapped[_X25519_BYTES : _X25519_BYTES + _NONCE_BYTES]
        sealed = wrapped[_X25519_BYTES + _NONCE_BYTES :]
        private = X25519PrivateKey.from_private_bytes(private_raw)
        context = _wrap_context(tenant, env, key_id)
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
            wrapping_key = _hkdf(shared, context + ephemeral_raw + _raw_public(private.public_key()))
            return AESGCM(wrapping_key).decrypt(nonce, sealed, context)
        except (InvalidTag, ValueError):
            raise DecryptError("wrapped data key failed to decrypt") from None

    def rotate(self, tenant: str) -> str:
        """A new active key version; old versions stay for reading. Also the explicit way to start
        fresh keys after `shred` or for a tenant that has none. Needs the full keyring."""
        validate_id(tenant, "tenant id")
        with self._locked(tenant) as path:
            return self._rotate_locked(path, tenant)

    def shred(self, tenant: str) -> None:
        """Delete the tenant's key pairs (private.enc overwritten, then unlinked) and leave a
        ``shredded`` marker. Idempotent. Other tenants are untouched."""
        validate_id(tenant, "tenant id")
        with self._locked(tenant) as path:
            key_ids: list[str] = []
            try:
                document = json.loads((path / _PUBLIC_FILE).read_bytes())
                key_ids = sorted(str(kid) for kid in document.get("keys", {}))
            except (FileNotFoundError, ValueError, AttributeError):
                pass
            previous = self._read_shredded(tenant) or {}
            last = max([_key_version(kid) for kid in key_ids] + [int(previous.get("last_version", 0))])
            marker = {
                "shredded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "key_ids": sorted(set(key_ids) | set(previous.get("key_ids", []))),
                "last_version": last,
            }
            # Marker first: a writer that finds no public.json must see it and refuse.
            atomic_write(path / _SHREDDED_FILE, (json.dumps(marker, indent=2) + "\n").encode())
            with contextlib.suppress(FileNotFoundError):
                (path / _PUBLIC_FILE).unlink()
            _overwrite_and_unlink(path / _PRIVATE_FILE)
            fsync_dir(path)


# --------------------------------------------------------------------------------------------
# AWS KMS keyring
# --------------------------------------------------------------------------------------------

# AWS error codes that mean "this key cannot be used" vs. "this ciphertext is wrong".
_KMS_DECRYPT_CODES = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
_KMS_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
    }
)


class KmsKeyWriter:
    """AWS KMS: one customer managed key per tenant, named by ``config.kms_key_id``
    (default ``alias/tracevault-{tenant}``).

    - `new_data_key`: GenerateDataKey (AES_256) with encryption context
      ``{"tracevault:tenant": T, "tracevault:env": E}``; the key id kept with the data is the
      key ARN KMS returns.
    - `unwrap`: DescribeKey (the key must be Enabled: KMS refuses keys pending deletion itself,
      emulators may not; set ``verify_key_state=False`` to skip) and Decrypt with the same
      encryption context and the recorded key ARN.
    - `rotate`: RotateKeyOnDemand. KMS keeps the old backing key material, so old data stays
      readable; the key ARN (our key id) does not change.
    - `shred`: ScheduleKeyDeletion (7 days, the minimum) and DeleteAlias, so that new writes fail
      at once; `ensure_tenant_key` creates a fresh key and alias afterwards, explicitly.

    `KmsKeyWriter` is the writer's role (GenerateDataKey only; the sidecar's IAM role should
    also lack kms:Decrypt); `KmsKeyring` adds the reader's and the admin's. Errors name the
    operation and the AWS error code only.
    """

    def __init__(self, config: KeyringConfig, client: Any = None) -> None:
        self._config = config
        if client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            client = boto3.client(
                "kms",
                endpoint_url=config.endpoint_url,
                region_name=config.region,
                config=BotoConfig(retries={"mode": "standard", "max_attempts": 5}),
            )
        self._kms = client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kms_key_id={self._config.kms_key_id!r})"

    def key_ref(self, tenant: str) -> str:
        """The configured key id (usually an alias) of a tenant."""
        return self._config.kms_key_id.replace("{tenant}", validate_id(tenant, "tenant id"))

    @staticmethod
    def _context(tenant: str, env: str) -> dict[str, str]:
        return {"tracevault:tenant": tenant, "tracevault:env": env}

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._kms, operation)(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            message = f"KMS {operation} failed: {code}"
            if code in _KMS_DECRYPT_CODES:
                raise DecryptError(message) from None
            error = (KeyServiceUnavailable if code in _KMS_TRANSIENT_CODES else KeyUnavailable)(message)
            error.aws_code = code
            raise error from None
        except BotoCoreError as exc:
            raise KeyServiceUnavailable(f"KMS {operation} failed: {type(exc).__name__}") from None

    def new_data_key(self, tenant: str, env: str) -> DataKey:
        validate_id(env, "env id")
        response = self._call(
            "generate_data_key",
            KeyId=self.key_ref(tenant),
            KeySpec="AES_256",
            EncryptionContext=self._context(tenant, env),
        )
        plaintext = response["Plaintext"]
        if len(plaintext) != DATA_KEY_BYTES:
            raise KeyUnavailable("KMS generate_data_key failed: unexpected key length")
        return DataKey(plaintext=plaintext, wrapped=response["CiphertextBlob"], key_id=response["KeyId"])


class KmsKeyring(KmsKeyWriter):
    """AWS KMS with every role: the writer's, `unwrap` (reader), `rotate` / `shred` (admin)."""

    def __init__(self, config: KeyringConfig, client: Any = None, *, verify_key_state: bool = True) -> None:
        super().__init__(config, client)
        self._verify_key_state = verify_key_state

    def _describe(self, key_id: str) -> dict[str, Any]:
        return self._call("describe_key", KeyId=key_id)["KeyMetadata"]

    def unwrap(self, tenant: str, env: str, key_id: str, wrapped: bytes) -> bytes:
        validate_id(tenant, "tenant id")
        validate_id(env, "env id")
        if not isinstance(key_id, str) or not key_id or not isinstance(wrapped, (bytes, bytearray)) or not wrapped:
            raise DecryptError("wrapped data key is malformed")
        if self._verify_key_state:
            state = self._describe(key_id).get("KeyState")
            if state != "Enabled":
                raise KeyUnavailable(f"KMS describe_key: key state is {state}")
        response = self._call(
            "decrypt", CiphertextBlob=bytes(wrapped), KeyId=key_id, EncryptionContext=self._context(tenant, env)
        )
        plaintext = response["Plaintext"]
        if len(plaintext) != DATA_KEY_BYTES:
            raise DecryptError("KMS decrypt returned a key of unexpected length")
        return plaintext

    def rotate(self, tenant: str) -> str:
        arn = self._describe(self.key_ref(tenant))["Arn"]
        self._call("rotate_key_on_demand", KeyId=arn)
        return arn

    def shred(self, tenant: str) -> None:
        ref = self.key_ref(tenant)
        key_id = self._describe(ref)["KeyId"]  # the bare key id: accepted by KMS and by moto
        self._call("schedule_key_deletion", KeyId=key_id, PendingWindowInDays=7)
        if ref.startswith("alias/"):
            self._call("delete_alias", AliasName=ref)

    def ensure_tenant_key(self, tenant: str) -> str:
        """For tests and operations: make sure the tenant's key exists and is usable; create the
        key (and its alias, when the configured id is an alias) if missing. Returns the key ARN."""
        ref = self.key_ref(tenant)
        try:
            metadata = self._describe(ref)
        except KeyUnavailable as exc:
            if exc.aws_code != "NotFoundException":
                raise
            metadata = None
        if metadata is not None and metadata.get("KeyState") == "Enabled":
            return metadata["Arn"]
        if not ref.startswith("alias/"):
            raise KeyUnavailable("KMS describe_key: configured key is not usable and is not an alias")
        created = self._call(
            "create_key",
            Description=f"tracevault key-encryption key for tenant {tenant}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": "tracevault:tenant", "TagValue": tenant}],
        )["KeyMetadata"]
        if metadata is None:
            self._call("create_alias", AliasName=ref, TargetKeyId=created["KeyId"])
        else:
            self._call("update_alias", AliasName=ref, TargetKeyId=created["KeyId"])
        return created["Arn"]


def build_keyring(config: Config, master_secret: bytes) -> Keyring:
    """The keyring the configuration asks for, with every role (operator CLI, reader side)."""
    if config.keyring.type == "kms":
        return KmsKeyring(config.keyring)
    return LocalKeyring(config.keyring_dir(), master_secret)


def build_key_writer(config: Config, master_secret: bytes) -> DataKeyWriter:
    """The writer's role only, for the sidecar: it can seal new data and nothing else."""
    if config.keyring.type == "kms":
        return KmsKeyWriter(config.keyring)
    return LocalKeyWriter(config.keyring_dir(), master_secret)
