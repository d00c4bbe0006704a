"""Subject erasure: remove every record of one user of one tenant from the store.

1. The user's pseudonym is computed exactly as the redactor does (`Pseudonymizer`), so the raw
   user id is never stored, logged or reported; only the pseudonym is.
2. The user's spans and log records are found from the metrics and log_metrics tables: rows
   whose ``user_hash`` is the pseudonym and, by default (``whole_traces=True``), every span and
   log record of the traces those rows belong to: the model-call, retrieval and tool spans of the
   user's conversations, and the content events logged in them, carry the prompts without a user
   id. With ``whole_traces=False`` (the CLI's ``--spans-only``) only the rows that carry the user
   id go. A log record with neither a user id nor a trace id cannot be tied to the user.
3. The evaluation rows (``evaluations/``) that judge a removed span go too: rows whose trace and
   span are those of a removed row and, with ``whole_traces``, every row of the user's traces
   (an evaluation sent as a log record may name the trace alone).
4. Each affected payload segment is rewritten first, then each affected evaluations file, then
   each affected metrics or log_metrics file, all under the same key (``store.put`` is atomic on
   both stores: readers and a crash see the old object
   or the new one, never a half-written one).
   - Payload frames of other spans are copied byte for byte at their original offsets (their
     associated data binds object key and position, which do not change, and the other rows'
     ``payload_ref`` offsets stay valid). The user's frames are replaced by zero bytes and the
     footer index is rebuilt from the kept frames, so their ciphertext is gone from the object.
   - Parquet files (of either table) keep their other rows, in order, and their key-value metadata.
   - An object left with nothing in it is deleted.
   Segments and evaluations go first: a crash after them leaves the metrics rows that lead a
   re-run to the same segments and evaluation rows (already clean) and then to the metrics files. Re-running is therefore safe and
   finishes the job; running it on a clean store changes nothing.
5. The metrics and evaluations are scanned once more to verify (a compaction that ran at the same time could have
   put removed rows back; the pass is repeated up to three times).
6. The sidecar's spool is checked (when it is on this machine, ``spool_dir``): records of the user
   that are accepted but not yet flushed would land in the store after the erasure. They are
   reported and make the erasure incomplete; run it again once the sidecar has flushed.

Not covered here (documented in docs/operations.md): old object versions on a versioned bucket
(the report warns), pseudonyms made under an earlier master secret (another key id), and data
that the user sends after the erasure started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vault import layout
from vault.parquet import table_to_parquet
from vault.segment import CorruptSegment, PayloadRef, build_segment, parse_segment
from vault.spool import SUFFIX as SPOOL_SUFFIX
from vault.spool import read_spool_file
from vault.store import ObjectNotFound, ObjectStore, S3Store, StoreError

MAX_PASSES = 3
SCAN_THREADS = 8

#: Which rows of a metrics table to remove (a boolean mask), or None for none.
Matcher = Callable[[pa.Table], "pa.Array | pa.ChunkedArray | None"]


def pseudonym_for(master_secret: bytes, tenant: str, user_id: str) -> str:
    """The user's pseudonym, as the redactor writes it into ``user_hash``."""
    from redactors.identifiers import Pseudonymizer

    return Pseudonymizer(master_secret).for_tenant(tenant).identifier(user_id)


