"""The logs workload (issue 15): the same traces, with their content carried by log records.

Instrumentations that follow the GenAI conventions' event mode (`opentelemetry-util-genai`'s
`EVENT_ONLY`) emit one `gen_ai.client.inference.operation.details` log record per operation,
holding the messages and the GenAI attributes that the span would otherwise hold. This module
turns each span of a bench request into such a log record: same resource, scope, trace and span
ids, the span's attributes as the record's attributes. Naive Presidio's sample is the same
string values, so the `ner_logs` row is compared with `naive_realistic` on equal text.
"""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SEVERITY_NUMBER_INFO

EVENT_NAME = "gen_ai.client.inference.operation.details"


def as_logs_request(request: ExportTraceServiceRequest) -> ExportLogsServiceRequest:
    """One log record per span, with the span's content attributes, ids and end time."""
    logs = ExportLogsServiceRequest()
    for resource_spans in request.resource_spans:
        resource_logs = logs.resource_logs.add()
        resource_logs.resource.CopyFrom(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            scope_logs = resource_logs.scope_logs.add()
            scope_logs.scope.CopyFrom(scope_spans.scope)
            for span in scope_spans.spans:
                record = scope_logs.log_records.add()
                record.time_unix_nano = span.end_time_unix_nano
                record.observed_time_unix_nano = span.end_time_unix_nano
                record.trace_id = span.trace_id
                record.span_id = span.span_id
                record.event_name = EVENT_NAME
                record.severity_number = SEVERITY_NUMBER_INFO
                record.severity_text = "INFO"
                record.attributes.extend(span.attributes)
    return logs
