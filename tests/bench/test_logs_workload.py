"""The logs workload (bench/logs.py): the realistic traces' content carried by log records."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from bench.baselines import redact_by_tenant, workload_leaks
from bench.logs import EVENT_NAME, as_logs_request
from bench.workload import REALISTIC, WorkloadGenerator, to_request
from policies.config import parse_config
from redactors.engine import Redactor


def _workload(traces: int = 3):
    return WorkloadGenerator(REALISTIC, seed=5).workload(traces)


def test_one_log_record_per_span_with_its_ids_resource_and_attributes() -> None:
    spans_request = to_request(_workload().spans)
    logs = as_logs_request(spans_request)
    spans = [(rs.resource, s) for rs in spans_request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    records = [(rl.resource, r) for rl in logs.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert len(records) == len(spans) > 0
    for (span_resource, span), (log_resource, record) in zip(spans, records, strict=True):
        assert log_resource == span_resource
        assert (record.trace_id, record.span_id) == (span.trace_id, span.span_id)
        assert list(record.attributes) == list(span.attributes)
        assert record.event_name == EVENT_NAME
        assert record.time_unix_nano == span.end_time_unix_nano


def test_the_leak_check_reads_log_records() -> None:
    workload = _workload()
    logs = as_logs_request(to_request(workload.spans))
    leaks = workload_leaks(workload.traces, [logs])
    assert leaks["planted"] and leaks["leaked"] == leaks["planted"]  # nothing redacted yet: all of it is there


def test_redact_by_tenant_redacts_log_records() -> None:
    workload = _workload()
    logs = as_logs_request(to_request(workload.spans))
    redactor = Redactor.build(parse_config({"defaults": {"entities": ["EMAIL_ADDRESS"]}}), b"k" * 32)
    counts = redact_by_tenant(redactor, logs)
    assert isinstance(logs, ExportLogsServiceRequest)
    assert counts["EMAIL_ADDRESS"] >= len(workload.traces)
    leaks = workload_leaks(workload.traces, [logs])
    assert leaks["planted"]["EMAIL_ADDRESS"] > 0 and "EMAIL_ADDRESS" not in leaks["leaked"]