@dataclass
class ErasureReport:
    tenant: str
    pseudonym: str
    dry_run: bool
    store: str
    whole_traces: bool = True
    traces: int = 0
    metrics_files_scanned: int = 0
    evaluations_files_scanned: int = 0
    metrics_files_rewritten: int = 0
    metrics_rows_removed: int = 0
    evaluations_files_rewritten: int = 0
    evaluations_rows_removed: int = 0
    payload_segments_rewritten: int = 0
    payload_records_removed: int = 0
    objects_deleted: int = 0
    passes: int = 0
    verified: bool = False
    spool_dir: str | None = None
    spool_pending_records: int = 0
    spool_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    audit_key: str | None = None

    def error(self, key: str, message: str) -> None:
        entry = {"key": key, "error": message}
        if entry not in self.errors:
            self.errors.append(entry)

    @property
    def complete(self) -> bool:
        return (self.verified or self.dry_run) and not self.errors and self.spool_pending_records == 0

    def counts(self) -> dict[str, int]:
        return {
            "metrics_files_rewritten": self.metrics_files_rewritten,
            "metrics_rows_removed": self.metrics_rows_removed,
            "evaluations_files_rewritten": self.evaluations_files_rewritten,
            "evaluations_rows_removed": self.evaluations_rows_removed,
            "payload_segments_rewritten": self.payload_segments_rewritten,
            "payload_records_removed": self.payload_records_removed,
            "objects_deleted": self.objects_deleted,
            "spool_pending_records": self.spool_pending_records,
        }

    def scope(self) -> str:
        """What was erased, in words, for the report."""
        if self.whole_traces:
            return "whole traces: every span of each trace that holds one of the user's spans"
        return "spans only: spans that carry the user id; other spans of the same traces were kept (--spans-only)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": "erase",
            "tenant": self.tenant,
            "pseudonym": self.pseudonym,
            "dry_run": self.dry_run,
            "store": self.store,
            "complete": self.complete,
            "verified": self.verified,
            "passes": self.passes,
            "whole_traces": self.whole_traces,
            "scope": self.scope(),
            "traces": self.traces,
            "metrics_files_scanned": self.metrics_files_scanned,
            "evaluations_files_scanned": self.evaluations_files_scanned,
            **self.counts(),
            "spool": {"dir": self.spool_dir, "pending_records": self.spool_pending_records, "files": self.spool_files},
            "warnings": self.warnings,
            "errors": self.errors,
            "audit_key": self.audit_key,
        }


@dataclass
class _Affected:
    """One metrics (or evaluations) file holding the user's rows, read once."""

    key: str
    table: pa.Table
    mask: pa.ChunkedArray | pa.Array  # True for the user's rows
    removed: int
    refs: list[PayloadRef]


def erase_user(
    store: ObjectStore,
    tenant: str,
    pseudonym: str,
    *,
    dry_run: bool = False,
    spool_dir: Path | None = None,
    whole_traces: bool = True,
    threads: int = SCAN_THREADS,
) -> ErasureReport:
    """Remove the rows, evaluations and payloads of ``pseudonym`` from ``tenant``'s data. Never
    raises for a store failure on one object: it is reported, and the erasure is incomplete.

    ``whole_traces`` (the default) also removes every span that shares a trace with one of the
    user's spans (model-call, retrieval and tool spans carry the conversation without a user id);
    it reads the tenant's metrics twice per pass. ``whole_traces=False`` removes only the spans
    that carry the user id.
    """
    layout.partition_prefix("metrics", tenant)  # validates the tenant id
    report = ErasureReport(tenant=tenant, pseudonym=pseudonym, dry_run=dry_run, store=store.describe(), whole_traces=whole_traces)
    report.warnings.extend(_versioning_warnings(store))
    _check_spool(report, spool_dir, tenant, pseudonym)
    scope = _Scope(pseudonym, whole_traces)

    for _ in range(MAX_PASSES):
        report.passes += 1
        affected, judged = _find(store, tenant, scope, report, threads)
        if not affected and not judged:
            # Verified only when every file could be read: an unreadable one may hold rows.
            report.verified = not report.errors
            break
        if dry_run:
            _count_dry_run(report, affected, judged)
            break
        if not _rewrite(store, tenant, affected, judged, report):
            break  # never drop metrics rows whose payloads or evaluations could not be removed: re-run later

    # Records accepted while we ran and flushed since were caught by the verification scan;
    # look once more for records still waiting in the spool.
    if not dry_run:
        _check_spool(report, spool_dir, tenant, pseudonym, scope.traces)
    return report


