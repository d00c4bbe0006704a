"""The access audit log: append-only, one object per record, chained by hash per tenant.

Records live under ``audit/tenant=<t>/date=<YYYY-MM-DD>/<seq:012d>-<hash16>.jsonl`` (see
:func:`vault.layout.audit_key`): one JSON line per object, because objects are immutable. Each
record holds:

- ``seq`` (1, 2, 3, ... per tenant) and ``prev_hash``, the SHA-256 of the previous record's
  canonical JSON (sorted keys, no spaces, UTF-8); the first record's is 64 zeros. The object name
  repeats the record's own seq and the first 16 hex digits of its hash.
- ``time`` (UTC, ISO 8601), ``tenant``, ``action`` (``payload.get``, ``payload.list``,
  ``grant.issue``, ``grant.revoke``), ``principal``, ``grant_id``, ``reason``, ``asked`` (tenant,
  env, trace id, span id), ``outcome`` (``allowed``, ``denied``, ``not_found``), ``rule`` (the
  refusal rule, or null), ``spans`` (counts), ``claims_verified`` and ``details`` (a small map
  of counts or ids, for other actions such as retention's).

Only these fields are accepted (:data:`RECORD_FIELDS`, :data:`ASKED_FIELDS`); everything is
short text or a count. Payload content can never be written here.

The head of each tenant's chain is a small mutable object, ``access/audit-head/<tenant>.json``:
the last committed record and, while an append is in progress, the pending one. An append reads
the head, writes it with the pending record, writes the record, and commits the head. A crash in
between is resolved by the next append (the pending record either landed or it did not); a
record deleted *after* it was committed leaves a gap that `verify` reports. Appends within one
process are serialised; two processes appending to the same tenant at the same instant can fork
the chain (two records with one seq): `verify` reports that too, rather than losing a record.

`verify` detects an edited record (its content no longer matches the hash in its name, or the
next record's ``prev_hash``), a deleted one (a gap in seq, or a tail shorter than the head
says), a reordered or moved one (the seq or tenant in the record differs from its key) and a
fork, and says which seq. Records before the first one present are reported as a note, not a
failure: retention expires old audit records (``audit_days``) from the start of the chain.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from policies.tenants import validate_id
from vault import layout
from vault.store import ObjectNotFound, ObjectStore

GENESIS_HASH = "0" * 64
HEAD_PREFIX = "access/audit-head/"
RECORD_FIELDS = frozenset(
    {"action", "principal", "grant_id", "reason", "asked", "outcome", "rule", "spans", "claims_verified", "details"}
)
ASKED_FIELDS = frozenset({"tenant", "env", "trace_id", "span_id", "envs", "window"})
OUTCOMES = frozenset({"allowed", "denied", "not_found"})
MAX_TEXT = 512
_SEGMENT = re.compile(r"([0-9]{12})-([0-9a-f]{16})")


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


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


def _time_of(record: dict[str, Any]) -> datetime:
    try:
        when = datetime.fromisoformat(str(record.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


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


class AuditLog:
    def __init__(self, store: ObjectStore, *, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()

    # -- head ---------------------------------------------------------------------------------

    @staticmethod
    def _head_key(tenant: str) -> str:
        return f"{HEAD_PREFIX}{validate_id(tenant, 'tenant id')}.json"

    def _read_head(self, tenant: str) -> dict[str, Any] | None:
        try:
            document = json.loads(self.store.get(self._head_key(tenant)))
        except ObjectNotFound:
            return None
        except ValueError:
            return None
        return document if isinstance(document, dict) else None

    def _write_head(self, tenant: str, last: dict[str, Any] | None, pending: dict[str, Any] | None) -> None:
        document = {"format": "tracevault.audit-head.v1", "tenant": tenant, "last": last, "pending": pending}
        self.store.put(self._head_key(tenant), (json.dumps(document, sort_keys=True) + "\n").encode())

    def _tip(self, tenant: str) -> dict[str, Any] | None:
        """The last record of the chain as ``{"seq", "hash", "key"}`` (None: the chain is empty)."""
        head = self._read_head(tenant)
        if head is None:
            return self._scan_tip(tenant)
        pending = head.get("pending")
        if isinstance(pending, dict) and isinstance(pending.get("key"), str):
            if self.store.head(pending["key"]) is not None:
                return pending  # the record landed; the head was not committed
        last = head.get("last")
        return last if isinstance(last, dict) else None

    def _scan_tip(self, tenant: str) -> dict[str, Any] | None:
        """No head object (first append, or it was lost): find the highest seq by listing."""
        best: tuple[int, str] | None = None
        for info in self.store.list(layout.partition_prefix("audit", tenant)):
            parsed = layout.parse_key(info.key)
            match = _SEGMENT.fullmatch(parsed[1]) if parsed else None
            if match and (best is None or int(match.group(1)) > best[0]):
                best = (int(match.group(1)), info.key)
        if best is None:
            return None
        try:
            record = json.loads(self.store.get(best[1]))
        except (ObjectNotFound, ValueError):
            return None
        return {"seq": best[0], "hash": record_hash(record), "key": best[1]}

    # -- append -------------------------------------------------------------------------------

    def append(self, tenant: str, **fields: Any) -> dict[str, Any]:
        """Append one record; returns it (with seq, prev_hash and time)."""
        validate_id(tenant, "tenant id")
        unknown = set(fields) - RECORD_FIELDS
        if unknown:
            raise ValueError(f"audit records do not take the field(s): {', '.join(sorted(unknown))}")
        asked = fields.get("asked") or {}
        if not isinstance(asked, dict) or set(asked) - ASKED_FIELDS:
            raise ValueError("audit record 'asked' holds only tenant, env, trace_id, span_id, envs and window")
        if fields.get("outcome") not in OUTCOMES:
            raise ValueError("audit record outcome must be allowed, denied or not_found")
        body = {name: _clean(value) for name, value in fields.items()}
        with self._lock:
            now = self._clock().astimezone(UTC)
            tip = self._tip(tenant)
            seq = int(tip["seq"]) + 1 if tip else 1
            record = {
                "seq": seq,
                "prev_hash": str(tip["hash"]) if tip else GENESIS_HASH,
                "time": now.isoformat().replace("+00:00", "Z"),
                "tenant": tenant,
                **{name: body.get(name) for name in sorted(RECORD_FIELDS)},
            }
            digest = record_hash(record)
            key = layout.audit_key(tenant, now.date(), f"{seq:012d}-{digest[:16]}")
            entry = {"seq": seq, "hash": digest, "key": key}
            last = {"seq": tip["seq"], "hash": tip["hash"], "key": tip["key"]} if tip else None
            self._write_head(tenant, last, entry)
            self.store.put(key, canonical(record) + b"\n")
            self._write_head(tenant, entry, None)
        return record

    # -- read ---------------------------------------------------------------------------------

    def _load(self, tenant: str, since_day: date | None = None) -> list[tuple[str, int | None, str | None, bytes | None]]:
        """(key, seq in the name, hash16 in the name, bytes) of every object in the tenant's audit."""
        out = []
        for info in self.store.list(layout.partition_prefix("audit", tenant)):
            parsed = layout.parse_key(info.key)
            if since_day is not None and parsed is not None and parsed[0].day < since_day:
                continue
            match = _SEGMENT.fullmatch(parsed[1]) if parsed else None
            try:
                data = self.store.get(info.key)
            except ObjectNotFound:
                continue
            if match is None:
                out.append((info.key, None, None, data))
            else:
                out.append((info.key, int(match.group(1)), match.group(2), data))
        return out

    def show(self, tenant: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """Records (from ``since`` on), ordered by seq. Unreadable objects are skipped."""
        validate_id(tenant, "tenant id")
        since_day = since.astimezone(UTC).date() if since else None
        records = []
        for _key, _seq, _digest, data in self._load(tenant, since_day):
            try:
                record = json.loads(data or b"")
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if since is not None and _time_of(record) < since:
                continue
            records.append(record)
        # Chain records in seq order; records outside the chain (retention events) by time.
        return sorted(records, key=lambda r: (_time_of(r), r.get("seq") if isinstance(r.get("seq"), int) else 0))

    def verify(self, tenant: str) -> AuditReport:
        validate_id(tenant, "tenant id")
        report = AuditReport(tenant)
        by_seq: dict[int, list[tuple[str, dict[str, Any] | None, str | None]]] = {}
        outside = 0
        for key, seq, digest16, data in self._load(tenant):
            if seq is None:
                outside += 1  # e.g. retention's event records: audit records, but not in this chain
                continue
            try:
                record = json.loads(data or b"")
                if not isinstance(record, dict):
                    raise ValueError
            except ValueError:
                by_seq.setdefault(seq, []).append((key, None, None))
                continue
            full = record_hash(record)
            by_seq.setdefault(seq, []).append((key, record, full))
            if full[:16] != digest16:
                report.problems.append(AuditProblem(seq, "edited: its content does not match the hash in its name"))
            if record.get("seq") != seq:
                report.problems.append(
                    AuditProblem(seq, f"out of order: the record under this seq says seq {record.get('seq')!r} (reordered or moved)")
                )
            if record.get("tenant") != tenant:
                report.problems.append(AuditProblem(seq, "moved: the record belongs to another tenant"))
            parsed = layout.parse_key(key)
            if parsed and str(record.get("time", ""))[:10] != parsed[0].day.isoformat():
                report.problems.append(AuditProblem(seq, "moved: its date partition does not match its time"))

        if outside:
            report.notes.append(f"{outside} audit object(s) outside the hash chain (e.g. retention events) were not verified")
        if not by_seq:
            head = self._read_head(tenant)
            last = head.get("last") if head else None
            if isinstance(last, dict) and isinstance(last.get("seq"), int):
                # Indistinguishable from retention expiring every partition of an idle tenant.
                report.notes.append(f"no records left, though the chain reached seq {last['seq']}: expired (retention) or deleted")
            return report

        seqs = sorted(by_seq)
        report.first_seq, report.last_seq = seqs[0], seqs[-1]
        report.records = sum(len(v) for v in by_seq.values())
        if seqs[0] > 1:
            report.notes.append(f"the chain starts at seq {seqs[0]}: earlier records expired (retention) or were deleted")
        previous: tuple[int, str | None] | None = None
        for seq in seqs:
            entries = by_seq[seq]
            if len(entries) > 1:
                report.problems.append(AuditProblem(seq, f"forked: {len(entries)} records with this seq (concurrent writers or a copied record)"))
            if any(record is None for _k, record, _h in entries):
                report.problems.append(AuditProblem(seq, "unreadable: not a JSON record (edited or damaged)"))
            if previous is not None and seq > previous[0] + 1:
                gap = f"seq {previous[0] + 1}" if seq == previous[0] + 2 else f"seqs {previous[0] + 1}..{seq - 1}"
                report.problems.append(AuditProblem(previous[0] + 1, f"missing: {gap} deleted"))
            elif previous is not None and previous[1] is not None:
                for _key, record, _full in entries:
                    if record is not None and record.get("prev_hash") != previous[1]:
                        report.problems.append(
                            AuditProblem(previous[0], f"edited: its hash does not match the prev_hash of seq {seq} (or seq {seq} was reordered)")
                        )
            if seq == 1:
                for _key, record, _full in entries:
                    if record is not None and record.get("prev_hash") != GENESIS_HASH:
                        report.problems.append(AuditProblem(1, "edited: the first record does not start the chain"))
            first = entries[0]
            previous = (seq, first[2])

        head = self._read_head(tenant)
        if head is not None:
            candidates = [c for c in (head.get("pending"), head.get("last")) if isinstance(c, dict)]
            tip_seq, tip_hash = seqs[-1], by_seq[seqs[-1]][0][2]
            committed = head.get("last") if isinstance(head.get("last"), dict) else None
            if committed is not None and isinstance(committed.get("seq"), int):
                if committed["seq"] > tip_seq:
                    gap = f"seq {tip_seq + 1}" if committed["seq"] == tip_seq + 1 else f"seqs {tip_seq + 1}..{committed['seq']}"
                    report.problems.append(AuditProblem(tip_seq + 1, f"missing: {gap} deleted from the end of the chain"))
                elif not any(c.get("seq") == tip_seq and c.get("hash") == tip_hash for c in candidates) and committed["seq"] == tip_seq:
                    report.problems.append(AuditProblem(tip_seq, "edited: the last record does not match the chain's head"))
        return report
