"""The security log: refusals of tokens whose claims could not be verified, kept apart from the
tenants' audit chains and rate-limited.

A token that is not a well-formed grant, whose signature does not verify, or whose key is
unknown or retired (rules ``malformed_token``, ``bad_signature``, ``unknown_key``) proves nothing
about who sent it, so nothing it claims may reach a tenant's audit chain: whoever can reach the
admin listener could otherwise write unlimited records, with a principal and reason of their
choosing, under any tenant. Those refusals are written here instead, as small JSON objects:

    access/security-log/date=<YYYY-MM-DD>/<YYYYMMDDTHHMMSSffffff>-<writer id, 8 hex>-<n, 8 digits>.json

Each holds the time, the action, the rule and what the *request* asked for (tenant, env, trace and
span id, all validated ids), never a claim of the token (no principal, reason, grant id or claimed
tenant) and never the token itself.

Rate limit: a token bucket per process (``burst`` records at once, then ``per_minute``). A refusal
over the limit is not written on its own; it is counted, and the next record that is written
carries ``suppressed``: how many were left out since the previous record, by rule. Every refusal,
written or not, is reported to ``on_refusal(rule, written)`` (the sidecar counts them on
/metrics), so none is dropped silently. The log expires with the S3 lifecycle or by hand (see
docs/operations.md); at the default rate a flood writes at most 8,640 objects a day per process.
The retention sweep deletes its ``date=`` partitions after the default tenant's ``audit_days``
(:func:`day_of` reads a key's day).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from policies.tenants import is_valid_id
from vault.store import ObjectStore

log = logging.getLogger("tracevault.security")

PREFIX = "access/security-log/"
FORMAT = "tracevault.security-log.v1"
DEFAULT_BURST = 20
DEFAULT_PER_MINUTE = 6
_ASKED_IDS = ("tenant", "env")
_ASKED_HEX = {"trace_id": 32, "span_id": 16}


def day_of(key: str) -> date | None:
    """The day of a security-log key (``access/security-log/date=D/...``); None for any other key."""
    if not key.startswith(PREFIX):
        return None
    part = key[len(PREFIX) :].split("/", 1)[0]
    if not part.startswith("date=") or "/" not in key[len(PREFIX) :]:
        return None
    try:
        return date.fromisoformat(part[len("date=") :])
    except ValueError:
        return None


def _asked(asked: Mapping[str, Any]) -> dict[str, str]:
    """Only validated ids and hex ids of the request: nothing free-form survives."""
    out: dict[str, str] = {}
    for name in _ASKED_IDS:
        value = asked.get(name)
        if isinstance(value, str) and is_valid_id(value):
            out[name] = value
    for name, digits in _ASKED_HEX.items():
        value = asked.get(name)
        if isinstance(value, str) and len(value) == digits and all(c in "0123456789abcdef" for c in value):
            out[name] = value
    return out


class SecurityLog:
    """Rate-limited records of unverified refusals in ``access/security-log/``."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        burst: int = DEFAULT_BURST,
        per_minute: float = DEFAULT_PER_MINUTE,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_refusal: Callable[[str, bool], None] | None = None,
    ) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("security log: burst must be at least 1 and per_minute positive")
        self.store = store
        self.burst = burst
        self.per_second = per_minute / 60.0
        self.on_refusal = on_refusal
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = monotonic()
        self._suppressed: dict[str, int] = {}
        self._writer = secrets.token_hex(4)  # keys of two processes never collide
        self._written = 0

    def _take(self, rule: str) -> tuple[int, dict[str, int]] | None:
        """A token: this writer's record number and the suppressed counts to report with it; None
        when over the limit."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.per_second)
            self._last = now
            if self._tokens < 1.0:
                self._suppressed[rule] = self._suppressed.get(rule, 0) + 1
                return None
            self._tokens -= 1.0
            self._written += 1
            suppressed, self._suppressed = self._suppressed, {}
            return self._written, suppressed

    def refused(self, *, action: str, rule: str, asked: Mapping[str, Any]) -> str | None:
        """Record one refusal of an unverified token; returns the key written, or None when the
        rate limit held it back (it is then counted in the next record)."""
        taken = self._take(rule)
        if self.on_refusal is not None:
            self.on_refusal(rule, taken is not None)
        if taken is None:
            return None
        number, suppressed = taken
        moment = self._clock().astimezone(UTC)
        record: dict[str, Any] = {
            "format": FORMAT,
            "time": moment.isoformat().replace("+00:00", "Z"),
            "action": action[:64],
            "rule": rule[:64],
            "asked": _asked(asked),
            "claims_verified": False,
        }
        if suppressed:
            record["suppressed"] = {"count": sum(suppressed.values()), "rules": dict(sorted(suppressed.items()))}
        key = f"{PREFIX}date={moment.date().isoformat()}/{moment.strftime('%Y%m%dT%H%M%S%f')}-{self._writer}-{number:08d}.json"
        self.store.put(key, (json.dumps(record, sort_keys=True) + "\n").encode())
        log.warning(
            "%s refused (%s): unverified token, recorded in the security log%s",
            action, rule, f" ({record['suppressed']['count']} more were rate-limited)" if suppressed else "",
        )
        return key

    def show(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Records (from ``since`` on), oldest first. Objects that are not records are skipped."""
        out = []
        for info in self.store.list(PREFIX):
            try:
                record = json.loads(self.store.get(info.key))
            except (KeyError, ValueError):
                continue
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                continue
            if since is not None and _time_of(record) < since:
                continue
            out.append(record)
        return sorted(out, key=_time_of)  # stable: one writer's records at one time stay in key order


def _time_of(record: Mapping[str, Any]) -> datetime:
    try:
        when = datetime.fromisoformat(str(record.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)
