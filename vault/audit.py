"""The access audit log: append-only, one object per record, chained by hash and signed, per tenant.

Records live under ``audit/tenant=<t>/date=<YYYY-MM-DD>/<seq:012d>-<hash16>.jsonl`` (see
:func:`vault.layout.audit_key`): one JSON line per object, because objects are immutable. Each
record holds:

- ``seq`` (1, 2, 3, ... per tenant) and ``prev_hash``, the SHA-256 of the previous record's
  canonical JSON (sorted keys, no spaces, UTF-8); the first record's is 64 zeros. The object name
  repeats the record's own seq and the first 16 hex digits of its hash.
- ``time`` (UTC, ISO 8601; never earlier than the previous record's) and ``prev_time`` (the
  previous record's time, null for seq 1), so that `verify` can tell records that retention
  expired from records that were deleted.
- ``tenant``, ``action`` (``payload.get``, ``payload.list``, ``grant.issue``, ``grant.revoke``,
  ...), ``principal``, ``grant_id``, ``reason``, ``asked`` (tenant, env, trace id, span id; for
  ``payload.ref``, the attribute the reference names),
  ``outcome`` (``allowed``, ``denied``, ``not_found``, ``tampered``), ``rule`` (the refusal rule,
  or null), ``spans`` (counts), ``claims_verified`` and ``details``.
- ``mac``: HMAC-SHA256 of the rest of the record under the audit key (HKDF of the master secret,
  :func:`audit_key`), when the appender holds it. Someone who can write the bucket but does not
  hold the master secret cannot forge, edit or re-chain a record without `verify` noticing.

Only these fields are accepted (:data:`RECORD_FIELDS`, :data:`ASKED_FIELDS`); everything is short
text or a count. Payload content can never be written here.

Appending, and why two appenders cannot fork the chain:

1. Find the tip: the head object ``access/audit-head/<tenant>.json`` names the last record it
   knows of; the *claim* of the next seq is then looked for, and followed while it exists.
2. Build the record for tip + 1 and create its claim with a create-if-absent write
   (``ObjectStore.put_if_absent``: ``If-None-Match: *`` on S3, ``link(2)`` locally). The claim of
   seq N is ``<N:012d>-claim.jsonl`` in the date partition of record N-1 (seq 1: the
   ``1970-01-01`` partition), so every appender that read the same tip names the same claim, and
   claims expire with the records. Of two appenders racing for one seq exactly one creates it;
   the other finds the new tip and tries the next seq.
3. Write the record (the claim holds the same bytes: if the appender dies here, the next one
   writes the record from the claim), then the head, signed with the audit key.

The head's ``mac`` anchors the end of the chain: deleting the last records and the head, or
putting back a head without a valid signature, is reported by `verify` (:mod:`vault.auditcheck`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from policies.tenants import validate_id
from vault import layout
from vault.store import ObjectNotFound, ObjectStore, StoreError

GENESIS_HASH = "0" * 64
HEAD_PREFIX = "access/audit-head/"
HEAD_FORMAT = "tracevault.audit-head.v2"
RECORD_FIELDS = frozenset(
    {"action", "principal", "grant_id", "reason", "asked", "outcome", "rule", "spans", "claims_verified", "details"}
)
ASKED_FIELDS = frozenset({"tenant", "env", "trace_id", "span_id", "envs", "window", "attribute"})
OUTCOMES = frozenset({"allowed", "denied", "not_found", "tampered"})
MAX_TEXT = 512
#: The date partition of seq 1's claim (there is no previous record to take it from).
FIRST_CLAIM_DAY = date(1970, 1, 1)
#: How often an append tries the next seq after losing a race for one.
MAX_APPEND_ATTEMPTS = 64
RECORD_NAME = re.compile(r"([0-9]{12})-([0-9a-f]{16})")
CLAIM_NAME = re.compile(r"([0-9]{12})-claim")
_AUDIT_KEY_INFO = b"tracevault/audit-anchor/v1"


class AuditError(StoreError):
    """The chain cannot be extended (a damaged claim, or too many concurrent appenders): a store
    failure to callers, so a read that cannot be audited answers 503 and returns nothing."""


def audit_key(master_secret: bytes) -> bytes:
    """The key that signs records and heads: HKDF-SHA256 of the master secret, its own label."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_AUDIT_KEY_INFO).derive(bytes(master_secret))


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    """The chain link (``prev_hash``, and the record's name). Unkeyed on purpose: it digests an
    audit record (metadata only, never span content or a raw id) that is stored in clear beside
    it, so it hides nothing and reveals nothing; anyone can check the links without the key.
    Authenticity is the keyed ``mac`` on every record and head (:func:`sign`)."""
    return hashlib.sha256(canonical(record)).hexdigest()


