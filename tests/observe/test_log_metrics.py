"""The log_metrics table beside the span metrics: the shipped views still read spans only, and
DuckDB joins log records to their spans on trace_id, over a store written by the real VaultSink."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

from observe.queries import connect_hive, view_names
from policies.config import SpoolConfig
from redactors.batch import RedactedBatch
from tests.redactors.otlp_builders import make_request, make_span
from tests.vault.logs_builders import DETAILS_EVENT, genai_log, logs_batch, make_log
from vault.keyring import LocalKeyWriter
from vault.sink import VaultSink
from vault.store import LocalStore

RECEIVED = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def write(root: Path, tmp_path: Path) -> list[tuple[bytes, bytes]]:
    """Two chat spans, each with two content events logged in it, and one log record of no trace."""
    ids = [(os.urandom(16), os.urandom(8)) for _ in range(2)]
    spans = []
    for trace, span_id in ids:
        span = make_span(attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 50})
        span.trace_id, span.span_id = trace, span_id
        spans.append(span)
    logs = [genai_log(trace, span_id, tokens=20 + n) for trace, span_id in ids for n in range(2)] + [make_log(event_name="app.started")]
    sink = VaultSink(SpoolConfig(fsync=False, flush_interval_seconds=3600), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", bytes(32)), LocalStore(root))

    async def go() -> None:
        await sink.export(RedactedBatch("acme", "prod", make_request(spans), 2, RECEIVED, "redacted"))
        await sink.export(logs_batch("acme", logs, RECEIVED))
        await sink.flush()

    asyncio.run(go())
    return ids


def test_log_metrics_join_span_metrics_and_views_see_spans_only(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ids = write(root, tmp_path)
    con = connect_hive(root)
    assert con.execute("select count(*) from metrics").fetchone() == (2,), "log rows never reach the metrics relation"
    assert con.execute("select count(*) from log_metrics").fetchone() == (5,)
    for name in view_names():
        if name != "evaluation_scores":  # only created with an evaluations table
            con.execute(f"select * from {name}").fetchall()
    joined = con.execute(
        f"""
        select m.trace_id, m.input_tokens, count(*), sum(l.input_tokens), min(l.event_name)
        from metrics m join log_metrics l on l.trace_id = m.trace_id and l.span_id = m.span_id
        where l.event_name = '{DETAILS_EVENT}'
        group by 1, 2 order by 1
        """
    ).fetchall()
    assert joined == sorted((trace.hex(), 50, 2, 41, DETAILS_EVENT) for trace, _ in ids)
    unmatched = con.execute("select count(*) from log_metrics l anti join metrics m on l.trace_id = m.trace_id").fetchone()
    assert unmatched == (1,), "the record of no trace joins nothing"
