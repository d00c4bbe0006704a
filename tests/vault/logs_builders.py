"""Log batches for the vault tests, built straight from ExportLogsServiceRequest protobufs.

The vault stores what the redaction step hands it, so these batches are built as the step would
hand them over: content already masked (``<EMAIL_ADDRESS>``), ids already keyed pseudonyms,
redaction counts as ``tracevault.redactions.*`` attributes. No NER model is loaded.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from redactors.batch import SIGNAL_LOGS, RedactedBatch
from tests.redactors.otlp_builders import make_log_record, make_log_request

DETAILS_EVENT = "gen_ai.client.inference.operation.details"
#: Content of every log body: it must be in the payload and in no metrics cell.
BODY_MARKER = "log-body-marker-5521"


def make_log(
    *,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    event_name: str = DETAILS_EVENT,
    body: Any = None,
    attributes: dict[str, Any] | None = None,
    severity_number: int = 9,
    severity_text: str = "INFO",
    time_unix_nano: int = 1_700_000_000_250_000_000,
    observed_time_unix_nano: int = 1_700_000_000_300_000_000,
) -> LogRecord:
    """`make_log_record` with the fields the vault's rows are made of; no trace context unless given."""
    default_body = {"messages": [{"role": "user", "content": f"{BODY_MARKER} mail <EMAIL_ADDRESS>"}]}
    record = make_log_record(body if body is not None else default_body, attributes, event_name, severity_text)
    record.trace_id, record.span_id = trace_id or b"", span_id or b""
    record.severity_number = severity_number
    record.time_unix_nano, record.observed_time_unix_nano = time_unix_nano, observed_time_unix_nano
    return record


def genai_log(trace_id: bytes | None = None, span_id: bytes | None = None, *, user: str | None = None, tokens: int = 120, **extra: Any) -> LogRecord:
    """A GenAI content event, as `opentelemetry-util-genai` emits it in EVENT_ONLY mode."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": tokens,
        "gen_ai.usage.output_tokens": 9,
        "tracevault.redactions.EMAIL_ADDRESS": 1,
    }
    if user is not None:
        attributes["user.id"] = user
    attributes.update(extra.pop("attributes", {}))
    return make_log(trace_id=trace_id or os.urandom(16), span_id=span_id or os.urandom(8), attributes=attributes, **extra)


def logs_batch(
    tenant: str,
    records: list[LogRecord],
    received: datetime,
    *,
    env: str = "prod",
    mode: str = "redacted",
    escrow: ExportLogsServiceRequest | None = None,
) -> RedactedBatch:
    request = make_log_request(records)
    return RedactedBatch(tenant, env, request, len(records), received, mode, escrow, signal=SIGNAL_LOGS)