@dataclass
class _Scope:
    """What is erased, gathered from the metrics rows and kept across passes: once the user's
    rows are gone, only these name the traces and the evaluation rows that go with them."""

    pseudonym: str
    whole_traces: bool
    traces: set[str] = field(default_factory=set)
    spans: set[str] = field(default_factory=set)  # "<trace_id>/<span_id>" of every metrics row removed

    def note_spans(self, affected: Iterable[_Affected]) -> None:
        for item in affected:
            if {"trace_id", "span_id"} <= set(item.table.column_names):
                removed = item.table.filter(item.mask)
                pairs = zip(removed.column("trace_id").to_pylist(), removed.column("span_id").to_pylist(), strict=True)
                self.spans.update(f"{trace}/{span}" for trace, span in pairs if trace and span)


def _find(store: ObjectStore, tenant: str, scope: _Scope, report: ErasureReport, threads: int) -> tuple[list[_Affected], list[_Affected]]:
    """The metrics files and the evaluations files that hold rows to remove."""
    affected = _scan(store, layout.RECORD_TABLES, tenant, report, threads, _user_matcher(scope.pseudonym))
    if scope.whole_traces:
        for item in affected:
            if "trace_id" in item.table.column_names:
                scope.traces.update(t for t in item.table.filter(item.mask).column("trace_id").to_pylist() if t)
        report.traces = len(scope.traces)
        if scope.traces:
            affected = _scan(store, layout.RECORD_TABLES, tenant, report, threads, _trace_matcher(scope.pseudonym, scope.traces))
    scope.note_spans(affected)
    if not scope.spans and not scope.traces:
        return affected, []
    return affected, _scan(store, ("evaluations",), tenant, report, threads, _evaluation_matcher(scope))


def _count_dry_run(report: ErasureReport, affected: list[_Affected], judged: list[_Affected]) -> None:
    report.metrics_files_rewritten += len(affected)
    report.metrics_rows_removed += sum(a.removed for a in affected)
    report.evaluations_files_rewritten += len(judged)
    report.evaluations_rows_removed += sum(a.removed for a in judged)
    report.payload_records_removed += sum(len(a.refs) for a in affected)
    report.payload_segments_rewritten += len({r.object_key for a in affected for r in a.refs})


def _rewrite(store: ObjectStore, tenant: str, affected: list[_Affected], judged: list[_Affected], report: ErasureReport) -> bool:
    """Payload segments, then evaluations, then metrics; stops after the first step that fails.
    True when every step succeeded."""
    errors_before = len(report.errors)
    _rewrite_segments(store, tenant, affected, report)
    if len(report.errors) > errors_before:
        return False
    files, rows = _rewrite_tables(store, judged, report)
    report.evaluations_files_rewritten += files
    report.evaluations_rows_removed += rows
    if len(report.errors) > errors_before:
        return False
    files, rows = _rewrite_tables(store, affected, report)
    report.metrics_files_rewritten += files
    report.metrics_rows_removed += rows
    return len(report.errors) == errors_before


def _user_matcher(pseudonym: str) -> Matcher:
    def match(table: pa.Table) -> pa.Array | pa.ChunkedArray | None:
        if "user_hash" not in table.column_names:
            return None
        return pc.fill_null(pc.equal(table.column("user_hash"), pa.scalar(pseudonym, pa.string())), False)

    return match


def _trace_matcher(pseudonym: str, traces: set[str]) -> Matcher:
    by_user = _user_matcher(pseudonym)
    trace_ids = pa.array(sorted(traces), pa.string())

    def match(table: pa.Table) -> pa.Array | pa.ChunkedArray | None:
        mask = by_user(table)
        if "trace_id" not in table.column_names:
            return mask
        in_trace = pc.fill_null(pc.is_in(table.column("trace_id"), value_set=trace_ids), False)
        return in_trace if mask is None else pc.or_(mask, in_trace)

    return match


