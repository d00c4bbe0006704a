"""Grant revocations, kept in the object store so that every instance honours them.

One small object per revoked grant: ``access/revocations/<jti>.json`` holding ``{"jti",
"revoked_at", "revoked_by", "reason"}`` (no token). A revocation is permanent; there is no
"un-revoke". Readers ask the store (one HEAD) and cache the answer: a grant seen revoked stays
revoked, and a grant seen *not* revoked is re-checked after ``ttl_seconds`` (default 5 s), which
bounds how long another instance may keep honouring a token after `grant revoke`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from vault.store import ObjectStore

PREFIX = "access/revocations/"
DEFAULT_TTL_SECONDS = 5.0
_JTI = re.compile(r"[0-9a-f]{32}")


def revocation_key(jti: str) -> str:
    if not isinstance(jti, str) or not _JTI.fullmatch(jti):
        raise ValueError("grant id: must be 32 hex digits")
    return f"{PREFIX}{jti}.json"


class Revocations:
    def __init__(
        self,
        store: ObjectStore,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._monotonic = monotonic
        self._revoked: set[str] = set()
        self._not_revoked: dict[str, float] = {}  # jti -> when it was last seen not revoked
        self._lock = threading.Lock()

    def revoke(self, jti: str, *, by: str = "", reason: str = "", now: datetime | None = None) -> dict[str, Any]:
        """Record the revocation (idempotent: a second call keeps the first record)."""
        key = revocation_key(jti)
        existing = self.store.head(key)
        if existing is not None:
            try:
                document = json.loads(self.store.get(key))
                if isinstance(document, dict):
                    return document
            except (KeyError, ValueError):
                pass
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        document = {
            "format": "tracevault.revocation.v1",
            "jti": jti,
            "revoked_at": moment.isoformat().replace("+00:00", "Z"),
            "revoked_by": by[:256],
            "reason": reason[:512],
        }
        self.store.put(key, (json.dumps(document, sort_keys=True) + "\n").encode())
        with self._lock:
            self._revoked.add(jti)
            self._not_revoked.pop(jti, None)
        return document

    def is_revoked(self, jti: str) -> bool:
        """Ask the store (through the cache). A store failure propagates: the caller denies."""
        key = revocation_key(jti)
        with self._lock:
            if jti in self._revoked:
                return True
            seen = self._not_revoked.get(jti)
            if seen is not None and self._monotonic() - seen < self.ttl_seconds:
                return False
        revoked = self.store.head(key) is not None
        with self._lock:
            if revoked:
                self._revoked.add(jti)
                self._not_revoked.pop(jti, None)
            else:
                if len(self._not_revoked) > 10_000:
                    self._not_revoked.clear()
                self._not_revoked[jti] = self._monotonic()
        return revoked

    def all(self) -> set[str]:
        """Every revoked grant id in the store."""
        out = set()
        for info in self.store.list(PREFIX):
            name = info.key[len(PREFIX) :]
            if name.endswith(".json") and _JTI.fullmatch(name[:-5]):
                out.add(name[:-5])
        return out
