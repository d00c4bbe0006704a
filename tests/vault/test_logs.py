"""Log records in the vault: log_metrics rows (no free text) and encrypted payload records in
the same segments, keys and spool as spans; both stores; read back with pyarrow and DuckDB."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from policies.config import SpoolConfig
from redactors.batch import RedactedBatch
from tests.redactors.otlp_builders import make_log_request, make_request, make_span
from tests.vault.logs_builders import BODY_MARKER, DETAILS_EVENT, genai_log, logs_batch, make_log
from vault import layout
from vault.keyring import LocalKeyring, LocalKeyWriter
from vault.logmetrics import LOG_METRICS_SCHEMA, log_metrics_row
from vault.metrics import REDACTED, MetricsMapping
from vault.reader import VaultReader
from vault.sink import VaultSink, split_batch
from vault.spool import TABLE_FIELD, SpoolRecord, SpoolWriter, read_spool_file
from vault.store import LocalStore, ObjectStore

SECRET = bytes(range(32))
RECEIVED = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
PSEUDONYM = "pn:0a1b2c3d:" + "ab" * 12


def spool_config() -> SpoolConfig:
    return SpoolConfig.model_validate({"fsync": False, "flush_interval_seconds": 3600.0})


def sink_for(tmp_path: Path, store: ObjectStore) -> VaultSink:
    return VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)


def ingest(sink: VaultSink, *batches: RedactedBatch) -> None:
    async def go() -> None:
        for item in batches:
            await sink.export(item)
        await sink.flush()

    asyncio.run(go())


def span_batch(tenant: str, trace_id: bytes, span_id: bytes) -> RedactedBatch:
    span = make_span(attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 120})
    span.trace_id, span.span_id = trace_id, span_id
    return RedactedBatch(tenant, "prod", make_request([span]), 1, RECEIVED, "redacted")


def test_logs_store_and_read_back(store: ObjectStore, tmp_path: Path) -> None:
    trace, span = os.urandom(16), os.urandom(8)
    records = [genai_log(trace, span, user=PSEUDONYM), genai_log(trace, span, tokens=7), make_log(event_name="app.started")]
    ingest(sink_for(tmp_path, store), logs_batch("acme", records, RECEIVED))

    keys = [info.key for info in store.list("")]
    assert all(layout.parse_key(k) is not None for k in keys)
    log_files = [k for k in keys if k.startswith("log_metrics/tenant=acme/env=prod/date=2026-11-28/")]
    assert len(log_files) == 1 and not [k for k in keys if k.startswith("metrics/")], "log rows go to their own table only"
    assert len([k for k in keys if k.startswith("payloads/tenant=acme/env=prod/date=2026-11-28/")]) == 1

    raw = pq.read_table(io.BytesIO(store.get(log_files[0])))
    assert raw.schema.metadata[b"tracevault.schema"] == b"log_metrics"
    rows = raw.to_pylist()
    assert [r["input_tokens"] for r in rows] == [120, 7, None]
    assert rows[0]["trace_id"] == trace.hex() and rows[0]["span_id"] == span.hex()
    assert rows[0]["operation"] == "chat" and rows[0]["provider"] == "openai"
    assert rows[0]["response_model"] == "gpt-4o-mini-2024-07-18" and rows[0]["output_tokens"] == 9
    assert rows[0]["user_hash"] == PSEUDONYM and rows[1]["user_hash"] is None
    assert dict(rows[0]["redactions"]) == {"EMAIL_ADDRESS": 1}
    assert [r["event_name"] for r in rows] == [DETAILS_EVENT, DETAILS_EVENT, "app.started"]
    assert rows[0]["severity_number"] == 9 and rows[0]["severity_text"] == "INFO"
    assert rows[0]["service_name"] == "support-bot"
    assert rows[2]["trace_id"] is None and rows[2]["span_id"] is None
    assert len({r["record_id"] for r in rows}) == 3

    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    payload = reader.payload(rows[0]["payload_ref"])
    assert payload["log_record"]["traceId"] == trace.hex() and payload["log_record"]["spanId"] == span.hex()
    assert BODY_MARKER in json.dumps(payload) and payload["scope"]["name"] == "test"
    assert len(reader.payloads_for("acme", trace.hex())) == 2
    assert reader.read_metrics("acme", table="log_metrics").num_rows == 3
    assert reader.read_metrics("acme").num_rows == 0


def test_log_rows_hold_no_free_text(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    record = genai_log(attributes={"gen_ai.input.messages": f"{BODY_MARKER} question"}, severity_text=f"{BODY_MARKER} text")
    ingest(sink_for(tmp_path, store), logs_batch("acme", [record], RECEIVED))
    for path in (tmp_path / "store").rglob("*.parquet"):
        cells = json.dumps(pq.read_table(path).to_pylist(), default=str)
        assert BODY_MARKER not in cells and "mail" not in cells
    segment = next((tmp_path / "store").rglob("*.tvseg")).read_bytes()
    assert BODY_MARKER.encode() not in segment, "payloads are ciphertext"


@pytest.mark.parametrize(
    ("severity_text", "event_name", "want_severity", "want_event"),
    [
        ("INFO", DETAILS_EVENT, "INFO", DETAILS_EVENT),
        ("Warning", "gen_ai.evaluation.result", "Warning", "gen_ai.evaluation.result"),
        ("E", "browser.page_view", "E", "browser.page_view"),
        ("", "", None, None),
        ("jane.doe@example.com", "jane.doe@example.com", REDACTED, REDACTED),
        ("ERROR for Sarah Connor", "user Sarah Connor logged in", REDACTED, REDACTED),
        ("INFO 4111111111111111", "card.4111111111111111", REDACTED, REDACTED),
        ("x" * 17, "event." + "x" * 200, REDACTED, REDACTED),
    ],
)
def test_severity_and_event_name_are_shape_checked(severity_text: str, event_name: str, want_severity: str | None, want_event: str | None) -> None:
    record = make_log(severity_text=severity_text, event_name=event_name)
    request = make_log_request([record])
    resource = request.resource_logs[0].resource
    row = log_metrics_row(record, resource, tenant="acme", env="prod", record_id="0" * 32, received_at=RECEIVED, redactions={})
    assert (row["severity_text"], row["event_name"]) == (want_severity, want_event)
    assert set(row) == set(LOG_METRICS_SCHEMA.names)


@pytest.mark.parametrize(
    ("time_ns", "observed_ns", "severity", "want_time", "want_severity"),
    [
        (1_700_000_000_250_000_000, 1_700_000_000_300_000_000, 17, 1_700_000_000_250_000, 17),
        (0, 1_700_000_000_300_000_000, 0, 1_700_000_000_300_000, None),
        (0, 0, 99, None, None),
    ],
)
def test_time_falls_back_to_observed(time_ns: int, observed_ns: int, severity: int, want_time: int | None, want_severity: int | None) -> None:
    record = make_log(time_unix_nano=time_ns, observed_time_unix_nano=observed_ns, severity_number=severity)
    resource = make_log_request([record]).resource_logs[0].resource
    row = log_metrics_row(record, resource, tenant="acme", env="prod", record_id="0" * 32, received_at=RECEIVED, redactions={})
    got = row["time"]
    assert (int(got.timestamp() * 1_000_000) if got else None) == want_time
    assert row["severity_number"] == want_severity


def test_record_ids_are_unique_and_fixed_at_spool_time(tmp_path: Path) -> None:
    records = [make_log(), make_log()]
    first = split_batch(logs_batch("acme", records, RECEIVED), _mapping())
    again = split_batch(logs_batch("acme", records, RECEIVED), _mapping())
    ids = [r.metrics["record_id"] for r in first + again]
    assert len(set(ids)) == 4 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert all(r.table == "log_metrics" for r in first)

    # A spool file flushed twice (a crash after the upload, before the delete) writes the same rows.
    store = LocalStore(tmp_path / "store")
    sink = sink_for(tmp_path, store)
    asyncio.run(sink.export(logs_batch("acme", records, RECEIVED)))
    sink._writer.seal()
    spooled = sink._writer.sealed_files()[0]
    shutil.copy(spooled, tmp_path / "copy.wal")
    ingest(sink)
    before = {info.key: store.get(info.key) for info in store.list("")}
    shutil.copy(tmp_path / "copy.wal", spooled)
    ingest(sink_for(tmp_path, store))
    after = {info.key: store.get(info.key) for info in store.list("")}
    assert before == after
    rows = VaultReader(store).read_metrics("acme", table="log_metrics").to_pylist()
    assert len(rows) == 2 and len({r["record_id"] for r in rows}) == 2


@pytest.mark.parametrize(("mode", "has_payload", "original"), [("none", False, False), ("redacted", True, False), ("original", True, True)])
def test_log_payload_modes(tmp_path: Path, mode: str, has_payload: bool, original: bool) -> None:
    store = LocalStore(tmp_path / "store")
    record = genai_log()
    escrow_record = make_log(trace_id=record.trace_id, span_id=record.span_id, body="the original, jane@example.com")
    escrow = make_log_request([escrow_record]) if mode == "original" else None
    ingest(sink_for(tmp_path, store), logs_batch("acme", [record], RECEIVED, mode=mode, escrow=escrow))
    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    (row,) = reader.read_metrics("acme", table="log_metrics").to_pylist()
    assert bool(row["payload_ref"]) == has_payload
    assert bool([k for k in (i.key for i in store.list("payloads/"))]) == has_payload
    if has_payload:
        text = json.dumps(reader.payload(row["payload_ref"]))
        assert ("jane@example.com" in text) == original and (BODY_MARKER in text) == (not original)


def test_escrow_that_does_not_match_is_refused() -> None:
    batch = logs_batch("acme", [make_log(), make_log()], RECEIVED, mode="original", escrow=make_log_request([make_log()]))
    with pytest.raises(ValueError, match="escrow copy does not match"):
        split_batch(batch, _mapping())


def test_spans_and_logs_share_a_segment_and_join_on_trace_id(store: ObjectStore, tmp_path: Path) -> None:
    trace, span = os.urandom(16), os.urandom(8)
    sink = sink_for(tmp_path, store)
    ingest(sink, span_batch("acme", trace, span), logs_batch("acme", [genai_log(trace, span), genai_log(trace, span, tokens=5), make_log()], RECEIVED))

    keys = [info.key for info in store.list("")]
    segments = {layout.parse_key(k)[1] for k in keys}  # type: ignore[index]
    assert len(segments) == 1, "one segment name for the metrics, log_metrics and payload objects of a flush"
    assert {layout.parse_key(k)[0].kind for k in keys} == {"metrics", "log_metrics", "payloads"}  # type: ignore[index]
    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    docs = reader.payloads_for("acme", trace.hex())
    assert [sorted(set(d) - {"resource", "scope"}) for d in docs] == [["span"], ["log_record"], ["log_record"]]

    root = tmp_path / "export"
    for key in keys:  # the same tree as the store, for DuckDB (an S3 store is mirrored locally)
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(store.get(key))
    joined = duckdb.sql(
        f"""
        select m.trace_id, m.name, count(l.record_id), sum(l.input_tokens), max(m.input_tokens)
        from read_parquet('{root}/metrics/**/*.parquet', hive_partitioning = true, hive_types_autocast = false) m
        join read_parquet('{root}/log_metrics/**/*.parquet', hive_partitioning = true, hive_types_autocast = false) l
          on l.trace_id = m.trace_id and l.span_id = m.span_id
        group by 1, 2
        """
    ).fetchall()
    assert joined == [(trace.hex(), "chat gpt-4o-mini", 2, 125, 120)]


def test_a_spooled_row_naming_an_unknown_table_is_skipped_as_damage(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown metrics table"):
        SpoolRecord("", "", {}, None, table="payloads")
    writer = SpoolWriter(tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET).new_data_key, fsync=False)
    good = SpoolRecord("", "", {"record_id": "1" * 32}, b"{}", table="log_metrics")
    bad = SpoolRecord("", "", {"record_id": "2" * 32, TABLE_FIELD: "payloads"}, b"{}")  # a well-formed frame, a bad table
    writer.append("acme", "prod", RECEIVED.date(), [good, bad])
    path = writer.seal()
    assert path is not None
    contents = read_spool_file(path)
    assert contents.corrupt_regions == 1
    assert [(row["record_id"], table) for table, rows in contents.groups[0].tables().items() for row in rows] == [("1" * 32, "log_metrics")]
    assert contents.groups[0].table_key("log_metrics").startswith("log_metrics/tenant=acme/env=prod/date=2026-11-28/")


def _mapping() -> MetricsMapping:
    return MetricsMapping.with_overrides({})


def test_an_evaluation_sent_as_a_log_record_lands_in_the_evaluations_table(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    trace, span = os.urandom(16), os.urandom(8)
    attributes = {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75, "gen_ai.evaluation.explanation": f"{BODY_MARKER} why"}
    judged = make_log(trace_id=trace, span_id=span, event_name="gen_ai.evaluation.result", attributes=attributes)
    ingest(sink_for(tmp_path, store), logs_batch("acme", [judged, genai_log(trace, span)], RECEIVED))
    (key,) = [info.key for info in store.list("evaluations/")]
    (row,) = pq.read_table(io.BytesIO(store.get(key))).to_pylist()
    assert (row["source"], row["name"], row["score_value"], row["trace_id"], row["span_id"]) == ("log_record", "relevance", 0.75, trace.hex(), span.hex())
    assert BODY_MARKER not in json.dumps(row, default=str), "the explanation stays in the encrypted payload"
    assert layout.sibling_key(key, "log_metrics") in {info.key for info in store.list("log_metrics/")}