def _evaluation_matcher(scope: _Scope) -> Matcher:
    """Evaluation rows that judge a removed span, or (whole traces) any span of the user's traces."""
    spans = pa.array(sorted(scope.spans), pa.string())
    traces = pa.array(sorted(scope.traces), pa.string())

    def match(table: pa.Table) -> pa.Array | pa.ChunkedArray | None:
        if "trace_id" not in table.column_names:
            return None
        trace = table.column("trace_id")
        mask = pc.fill_null(pc.is_in(trace, value_set=traces), False)
        if "span_id" in table.column_names:
            pair = pc.binary_join_element_wise(trace, table.column("span_id"), "/")
            mask = pc.or_(mask, pc.fill_null(pc.is_in(pair, value_set=spans), False))
        return mask

    return match


def _scan(store: ObjectStore, kinds: tuple[str, ...], tenant: str, report: ErasureReport, threads: int, match: Matcher) -> list[_Affected]:
    """The tenant's files of ``kinds`` (the record tables, or the evaluations) that hold rows ``match`` picks."""
    keys: list[str] = []
    for kind in kinds:
        prefix = layout.partition_prefix(kind, tenant)
        try:
            keys.extend(info.key for info in store.list(prefix) if _is_kind(info.key, kind))
        except Exception as exc:  # noqa: BLE001 - a listing failure is reported; the erasure is then incomplete
            report.error(prefix, f"listing failed: {_reason(exc)}")
            return []
    if kinds == layout.RECORD_TABLES:
        report.metrics_files_scanned = max(report.metrics_files_scanned, len(keys))
    else:
        report.evaluations_files_scanned = max(report.evaluations_files_scanned, len(keys))

    def load(key: str) -> _Affected | None:
        try:
            data = store.get(key)
        except ObjectNotFound:
            return None  # expired or compacted away since the listing
        except Exception as exc:  # noqa: BLE001 - reported; the erasure is then incomplete
            report.error(key, f"read failed: {_reason(exc)}")
            return None
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError, ValueError) as exc:
            report.error(key, f"unreadable Parquet ({type(exc).__name__}): cannot verify")
            return None
        mask = match(table)
        if mask is None:
            return None
        removed = pc.sum(mask.cast(pa.int64())).as_py() or 0
        if not removed:
            return None
        return _Affected(key, table, mask, removed, _refs(key, table.filter(mask), report))

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return [found for found in pool.map(load, keys) if found is not None]


def _refs(key: str, removed: pa.Table, report: ErasureReport) -> list[PayloadRef]:
    """The payload frames of the removed rows (evaluation rows have none)."""
    refs = []
    for ref_text in removed.column("payload_ref").to_pylist() if "payload_ref" in removed.column_names else []:
        if ref_text:
            try:
                refs.append(PayloadRef.parse(ref_text))
            except ValueError:
                report.error(key, "a row of the user has a malformed payload_ref")
    return refs


def _is_kind(key: str, kind: str) -> bool:
    parsed = layout.parse_key(key)
    return parsed is not None and parsed[0].kind == kind


