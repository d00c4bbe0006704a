"""Metrics-only records of log records: one row per log record, with no free text.

    log_metrics/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet

A row holds identity (tenant, env, a record id, the trace and span ids the record was emitted
in), its time and severity, its event name, the service, the GenAI dimensions when its attributes
carry them (operation, provider, models, tokens: the same sources, coercion and shape checks as
the span metrics, :func:`vault.metrics.attribute_columns`), pseudonymised user and session ids,
per-entity redaction counts and a reference to the encrypted payload. It never holds the body or
any other free text:

- ``severity_text`` is kept only when it is one short word (``INFO``, ``Warning``, ``E``...):
  letters only, at most 16 of them; anything else is ``<redacted>``.
- ``event_name`` is kept only in label shape (``gen_ai.client.inference.operation.details``),
  like every metrics string; anything else is ``<redacted>``.
- ``time`` is the record's ``time_unix_nano``, or its ``observed_time_unix_nano`` when the
  source set none; ``observed_time`` is the latter as sent.
- ``record_id`` (32 hex digits) names the record whether or not it has a trace id; it is fixed
  when the record is spooled, so a replayed spool writes the same id.

Building a row never raises on record data: a column that cannot be computed is null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from vault.metrics import (
    DEFAULT_MAPPING,
    METRICS_SCHEMA,
    REDACTED,
    MetricsMapping,
    attribute_columns,
    guarded,
    hex_id,
    label,
    record_attributes,
    redaction_counts,
    timestamp_ns,
    utc,
)

if TYPE_CHECKING:
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

SCHEMA_VERSION = "1"
_TS = pa.timestamp("ns", tz="UTC")

LOG_METRICS_SCHEMA = pa.schema(
    [
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("env", pa.string(), nullable=False),
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("trace_id", pa.string()),
        pa.field("span_id", pa.string()),
        pa.field("time", _TS),
        pa.field("observed_time", _TS),
        pa.field("severity_number", pa.int32()),
        pa.field("severity_text", pa.string()),
        pa.field("event_name", pa.string()),
        pa.field("service_name", pa.string()),
        pa.field("operation", pa.string()),
        pa.field("provider", pa.string()),
        pa.field("request_model", pa.string()),
        pa.field("response_model", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("user_hash", pa.string()),
        pa.field("session_hash", pa.string()),
        pa.field("redactions", pa.map_(pa.string(), pa.int32()), nullable=False),
        pa.field("payload_ref", pa.string()),
        pa.field("received_at", _TS, nullable=False),
    ],
    metadata={"tracevault.schema": "log_metrics", "tracevault.schema_version": SCHEMA_VERSION},
)

#: The schema of each record table (:data:`vault.layout.RECORD_TABLES`).
TABLE_SCHEMAS = {"metrics": METRICS_SCHEMA, "log_metrics": LOG_METRICS_SCHEMA}

#: The columns fed by attributes, with the span metrics' sources and coercion.
ATTRIBUTE_COLUMNS = (
    "service_name",
    "operation",
    "provider",
    "request_model",
    "response_model",
    "input_tokens",
    "output_tokens",
    "user_hash",
    "session_hash",
)

_SEVERITY_TEXT = re.compile(r"[A-Za-z]{1,16}")
_SEVERITY_MAX = 24  # SEVERITY_NUMBER_FATAL4; 0 is unspecified


def _severity_text(text: str) -> str | None:
    if not text:
        return None
    return text if _SEVERITY_TEXT.fullmatch(text) else REDACTED


def _severity_number(number: int) -> int | None:
    return number if 0 < number <= _SEVERITY_MAX else None


def _event_name(name: str) -> str | None:
    return label(name) if name else None


def log_metrics_row(
    record: LogRecord,
    resource: Resource,
    *,
    tenant: str,
    env: str,
    record_id: str,
    received_at: datetime,
    redactions: Mapping[str, int],
    mapping: MetricsMapping = DEFAULT_MAPPING,
) -> dict[str, Any]:
    """The log_metrics record of one (already redacted) log record, keyed by schema names."""
    attrs = record_attributes(record.attributes, resource.attributes)
    row = attribute_columns(attrs, mapping, ATTRIBUTE_COLUMNS)
    observed = timestamp_ns(int(record.observed_time_unix_nano))
    row |= {
        "tenant": tenant,
        "env": env,
        "record_id": record_id,
        "trace_id": hex_id(record.trace_id),
        "span_id": hex_id(record.span_id),
        "time": timestamp_ns(int(record.time_unix_nano)) or observed,
        "observed_time": observed,
        "severity_number": _severity_number(int(record.severity_number)),
        "severity_text": guarded(lambda: _severity_text(record.severity_text)),
        "event_name": guarded(lambda: _event_name(record.event_name)),
        "redactions": redaction_counts(redactions),
        "payload_ref": None,
        "received_at": utc(received_at),
    }
    return {name: row.get(name) for name in LOG_METRICS_SCHEMA.names}