def sign(key: bytes, document: dict[str, Any]) -> str:
    """HMAC-SHA256 (hex) of ``document`` without its ``mac`` field."""
    body = {name: value for name, value in document.items() if name != "mac"}
    return hmac.new(key, canonical(body), hashlib.sha256).hexdigest()


def signed_by(key: bytes, document: dict[str, Any]) -> bool:
    mac = document.get("mac")
    return isinstance(mac, str) and hmac.compare_digest(mac, sign(key, document))


def parse_time(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _time_of(record: dict[str, Any]) -> datetime:
    return parse_time(record.get("time")) or datetime.min.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _clean(value: Any, depth: int = 0) -> Any:
    """Short text, numbers, booleans, None, and small lists/dicts of those."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if depth < 2 and isinstance(value, (list, tuple)):
        return [_clean(v, depth + 1) for v in list(value)[:64]]
    if depth < 2 and isinstance(value, dict):
        return {str(k)[:64]: _clean(v, depth + 1) for k, v in list(value.items())[:32]}
    raise ValueError("audit record values must be text, numbers, booleans or small lists and maps")


def claim_key(tenant: str, seq: int, previous_key: str | None) -> str:
    """Where the claim of ``seq`` lives: the partition of the previous record (seq 1: 1970-01-01)."""
    parsed = layout.parse_key(previous_key) if previous_key else None
    day = parsed[0].day if parsed else FIRST_CLAIM_DAY
    return layout.audit_key(tenant, day, f"{seq:012d}-claim")


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    problem: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.problem}" if self.seq is not None else self.problem


@dataclass
class AuditReport:
    tenant: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problems: list[AuditProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, seq: int | None, text: str) -> None:
        self.problems.append(AuditProblem(seq, text))


@dataclass
class AuditListing:
    """What `show` found: the genuine records, and how many objects it left out as not genuine."""

    records: list[dict[str, Any]]
    skipped: int = 0


class AuditLog:
    def __init__(self, store: ObjectStore, *, clock: Callable[[], datetime] | None = None, key: bytes | None = None) -> None:
        self.store = store
        self.key = key
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        #: Appends that lost the race for a seq to another appender and tried the next one.
        self.races_lost = 0

    # -- head ---------------------------------------------------------------------------------

    @staticmethod
    def head_key(tenant: str) -> str:
        return f"{HEAD_PREFIX}{validate_id(tenant, 'tenant id')}.json"

    def read_head(self, tenant: str) -> dict[str, Any] | None:
        try:
            document = json.loads(self.store.get(self.head_key(tenant)))
        except (ObjectNotFound, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def _write_head(self, tenant: str, last: dict[str, Any]) -> None:
        current = self.read_head(tenant)
        known = current.get("last") if current else None
        if isinstance(known, dict) and isinstance(known.get("seq"), int) and known["seq"] >= last["seq"]:
            return  # a concurrent appender got further: never move the head back
        document: dict[str, Any] = {"format": HEAD_FORMAT, "tenant": tenant, "last": last}
        if self.key is not None:
            document["mac"] = sign(self.key, document)
        self.store.put(self.head_key(tenant), (json.dumps(document, sort_keys=True) + "\n").encode())

    # -- the tip ------------------------------------------------------------------------------

    def _tip(self, tenant: str) -> dict[str, Any] | None:
        """The last record of the chain as ``{"seq", "hash", "key", "time"}`` (None: empty)."""
        tip = self._head_tip(tenant)
        if tip is None:
            tip = self._scan_tip(tenant)
        while True:
            following = self._claimed_after(tenant, tip)
            if following is None:
                return tip
            tip = following

    def _head_tip(self, tenant: str) -> dict[str, Any] | None:
        head = self.read_head(tenant)
        if head is None:
            return None
        pending = head.get("pending")  # heads written before claims existed
        if isinstance(pending, dict) and isinstance(pending.get("key"), str) and self.store.head(pending["key"]) is not None:
            return self._with_time(pending)
        last = head.get("last")
        return self._with_time(last) if isinstance(last, dict) and isinstance(last.get("seq"), int) else None

    def _with_time(self, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("time") or not isinstance(entry.get("key"), str):
            return entry
        try:  # an older head has no time: take it from the record
            record = json.loads(self.store.get(entry["key"]))
        except (ObjectNotFound, ValueError):
            return entry
        return {**entry, "time": record.get("time") if isinstance(record, dict) else None}

    def _scan_tip(self, tenant: str) -> dict[str, Any] | None:
        """No head object (first append, or it was lost): find the highest seq by listing."""
        best: tuple[int, str] | None = None
        for info in self.store.list(layout.partition_prefix("audit", tenant)):
            parsed = layout.parse_key(info.key)
            match = RECORD_NAME.fullmatch(parsed[1]) if parsed else None
            if match and (best is None or int(match.group(1)) > best[0]):
                best = (int(match.group(1)), info.key)
        if best is None:
            return None
        try:
            record = json.loads(self.store.get(best[1]))
        except (ObjectNotFound, ValueError):
            return None
        return {"seq": best[0], "hash": record_hash(record), "key": best[1], "time": record.get("time")}

    def _claimed_after(self, tenant: str, tip: dict[str, Any] | None) -> dict[str, Any] | None:
        """The record claimed after ``tip``, written out if its appender died before writing it."""
        seq = int(tip["seq"]) + 1 if tip else 1
        try:
            data = self.store.get(claim_key(tenant, seq, tip["key"] if tip else None))
        except ObjectNotFound:
            return None
        try:
            record = json.loads(data)
            when = parse_time(record["time"])
            if record["seq"] != seq or when is None:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"the claim of audit seq {seq} of tenant {tenant} is damaged; run `tracevault audit verify`") from None
        digest = record_hash(record)
        key = layout.audit_key(tenant, when.date(), f"{seq:012d}-{digest[:16]}")
        if self.store.head(key) is None:
            self.store.put(key, data)
        return {"seq": seq, "hash": digest, "key": key, "time": record["time"]}

    # -- append -------------------------------------------------------------------------------

    @staticmethod
    def _body(tenant: str, fields: dict[str, Any]) -> dict[str, Any]:
        validate_id(tenant, "tenant id")
        unknown = set(fields) - RECORD_FIELDS
        if unknown:
            raise ValueError(f"audit records do not take the field(s): {', '.join(sorted(unknown))}")
        asked = fields.get("asked") or {}
        if not isinstance(asked, dict) or set(asked) - ASKED_FIELDS:
            raise ValueError("audit record 'asked' holds only tenant, env, trace_id, span_id, envs, window and attribute")
        if fields.get("outcome") not in OUTCOMES:
            raise ValueError("audit record outcome must be allowed, denied, not_found or tampered")
        return {name: _clean(fields.get(name)) for name in sorted(RECORD_FIELDS)}

    def _build(self, tenant: str, tip: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        now = self._clock().astimezone(UTC)
        previous = parse_time(tip.get("time")) if tip else None
        if previous is not None and previous > now:
            now = previous  # times never go back along the chain (a slower clock elsewhere)
        record = {
            "seq": int(tip["seq"]) + 1 if tip else 1,
            "prev_hash": str(tip["hash"]) if tip else GENESIS_HASH,
            "prev_time": _iso(previous) if previous else None,
            "time": _iso(now),
            "tenant": tenant,
            **body,
        }
        if self.key is not None:
            record["mac"] = sign(self.key, record)
        return record

    def append(self, tenant: str, **fields: Any) -> dict[str, Any]:
        """Append one record; returns it (with seq, prev_hash, time and mac)."""
        body = self._body(tenant, fields)
        with self._lock:
            for attempt in range(MAX_APPEND_ATTEMPTS):
                tip = self._tip(tenant)
                record = self._build(tenant, tip, body)
                data = canonical(record) + b"\n"
                if self.store.put_if_absent(claim_key(tenant, record["seq"], tip["key"] if tip else None), data):
                    break
                self.races_lost += 1
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # another appender took this seq
            else:
                raise AuditError(f"audit chain of tenant {tenant}: {MAX_APPEND_ATTEMPTS} concurrent appends won every race")
            digest = record_hash(record)
            key = layout.audit_key(tenant, _time_of(record).date(), f"{record['seq']:012d}-{digest[:16]}")
            self.store.put(key, data)
            self._write_head(tenant, {"seq": record["seq"], "hash": digest, "key": key, "time": record["time"]})
        return record

    # -- read ---------------------------------------------------------------------------------

    def objects(self, tenant: str, since_day: date | None = None) -> list[tuple[str, bytes]]:
        """(key, bytes) of every object under the tenant's audit prefix (optionally from a day on)."""
        out = []
        for info in self.store.list(layout.partition_prefix("audit", tenant)):
            parsed = layout.parse_key(info.key)
            if since_day is not None and parsed is not None and parsed[0].day < since_day:
                continue
            try:
                out.append((info.key, self.store.get(info.key)))
            except ObjectNotFound:
                continue
        return out

    def genuine(self, key: str, data: bytes) -> dict[str, Any] | None:
        """The record in ``data`` if it is a chain record named as its content says (and, with a
        key, signed by it); None for anything else (claims included)."""
        parsed = layout.parse_key(key)
        match = RECORD_NAME.fullmatch(parsed[1]) if parsed else None
        try:
            record = json.loads(data) if match else None
        except ValueError:
            return None
        if not isinstance(record, dict) or match is None:
            return None
        if record.get("seq") != int(match.group(1)) or record_hash(record)[:16] != match.group(2):
            return None
        if self.key is not None and not signed_by(self.key, record):
            return None
        return record

    def read(self, tenant: str, since: datetime | None = None) -> AuditListing:
        """Genuine records (from ``since`` on), ordered by seq; the rest is counted as skipped."""
        validate_id(tenant, "tenant id")
        since_day = since.astimezone(UTC).date() if since else None
        listing = AuditListing([])
        for key, data in self.objects(tenant, since_day):
            parsed = layout.parse_key(key)
            if parsed is not None and CLAIM_NAME.fullmatch(parsed[1]):
                continue  # a claim repeats its record
            record = self.genuine(key, data)
            if record is None:
                listing.skipped += 1
            elif since is None or _time_of(record) >= since:
                listing.records.append(record)
        listing.records.sort(key=lambda r: r["seq"])
        return listing

    def show(self, tenant: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """Genuine records (from ``since`` on), ordered by seq (see :meth:`read`)."""
        return self.read(tenant, since).records

    def verify(self, tenant: str, *, audit_days: int | None = None, now: datetime | None = None) -> AuditReport:
        """Check the chain; ``audit_days`` (the tenant's retention) tells which missing records
        retention may have expired: without it, every missing record is a problem."""
        from vault.auditcheck import check_chain

        validate_id(tenant, "tenant id")
        return check_chain(self, tenant, audit_days=audit_days, now=(now or self._clock()).astimezone(UTC))
