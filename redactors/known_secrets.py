"""Known secrets: a tenant's own credentials, recognised by keyed digest whatever their shape.

A tenant may register its real credentials (a database password, an internal token) so that
they are masked as ``<SECRET:known>`` wherever they turn up, even when no rule could tell them
from ordinary text. The secret itself is never stored: only ``HMAC-SHA256(K_t, secret)``, where
``K_t`` is derived with HKDF from the sidecar's master secret and the tenant id. Without the
master secret a digest cannot be checked against a guess, and a digest of one tenant says
nothing about another.

The digests file (one per tenant, named by the policy field ``known_secrets_file``) is text:

    # comment lines and blank lines are ignored
    ks1 <64 lower-case hex digits> [label]

``label`` is an optional note (letters, digits, ``_ . : / -``, at most 64 characters) such as
``stripe-prod`` -- never the secret. ``tracevault secrets add-known`` appends an entry, reading
the secret from standard input so that it never lands in a shell history or a process list.

Matching: every run of text between whitespace, quotes and brackets, and the parts of such a
run from its start or one of ``= : @ / & ? , ;`` to the next of them or the run's end
(``password=...``, ``user:pass@host``, ``?token=...&``), of 8 to 512 characters, is digested and
looked up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "ks1"
MIN_SECRET_LEN = 8
MAX_SECRET_LEN = 512
_HKDF_SALT = b"tracevault/known-secrets/v1"
_LINE = re.compile(r"ks1[ \t]+(?P<digest>[0-9a-f]{64})(?:[ \t]+(?P<label>[A-Za-z0-9_.:/\-]{1,64}))?[ \t]*")
_LABEL = re.compile(r"[A-Za-z0-9_.:/\-]{1,64}")
_RUN = re.compile(rf"[^\s\"'`<>()\[\]{{}}]{{{MIN_SECRET_LEN},}}")
_PART_SEPARATORS = re.compile(r"[=:@/&?,;]")


class KnownSecretsError(ValueError):
    """A bad digests file or entry. Never contains a secret or a digest."""


def tenant_key(master_secret: bytes, tenant: str) -> bytes:
    """The tenant's known-secrets key: HKDF-SHA256 of the master secret, the tenant in the info."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=f"known-secrets:{tenant}".encode()).derive(
        master_secret
    )


def digest(key: bytes, secret: str) -> str:
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class KnownSecrets:
    """The digests of one tenant's registered secrets and the key they are made with."""

    key: bytes
    digests: frozenset[str]

    @classmethod
    def load(cls, path: Path, master_secret: bytes, tenant: str) -> KnownSecrets:
        """Read a digests file; raises :class:`KnownSecretsError` naming the line of a bad entry."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KnownSecretsError(f"known-secrets file {path}: cannot be read ({exc.strerror})") from None
        digests: set[str] = set()
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            m = _LINE.fullmatch(stripped)
            if m is None:
                raise KnownSecretsError(f"known-secrets file {path}, line {number}: expected 'ks1 <64 hex digits> [label]'")
            digests.add(m.group("digest"))
        return cls(tenant_key(master_secret, tenant), frozenset(digests))

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` whose digest is registered."""
        if not self.digests or len(text) < MIN_SECRET_LEN:
            return []
        out: list[tuple[int, int]] = []
        for run in _RUN.finditer(text):
            start, end = run.span()
            if end - start <= MAX_SECRET_LEN and digest(self.key, run.group()) in self.digests:
                out.append((start, end))
                continue
            out.extend(self._parts(text, start, end))
        return out

    def _parts(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Parts from the start or a separator to the next separator or the end of the run."""
        seps = list(_PART_SEPARATORS.finditer(text, start, end))
        cuts = [start] + [m.end() for m in seps]
        nexts = [m.start() for m in seps] + [end]
        out = []
        for i, a in enumerate(cuts):
            for b in sorted({nexts[i], end}):
                if (
                    MIN_SECRET_LEN <= b - a <= MAX_SECRET_LEN and (a, b) != (start, end)
                    and digest(self.key, text[a:b]) in self.digests
                ):
                    out.append((a, b))
                    break
        return out


def add_entry(path: Path, master_secret: bytes, tenant: str, secret: str, label: str | None = None) -> None:
    """Append the digest of ``secret`` to ``path`` (created 0600). Raises :class:`KnownSecretsError`."""
    if not MIN_SECRET_LEN <= len(secret) <= MAX_SECRET_LEN:
        raise KnownSecretsError(f"a known secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters long")
    if any(c.isspace() for c in secret):
        raise KnownSecretsError("a known secret must not contain whitespace (it is matched as one token)")
    if label is not None and _LABEL.fullmatch(label) is None:
        raise KnownSecretsError("the label may only hold letters, digits and _ . : / - (at most 64)")
    line = f"{VERSION} {digest(tenant_key(master_secret, tenant), secret)}" + (f" {label}" if label else "") + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line)
