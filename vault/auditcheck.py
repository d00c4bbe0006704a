"""`audit verify`: check one tenant's audit chain (see :mod:`vault.audit` for its format).

Reported as problems (`verify` fails), each naming the seq where it can:

- an edited record: its content does not match the hash in its name, its signature does not
  verify, or its hash is not the next record's ``prev_hash``; an unreadable one;
- a moved or reordered one: the seq, tenant or date in the record differs from its key;
- a fork: two records under one seq, or a claim holding another record than its seq's;
- a missing one: a gap in seq, a chain start after seq 1, or a tail shorter than the head says,
  unless retention explains it. Records are due for deletion when their date partition is older
  than ``audit_days`` (as the sweep decides); a record's ``prev_time`` says when the record before
  it was written, and records are in time order, so a gap is expiry only when the record after it
  has a ``prev_time`` in a due partition. Without ``audit_days`` no gap is expiry;
- a missing or unsigned head while records exist (the head's signature anchors the end of the
  chain, so the last records cannot be deleted together with it unnoticed);
- a record without a signature after signed ones, and any object under the tenant's audit prefix
  that is neither a record nor a claim (such as a forged record under another name).

Notes (``verify`` passes): records expired by retention, records written before records were
signed (a chain started by an older version), and that signatures were not checked when the
caller gave no audit key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vault import layout
from vault.audit import (
    CLAIM_NAME,
    GENESIS_HASH,
    HEAD_FORMAT,
    RECORD_NAME,
    AuditReport,
    parse_time,
    record_hash,
    signed_by,
)

if TYPE_CHECKING:
    from vault.audit import AuditLog


@dataclass
class _Entry:
    key: str
    data: bytes
    record: dict[str, Any] | None  # None: not a JSON object
    full_hash: str | None


@dataclass
class _Chain:
    by_seq: dict[int, list[_Entry]] = field(default_factory=dict)
    claims: dict[int, list[tuple[str, bytes]]] = field(default_factory=dict)
    legacy: int = 0  # records without a signature, before the first signed one
    first_signed: int | None = None  # the lowest seq of a record that has a signature

    def seqs(self) -> list[int]:
        return sorted(self.by_seq)

    def first(self, seq: int) -> _Entry:
        return self.by_seq[seq][0]


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seqs {first}..{last}"


def check_chain(log: AuditLog, tenant: str, *, audit_days: int | None, now: datetime) -> AuditReport:
    report = AuditReport(tenant)
    delete_before = now.date() - timedelta(days=audit_days) if audit_days is not None else None
    chain = _collect(log, tenant, report)
    seqs = chain.seqs()
    if seqs:
        report.first_seq, report.last_seq = seqs[0], seqs[-1]
        report.records = sum(len(v) for v in chain.by_seq.values())
    for seq in seqs:
        for entry in chain.by_seq[seq]:
            _check_record(log, tenant, seq, entry, chain, report)
    _check_links(chain, report, delete_before, audit_days)
    head_seq = _check_head(log, tenant, chain, report, delete_before, audit_days)
    _check_claims(chain, report, delete_before, max([head_seq, *seqs]))
    if chain.legacy:
        report.notes.append(f"{chain.legacy} record(s) at the start were written before records were signed")
    if log.key is None:
        report.notes.append("signatures were not checked: no audit key was given")
    return report


# -- collecting --------------------------------------------------------------------------------


def _collect(log: AuditLog, tenant: str, report: AuditReport) -> _Chain:
    chain = _Chain()
    for key, data in log.objects(tenant):
        parsed = layout.parse_key(key)
        name = parsed[1] if parsed else ""
        record_name = RECORD_NAME.fullmatch(name)
        claim_name = CLAIM_NAME.fullmatch(name)
        if record_name:
            chain.by_seq.setdefault(int(record_name.group(1)), []).append(_entry(key, data))
        elif claim_name:
            chain.claims.setdefault(int(claim_name.group(1)), []).append((key, data))
        else:
            report.problem(None, f"not a chain record: {key} (forged, or written by hand); it is not part of the audit log")
    signed = [seq for seq, entries in chain.by_seq.items() if any(e.record is not None and "mac" in e.record for e in entries)]
    chain.first_signed = min(signed) if signed else None
    return chain


def _entry(key: str, data: bytes) -> _Entry:
    try:
        record = json.loads(data or b"")
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return _Entry(key, data, None, None)
    return _Entry(key, data, record, record_hash(record))


# -- one record --------------------------------------------------------------------------------


def _check_record(log: AuditLog, tenant: str, seq: int, entry: _Entry, chain: _Chain, report: AuditReport) -> None:
    record = entry.record
    if record is None:
        report.problem(seq, "unreadable: not a JSON record (edited or damaged)")
        return
    parsed = layout.parse_key(entry.key)
    assert parsed is not None  # collected only when the key parses
    if entry.full_hash is None or entry.full_hash[:16] != parsed[1].rsplit("-", 1)[1]:
        report.problem(seq, "edited: its content does not match the hash in its name")
    if record.get("seq") != seq:
        report.problem(seq, f"out of order: the record under this seq says seq {record.get('seq')!r} (reordered or moved)")
    if record.get("tenant") != tenant:
        report.problem(seq, "moved: the record belongs to another tenant")
    if str(record.get("time", ""))[:10] != parsed[0].day.isoformat():
        report.problem(seq, "moved: its date partition does not match its time")
    _check_signature(log, seq, record, chain, report)


def _check_signature(log: AuditLog, seq: int, record: dict[str, Any], chain: _Chain, report: AuditReport) -> None:
    if log.key is None:
        return
    if "mac" in record:
        if not signed_by(log.key, record):
            report.problem(seq, "edited: its signature does not verify (forged, or edited)")
        return
    if chain.first_signed is not None and chain.first_signed < seq:
        report.problem(seq, "not signed: written without the audit key after signed records (forged, or an appender without the master secret)")
    else:
        chain.legacy += 1


# -- links and gaps ----------------------------------------------------------------------------


def _expired_before(record: dict[str, Any] | None, delete_before: date | None) -> bool | None:
    """Whether every record before ``record`` was due for retention: True or False, or None when
    the record predates ``prev_time`` and only its own date can tell."""
    if delete_before is None or record is None:
        return False
    if "prev_time" not in record:
        own = parse_time(record.get("time"))
        return True if own is not None and own.date() < delete_before else None
    previous = parse_time(record.get("prev_time"))
    return previous is not None and previous.date() < delete_before


def _why_not_expired(delete_before: date | None, audit_days: int | None) -> str:
    if delete_before is None:
        return "no retention window (audit_days) was given, so no record may be missing"
    return f"they were not due for retention: audit_days {audit_days} keeps records from {delete_before.isoformat()} on"


def _check_links(chain: _Chain, report: AuditReport, delete_before: date | None, audit_days: int | None) -> None:
    seqs = chain.seqs()
    if not seqs:
        return
    if seqs[0] > 1:
        _gap(chain, report, 1, seqs[0], delete_before, audit_days, at_start=True)
    for previous, seq in zip([None, *seqs], seqs):
        entries = chain.by_seq[seq]
        if len(entries) > 1:
            report.problem(seq, f"forked: {len(entries)} records with this seq (concurrent writers or a copied record)")
        if previous is not None and seq > previous + 1:
            _gap(chain, report, previous + 1, seq, delete_before, audit_days, at_start=False)
        elif previous is not None:
            _check_prev_hash(chain, previous, seq, report)
    if seqs[0] == 1:
        for entry in chain.by_seq[1]:
            if entry.record is not None and entry.record.get("prev_hash") != GENESIS_HASH:
                report.problem(1, "edited: the first record does not start the chain")


def _check_prev_hash(chain: _Chain, previous: int, seq: int, report: AuditReport) -> None:
    expected = chain.first(previous).full_hash
    if expected is None:
        return
    for entry in chain.by_seq[seq]:
        if entry.record is not None and entry.record.get("prev_hash") != expected:
            report.problem(previous, f"edited: its hash does not match the prev_hash of seq {seq} (or seq {seq} was reordered)")


def _gap(chain: _Chain, report: AuditReport, first: int, after: int, delete_before: date | None, audit_days: int | None, *, at_start: bool) -> None:
    """Seqs ``first``..``after - 1`` are missing; ``after`` is present."""
    span = _span(first, after - 1)
    expired = _expired_before(chain.first(after).record, delete_before)
    if expired:
        report.notes.append(f"{span} expired (retention, audit_days {audit_days})" + (f": the chain starts at seq {after}" if at_start else ""))
    elif expired is None and at_start:
        report.notes.append(f"the chain starts at seq {after}: whether {span} expired cannot be checked (written before records kept prev_time)")
    else:
        report.problem(first, f"missing: {span} deleted ({_why_not_expired(delete_before, audit_days)})")


# -- claims and the head -----------------------------------------------------------------------


def _check_claims(chain: _Chain, report: AuditReport, delete_before: date | None, reported_up_to: int) -> None:
    """Claims must hold their seq's record. A claim past the end (``reported_up_to``: gaps up to
    there are reported already) whose record is missing is an interrupted or undone append."""
    for seq, claims in sorted(chain.claims.items()):
        entries = chain.by_seq.get(seq, [])
        for _key, data in claims:
            if _entry(_key, data).record is None:
                report.problem(seq, "unreadable claim: not a JSON record (edited or damaged); appends stop until it is fixed")
            elif entries and all(e.data != data for e in entries):
                report.problem(seq, "forked: its claim holds another record (a concurrent writer, or an edit)")
            elif not entries and seq > reported_up_to and not _claim_expired(data, delete_before):
                report.problem(seq, "missing: the record is gone but its claim is there (deleted, or an interrupted append the next one completes)")


def _claim_expired(data: bytes, delete_before: date | None) -> bool:
    try:
        when = parse_time(json.loads(data).get("time"))
    except (ValueError, AttributeError):
        return False
    return delete_before is not None and when is not None and when.date() < delete_before


def _head_day(last: dict[str, Any]) -> date | None:
    when = parse_time(last.get("time")) if last.get("time") else None
    if when is not None:
        return when.date()
    parsed = layout.parse_key(last["key"]) if isinstance(last.get("key"), str) else None
    return parsed[0].day if parsed else None


def _check_head(log: AuditLog, tenant: str, chain: _Chain, report: AuditReport, delete_before: date | None, audit_days: int | None) -> int:
    """Check the end of the chain against the head; returns the head's seq (0: no head)."""
    seqs = chain.seqs()
    head = log.read_head(tenant)
    last = head.get("last") if head else None
    if head is None or not isinstance(last, dict) or not isinstance(last.get("seq"), int):
        if seqs:
            report.problem(None, f"head missing: nothing anchors the end of the chain (records after seq {seqs[-1]} may have been deleted with it)")
        return 0
    _check_head_signature(log, head, chain, report)
    head_seq, top = last["seq"], (seqs[-1] if seqs else 0)
    if head_seq > top:
        day = _head_day(last)
        if delete_before is not None and day is not None and day < delete_before:
            report.notes.append(f"no records after seq {top} are left, though the chain reached seq {head_seq}: expired (retention)")
        else:
            report.problem(top + 1, f"missing: {_span(top + 1, head_seq)} deleted from the end of the chain ({_why_not_expired(delete_before, audit_days)})")
    elif head_seq in chain.by_seq and all(e.full_hash != last.get("hash") for e in chain.by_seq[head_seq]):
        report.problem(head_seq, "edited: the record does not match the chain's head")
    return head_seq


def _check_head_signature(log: AuditLog, head: dict[str, Any], chain: _Chain, report: AuditReport) -> None:
    if log.key is None:
        return
    if head.get("format") != HEAD_FORMAT and chain.first_signed is None:
        report.notes.append("the head was written before heads were signed; the next append signs it")
        return
    if not signed_by(log.key, head):
        report.problem(None, "head not signed: its signature does not verify (forged or replaced); the end of the chain is not anchored")
