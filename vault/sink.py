"""The vault as a sink: split each span or log record, spool it durably, flush segments to the
object store.

- Spans give rows of the ``metrics`` table, log records (a batch whose signal is ``logs``) rows
  of the ``log_metrics`` table (:mod:`vault.logmetrics`); both give payload records in the same
  segments, under the same keys, through the same spool.

- `export` returns only after the batch's records are encrypted and fsynced to the spool:
  that is what lets the receivers answer 200.
- A background loop seals the active spool file by size or age, and flushes sealed files:
  payload segment first, then the metrics Parquet (so no metrics row ever points to a missing
  payload), then deletes the spool file. A store outage leaves the files in place; they are
  retried with backoff, and replayed after a restart.
- `has_capacity` turns false when the spool reaches its cap, so the receivers push back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from policies.config import SpoolConfig
from redactors.batch import SIGNAL_LOGS, ExportOutcome, RedactedBatch
from redactors.walker import COUNT_PREFIX
from vault import evaluations
from vault.keyring import DataKeyWriter
from vault.logmetrics import TABLE_SCHEMAS, log_metrics_row
from vault.metrics import MetricsMapping, label, metrics_row, rows_to_parquet
from vault.prices import Pricer
from vault.spool import (
    SpoolRecord,
    SpoolWriter,
    errno_name,
    read_spool_file,
    segment_bytes,
)
from vault.store import ObjectStore

log = logging.getLogger("tracevault.vault")
READINESS_PROBE_KEY = "probe/ready"
PROBE_INTERVAL_SECONDS = 10.0
_ID_FIELDS = (("trace_id", "traceId"), ("span_id", "spanId"), ("parent_span_id", "parentSpanId"))


@dataclass
class VaultStats:
    """Numbers for self-metrics; read at scrape time."""

    spool_bytes: int = 0
    flushed_files: int = 0
    flushed_spans: int = 0
    flush_failures: int = 0
    corrupt_regions: int = 0
    last_flush_seconds: float = 0.0
    store_reachable: bool = True
    spool_write_failures: int = 0


def _hex_ids(message: Any, document: dict[str, Any]) -> None:
    """OTLP/JSON writes ids as base64; the vault writes them as lowercase hex, as OTLP/JSON's
    trace ids are pasted into queries."""
    for field_name, json_name in _ID_FIELDS:
        if json_name in document:
            document[json_name] = getattr(message, field_name).hex()


def _document(resource: Resource, scope: InstrumentationScope, name: str, record: Span | LogRecord) -> bytes:
    record_doc = json_format.MessageToDict(record, use_integers_for_enums=True)
    _hex_ids(record, record_doc)
    for link, link_doc in zip(getattr(record, "links", ()), record_doc.get("links", [])):
        _hex_ids(link, link_doc)
    document = {
        "resource": json_format.MessageToDict(resource),
        "scope": json_format.MessageToDict(scope),
        name: record_doc,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def payload_document(span: Span, resource: Resource, scope: InstrumentationScope) -> bytes:
    """A span's content as stored (encrypted) in a payload record: OTLP/JSON shapes, hex ids."""
    return _document(resource, scope, "span", span)


def log_payload_document(record: LogRecord, resource: Resource, scope: InstrumentationScope) -> bytes:
    """A log record's content as stored (encrypted): ``{"resource", "scope", "log_record"}``."""
    return _document(resource, scope, "log_record", record)


def _redaction_counts(record: Span | LogRecord) -> dict[str, int]:
    return {kv.key[len(COUNT_PREFIX):]: kv.value.int_value for kv in record.attributes if kv.key.startswith(COUNT_PREFIX)}


