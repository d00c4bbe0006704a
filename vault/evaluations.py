"""Evaluation and feedback rows: ``gen_ai.evaluation.result`` events as a Parquet table.

    evaluations/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet

One row per event: the evaluation's name, its score value and label, and the trace and span it
judges. The event's free-text ``gen_ai.evaluation.explanation`` never goes into the row; it
stays in the span's encrypted payload (redacted like any content).

:func:`evaluation_row` takes an event's attributes and the trace and span it belongs to, so a
span event and a log record (whose trace and span ids are its own context) feed it alike.
Values are read from the redacted span and kept only in label shape, like every metrics string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from vault import layout
from vault.derived import finite_number, plain
from vault.parquet import table_to_parquet

EVALUATION_EVENT = "gen_ai.evaluation.result"
SCHEMA_VERSION = "1"
#: The key under which a metrics record carries its span's evaluation rows through the spool.
SPOOL_FIELD = "evaluations"
_TS = pa.timestamp("ns", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_PER_SPAN = 64

EVALUATIONS_SCHEMA = pa.schema(
    [
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("env", pa.string(), nullable=False),
        pa.field("trace_id", pa.string()),
        pa.field("span_id", pa.string()),
        pa.field("name", pa.string()),
        pa.field("score_value", pa.float64()),
        pa.field("score_label", pa.string()),
        pa.field("response_id", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("event_time", _TS),
        pa.field("received_at", _TS, nullable=False),
    ],
    metadata={"tracevault.schema": "evaluations", "tracevault.schema_version": SCHEMA_VERSION},
)


def evaluation_row(
    attributes: Iterable[Any],
    *,
    trace_id: bytes,
    span_id: bytes,
    time_unix_nano: int,
    source: str,
    tenant: str,
    env: str,
    received_at: datetime,
    label: Callable[[str], str | None],
) -> dict[str, Any]:
    """One evaluations row from an event's (or log record's) attributes; strings in label shape."""
    fields = {kv.key: kv.value for kv in attributes}

    def text(key: str) -> str | None:
        value = plain(fields.get(key))
        return label(value) if isinstance(value, str) else None

    event_time = _EPOCH + timedelta(microseconds=time_unix_nano // 1000) if 0 < time_unix_nano < 2**63 else None
    return {
        "tenant": tenant,
        "env": env,
        "trace_id": trace_id.hex() or None,
        "span_id": span_id.hex() or None,
        "name": text("gen_ai.evaluation.name"),
        "score_value": finite_number(fields.get("gen_ai.evaluation.score.value")),
        "score_label": text("gen_ai.evaluation.score.label"),
        "response_id": text("gen_ai.response.id"),
        "source": source,
        "event_time": event_time,
        "received_at": received_at.astimezone(timezone.utc),
    }


def span_evaluation_rows(span: Any, *, tenant: str, env: str, received_at: datetime, label: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Rows for a span's ``gen_ai.evaluation.result`` events; they judge the span they sit on."""
    rows = []
    for event in span.events:
        if event.name != EVALUATION_EVENT:
            continue
        rows.append(
            evaluation_row(
                event.attributes, trace_id=span.trace_id, span_id=span.span_id, time_unix_nano=int(event.time_unix_nano),
                source="span_event", tenant=tenant, env=env, received_at=received_at, label=label,
            )
        )
        if len(rows) >= _MAX_PER_SPAN:
            break
    return rows


def log_evaluation_row(record: Any, *, tenant: str, env: str, received_at: datetime, label: Callable[[str], str | None]) -> dict[str, Any]:
    """The row of a ``gen_ai.evaluation.result`` log record; it judges the span it was emitted in."""
    return evaluation_row(
        record.attributes, trace_id=record.trace_id, span_id=record.span_id,
        time_unix_nano=int(record.time_unix_nano or record.observed_time_unix_nano),
        source="log_record", tenant=tenant, env=env, received_at=received_at, label=label,
    )


def evaluations_key(metrics_key: str) -> str:
    """The evaluations object that sits beside a metrics object (same partition and segment)."""
    parsed = layout.parse_key(metrics_key)
    if parsed is None or parsed[0].kind != "metrics" or parsed[0].env is None:
        raise ValueError("not a metrics key")
    partition, segment = parsed
    return layout.evaluations_key(partition.tenant, partition.env, partition.day, segment)


def rows_to_parquet(rows: Iterable[Mapping[str, Any]]) -> bytes:
    prepared = []
    for index, row in enumerate(rows):
        unknown = set(row) - set(EVALUATIONS_SCHEMA.names)
        if unknown:
            raise ValueError(f"evaluations row {index} has unknown columns: {sorted(unknown)}")
        prepared.append({name: row.get(name) for name in EVALUATIONS_SCHEMA.names})
    return table_to_parquet(pa.Table.from_pylist(prepared, schema=EVALUATIONS_SCHEMA))