def _rewrite_segments(store: ObjectStore, tenant: str, affected: Iterable[_Affected], report: ErasureReport) -> None:
    by_segment: dict[str, set[int]] = {}
    for item in affected:
        for ref in item.refs:
            by_segment.setdefault(ref.object_key, set()).add(ref.position)
    for key, positions in sorted(by_segment.items()):
        parsed = layout.parse_key(key)
        if parsed is None or parsed[0].kind != "payloads" or parsed[0].tenant != tenant:
            report.error(key, "payload_ref points outside the tenant's payloads")
            continue
        try:
            data = store.get(key)
        except ObjectNotFound:
            continue  # expired by retention, or already erased and emptied
        except Exception as exc:  # noqa: BLE001 - reported; the erasure is then incomplete (and its metrics rows kept)
            report.error(key, f"read failed: {_reason(exc)}")
            continue
        try:
            header, frames = parse_segment(data)
        except CorruptSegment as exc:
            report.error(key, f"damaged segment: {exc}")
            continue
        remove = positions & set(frames)
        if not remove:
            continue  # already clean (a re-run after a crash)
        kept = sorted((info for info in header.index if info.position not in remove), key=lambda info: info.offset)
        try:
            if kept:
                new_header = dataclasses.replace(header, index=tuple(kept))
                store.put(key, build_segment(new_header, [frames[info.position] for info in kept]))
            else:
                store.delete_many([key])
                report.objects_deleted += 1
        except Exception as exc:  # noqa: BLE001 - reported; the erasure is then incomplete (and its metrics rows kept)
            report.error(key, f"rewrite failed: {_reason(exc)}")
            continue
        report.payload_segments_rewritten += 1
        report.payload_records_removed += len(remove)


def _rewrite_tables(store: ObjectStore, affected: Iterable[_Affected], report: ErasureReport) -> tuple[int, int]:
    """Rewrite each file without its removed rows (delete it when none are left): (files, rows) done."""
    files = rows = 0
    for item in affected:
        kept = item.table.filter(pc.invert(item.mask))
        try:
            if kept.num_rows:
                store.put(item.key, _parquet_bytes(kept))
            else:
                store.delete_many([item.key])
                report.objects_deleted += 1
        except Exception as exc:  # noqa: BLE001 - reported; the erasure is then incomplete
            report.error(item.key, f"rewrite failed: {_reason(exc)}")
            continue
        files += 1
        rows += item.removed
    return files, rows


def _parquet_bytes(table: pa.Table) -> bytes:
    """Written as the sink writes metrics and evaluations; the schema's metadata is kept."""
    return table_to_parquet(table)


def pending_spool_records(spool_dir: Path, tenant: str, pseudonym: str, traces: Iterable[str] = ()) -> dict[str, int]:
    """Spool file name -> records of the user (or in ``traces``) in it: accepted, not yet in the store."""
    trace_set = frozenset(traces)
    found: dict[str, int] = {}
    try:
        paths = sorted(spool_dir.glob(f"*{SPOOL_SUFFIX}"))
    except OSError:
        return found
    for path in paths:
        try:
            contents = read_spool_file(path)
        except FileNotFoundError:
            continue  # flushed and removed while we looked
        count = sum(
            1
            for group in contents.groups
            if group.tenant == tenant
            for row in group.rows
            if row.get("user_hash") == pseudonym or row.get("trace_id") in trace_set
        )
        if count:
            found[path.name] = count
    return found


def _check_spool(report: ErasureReport, spool_dir: Path | None, tenant: str, pseudonym: str, traces: Iterable[str] = ()) -> None:
    """Called before and after the store pass. Records pending at either time make the erasure
    incomplete: ones flushed in between may have landed after the last scan."""
    if spool_dir is None:
        return
    report.spool_dir = str(spool_dir)
    pending = pending_spool_records(spool_dir, tenant, pseudonym, traces)
    report.spool_files = sorted(set(report.spool_files) | set(pending))
    report.spool_pending_records = max(report.spool_pending_records, sum(pending.values()))


def _versioning_warnings(store: ObjectStore) -> list[str]:
    if not isinstance(store, S3Store):
        return []
    try:
        status = store.versioning_status()
    except Exception:  # noqa: BLE001 - no permission to ask: say so
        return ["could not check bucket versioning: if it is enabled, earlier object versions still hold the erased records"]
    if status in ("Enabled", "Suspended"):
        return [
            f"bucket versioning is {status.lower()}: earlier versions of the rewritten objects still hold the erased "
            "records until they are removed (lifecycle NoncurrentVersionExpiration, see docs/operations.md)"
        ]
    return []


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, StoreError) else type(exc).__name__

