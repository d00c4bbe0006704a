"""Small builders for OTLP protobuf requests used across the redactor tests."""

from __future__ import annotations

import json
import os
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from redactors.walker import py_to_any


def value(obj: Any) -> AnyValue:
    return py_to_any(obj)


def kv(key: str, obj: Any) -> KeyValue:
    return KeyValue(key=key, value=value(obj))


def make_span(name: str = "chat gpt-4o-mini", attributes: dict[str, Any] | None = None, events: list[tuple[str, dict[str, Any]]] | None = None) -> Span:
    span = Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
    )
    for key, obj in (attributes or {}).items():
        span.attributes.append(kv(key, obj))
    for event_name, event_attributes in events or []:
        event = span.events.add(name=event_name, time_unix_nano=1_700_000_000_500_000_000)
        for key, obj in event_attributes.items():
            event.attributes.append(kv(key, obj))
    return span


def make_request(spans: list[Span], resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    resource_spans = ResourceSpans()
    for key, obj in (resource or {"service.name": "support-bot"}).items():
        resource_spans.resource.attributes.append(kv(key, obj))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "test"
    scope.spans.extend(spans)
    return ExportTraceServiceRequest(resource_spans=[resource_spans])


def make_log_record(
    body: Any = None, attributes: dict[str, Any] | None = None, event_name: str = "", severity_text: str = "INFO"
) -> LogRecord:
    record = LogRecord(
        time_unix_nano=1_700_000_000_000_000_000,
        observed_time_unix_nano=1_700_000_000_100_000_000,
        severity_number=9,
        severity_text=severity_text,
        event_name=event_name,
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
    )
    if body is not None:
        record.body.CopyFrom(value(body))
    for key, obj in (attributes or {}).items():
        record.attributes.append(kv(key, obj))
    return record


def make_log_request(
    records: list[LogRecord], resource: dict[str, Any] | None = None, scope_attributes: dict[str, Any] | None = None
) -> ExportLogsServiceRequest:
    resource_logs = ResourceLogs()
    for key, obj in (resource or {"service.name": "support-bot"}).items():
        resource_logs.resource.attributes.append(kv(key, obj))
    scope = resource_logs.scope_logs.add()
    scope.scope.name = "test"
    for key, obj in (scope_attributes or {}).items():
        scope.scope.attributes.append(kv(key, obj))
    scope.log_records.extend(records)
    return ExportLogsServiceRequest(resource_logs=[resource_logs])


def attribute(span: Span, key: str) -> AnyValue:
    for item in span.attributes:
        if item.key == key:
            return item.value
    raise KeyError(key)


def attributes_text(span: Span) -> str:
    """Every string in a span, flattened, for leak checks."""
    return json.dumps(
        [span.name, span.status.message]
        + [str(item) for item in span.attributes]
        + [str(item) for event in span.events for item in event.attributes],
        ensure_ascii=False,
    )


def counts(span: Span) -> dict[str, int]:
    prefix = "tracevault.redactions."
    return {item.key[len(prefix):]: item.value.int_value for item in span.attributes if item.key.startswith(prefix)}