def _flat_spans(request: ExportTraceServiceRequest) -> list[tuple[Span, Resource, InstrumentationScope]]:
    return [
        (span, resource_spans.resource, scope_spans.scope)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def _flat_logs(request: ExportLogsServiceRequest) -> list[tuple[LogRecord, Resource, InstrumentationScope]]:
    return [
        (record, resource_logs.resource, scope_logs.scope)
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
        for record in scope_logs.log_records
    ]


def _payload(batch: RedactedBatch, redacted: tuple[Any, ...], escrow: list[tuple[Any, ...]], index: int, make: Any) -> bytes | None:
    if batch.payload_mode == "redacted":
        return make(*redacted)
    if batch.payload_mode == "original":
        return make(*escrow[index])
    return None


def _records_and_escrow(batch: RedactedBatch, flatten: Any) -> tuple[list[Any], list[Any]]:
    records = flatten(batch.request)
    escrow = flatten(batch.escrow) if batch.escrow is not None else []
    if batch.payload_mode == "original" and len(escrow) != len(records):
        raise ValueError("escrow copy does not match the redacted records")
    return records, escrow


def record_ids(count: int) -> list[str]:
    """Ids for the log records of one batch: 32 hex digits, a random batch part and the index.

    Unique (a fresh 96-bit batch part, then distinct indexes) and stable (fixed in the spool
    row, so a replay writes the same id). Nothing of the content goes into it: it is not a hash.
    """
    batch_part = secrets.token_hex(12)
    return [f"{batch_part}{index:08x}" for index in range(count)]


def split_batch(batch: RedactedBatch, mapping: MetricsMapping, pricer: Pricer | None = None) -> list[SpoolRecord]:
    """One metrics row and (per payload mode) one payload per span or log record."""
    if batch.signal == SIGNAL_LOGS:
        return _split_logs(batch, mapping)
    return _split_spans(batch, mapping, pricer)


def _split_spans(batch: RedactedBatch, mapping: MetricsMapping, pricer: Pricer | None) -> list[SpoolRecord]:
    spans, escrow = _records_and_escrow(batch, _flat_spans)
    records: list[SpoolRecord] = []
    for index, (span, resource, scope) in enumerate(spans):
        row = metrics_row(
            span,
            resource,
            tenant=batch.tenant,
            env=batch.env,
            received_at=batch.received_at,
            redactions=_redaction_counts(span),
            payload_ref=None,
            mapping=mapping,
            pricer=pricer,
        )
        judged = evaluations.span_evaluation_rows(span, tenant=batch.tenant, env=batch.env, received_at=batch.received_at, label=label)
        if judged:  # carried through the spool beside the row, written to the evaluations table
            row[evaluations.SPOOL_FIELD] = judged
        payload = _payload(batch, (span, resource, scope), escrow, index, payload_document)
        records.append(SpoolRecord(trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), metrics=row, payload=payload))
    return records


def _split_logs(batch: RedactedBatch, mapping: MetricsMapping) -> list[SpoolRecord]:
    logs, escrow = _records_and_escrow(batch, _flat_logs)
    records: list[SpoolRecord] = []
    for index, ((record, resource, scope), record_id) in enumerate(zip(logs, record_ids(len(logs)))):
        row = log_metrics_row(
            record,
            resource,
            tenant=batch.tenant,
            env=batch.env,
            record_id=record_id,
            received_at=batch.received_at,
            redactions=_redaction_counts(record),
            mapping=mapping,
        )
        if record.event_name == evaluations.EVALUATION_EVENT:  # an evaluation sent as a log event
            row[evaluations.SPOOL_FIELD] = [evaluations.log_evaluation_row(record, tenant=batch.tenant, env=batch.env, received_at=batch.received_at, label=label)]
        payload = _payload(batch, (record, resource, scope), escrow, index, log_payload_document)
        records.append(SpoolRecord(trace_id=record.trace_id.hex(), span_id=record.span_id.hex(), metrics=row, payload=payload, table="log_metrics"))
    return records


def flush_spool_file(path: Path, store: ObjectStore, stats: VaultStats) -> int:
    """Upload one sealed spool file's segments and Parquet files, then delete it. Idempotent."""
    contents = read_spool_file(path)
    if contents.corrupt_regions or contents.orphan_records:
        stats.corrupt_regions += contents.corrupt_regions
        log.error(
            "spool file %s is damaged: %d corrupt regions (%d bytes) and %d orphan records skipped",
            path.name, contents.corrupt_regions, contents.skipped_bytes, contents.orphan_records,
        )
    for group in contents.groups:
        segment = segment_bytes(group)
        if segment is not None:
            store.put(group.payload_key, segment)
        tables = group.tables()
        judged = [e for rows in tables.values() for row in rows for e in row.pop(evaluations.SPOOL_FIELD, None) or ()]
        if judged:  # before the metrics files, as payloads are: a retried flush rewrites the same objects
            store.put(evaluations.evaluations_key(group.metrics_key), evaluations.rows_to_parquet(judged))
        for table, rows in tables.items():
            store.put(group.table_key(table), rows_to_parquet(rows, TABLE_SCHEMAS[table]))
    path.unlink()
    return contents.records


