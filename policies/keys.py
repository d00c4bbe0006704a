"""The master secret from which per-tenant pseudonym keys are derived.

Embedded default: a random 32-byte secret in a file created with mode 0600. Production: an env
var (base64), typically from a Kubernetes Secret. The secret itself never appears in a message.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

MIN_SECRET_BYTES = 32


class MasterKeyError(Exception):
    """The master secret is missing, malformed or too exposed. Never contains key material."""


def load_master_secret(env_var: str, path: Path, create: bool = True) -> bytes:
    """Return the master secret: the env var wins; else the file, created 0600 when missing."""
    encoded = os.environ.get(env_var)
    if encoded:
        return _decode(encoded, f"env var {env_var}")
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise MasterKeyError(
                f"master key file {path} has mode {mode:o}; it must not be readable by group or "
                f"others (chmod 600 {path})"
            )
        return _decode(path.read_text(encoding="ascii").strip(), f"master key file {path}")
    if not create:
        raise MasterKeyError(f"no master secret: set {env_var} or create {path}")
    return _create(path)


def _create(path: Path) -> bytes:
    secret = secrets.token_bytes(MIN_SECRET_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two processes starting at once must not overwrite each other's fresh key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_master_secret("", path, create=False)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(secret).decode("ascii") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return secret


def _decode(encoded: str, source: str) -> bytes:
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"{source} is not valid base64") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise MasterKeyError(f"{source} holds {len(secret)} bytes; at least {MIN_SECRET_BYTES} needed")
    return secret