class VaultSink:
    stores_payloads = True

    def __init__(
        self,
        spool_config: SpoolConfig,
        spool_dir: Path,
        keyring: DataKeyWriter,
        store: ObjectStore,
        mapping: MetricsMapping | None = None,
        pricer: Pricer | None = None,
    ) -> None:
        self._config = spool_config
        self._store = store
        self._mapping = mapping or MetricsMapping.with_overrides({})
        self._pricer = pricer or Pricer()
        self.stats = VaultStats()
        self._writer = SpoolWriter(spool_dir, keyring.new_data_key, fsync=spool_config.fsync)
        # One thread owns the spool writer (appends are serialized); another flushes.
        self._spool_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._flush_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flush")
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._closed = False
        self.stats.spool_bytes = self._writer.total_bytes()

    @property
    def store(self) -> ObjectStore:
        return self._store

    def has_capacity(self) -> bool:
        return self.stats.spool_bytes < self._config.max_bytes

    @property
    def healthy(self) -> bool:
        """Liveness: false only while a failed spool write could not be cut off its file."""
        return self._writer.healthy

    async def start(self) -> None:
        """Start the flush loop; spool files left by a previous run are flushed first."""
        self._flusher = asyncio.create_task(self._flush_loop(), name="vault-flush")

    async def export(self, batch: RedactedBatch) -> ExportOutcome:
        """Durable once this returns ok: the records are in the spool (fsync'd when configured).

        The split (a JSON document per span or log record) and the append run in the spool
        thread, never on the event loop.
        """
        try:
            await asyncio.get_running_loop().run_in_executor(self._spool_thread, self._split_and_append, batch)
        except OSError:  # a full disk: nothing of the batch stayed in the spool (logged, counted)
            return ExportOutcome.retry("spool write failed")
        return ExportOutcome.ok()

    def _split_and_append(self, batch: RedactedBatch) -> None:
        records = split_batch(batch, self._mapping, self._pricer)
        if records:
            self._append(batch, records)

    def _append(self, batch: RedactedBatch, records: list[SpoolRecord]) -> None:
        before = self._writer.active_bytes
        try:
            self._writer.append(batch.tenant, batch.env, batch.received_at.date(), records)
        except OSError as exc:
            # A full disk: the batch is refused (the client retries), nothing of it stays.
            self.stats.spool_write_failures += 1
            log.warning("spool write failed (%s); the request is refused and will be retried", errno_name(exc))
            raise
        self.stats.spool_bytes += self._writer.active_bytes - before
        if self._writer.active_bytes >= self._config.segment_max_bytes:
            self._writer.seal()

    def _seal_if_due(self) -> None:
        if self._writer.active_bytes and (
            self._writer.active_age_seconds >= self._config.flush_interval_seconds
            or self._writer.active_bytes >= self._config.segment_max_bytes
        ):
            self._writer.seal()

    def _probe_store(self) -> None:
        self._store.head(READINESS_PROBE_KEY)  # raises when the store cannot be reached

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.5
        last_probe = 0.0
        while not self._closed:
            try:
                if loop.time() - last_probe > PROBE_INTERVAL_SECONDS:
                    await loop.run_in_executor(self._flush_thread, self._probe_store)
                    last_probe = loop.time()
                    self.stats.store_reachable = True
                await self.flush(seal=False)
                backoff = 0.5
                await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - store outage: keep the files, retry with backoff
                self.stats.flush_failures += 1
                self.stats.store_reachable = False
                log.warning("flush to %s failed (%s); retrying in %.1fs", self._store.describe(), type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def flush(self, timeout: float | None = None, *, seal: bool = True) -> bool:
        """Seal the active file when due (or always, with `seal`), then flush every sealed file.

        True when done; False when `timeout` passed first (the rest stays in the spool and is
        flushed later or at the next start). A store failure raises, as before.
        """
        if timeout is None:
            await self._flush(seal)
            return True
        task = asyncio.ensure_future(self._flush(seal))
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()  # the file being written finishes in its thread; the next waits for later
            return False
        task.result()
        return True

    async def _flush(self, seal: bool) -> None:
        loop = asyncio.get_running_loop()
        async with self._flush_lock:
            await loop.run_in_executor(self._spool_thread, self._writer.seal if seal else self._seal_if_due)
            sealed = await loop.run_in_executor(self._spool_thread, self._writer.sealed_files)
            for path in sealed:
                started = time.perf_counter()
                size = path.stat().st_size
                spans = await loop.run_in_executor(self._flush_thread, flush_spool_file, path, self._store, self.stats)
                self.stats.last_flush_seconds = time.perf_counter() - started
                self.stats.flushed_files += 1
                self.stats.flushed_spans += spans
                self.stats.spool_bytes = max(0, self.stats.spool_bytes - size)
                self.stats.store_reachable = True

    async def shutdown(self, timeout: float | None = None) -> bool:
        """Stop the flush loop and flush what is left, within `timeout`; True when all of it is
        in the store. Nothing is lost either way: unflushed files stay in the spool."""
        self._closed = True
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
        try:
            finished = await self.flush(timeout, seal=True)
            if not finished:
                log.warning("final flush did not finish in time; %d bytes stay in the spool for the next start", self.stats.spool_bytes)
        except Exception as exc:  # noqa: BLE001 - store down at exit: the files stay in the spool
            log.warning("final flush failed (%s); %d bytes stay in the spool for the next start", type(exc).__name__, self.stats.spool_bytes)
            finished = False
        self._spool_thread.shutdown(wait=finished, cancel_futures=not finished)
        self._flush_thread.shutdown(wait=finished, cancel_futures=not finished)
        return finished
