"""Logs in and out, with the OpenTelemetry SDK's own OTLP log exporters as clients.

The SDK's LoggerProvider records GenAI event log records (PII and a secret in the body and in
the attributes, an identifier, token counts, inside a span); the SDK's OTLP/HTTP and OTLP/gRPC
`OTLPLogExporter` send them to a running sidecar, which forwards them to the recording next hop
at its `/v1/logs`. What arrives there holds none of the planted values and all of the structure.
The error paths of both receivers run for logs in test_http_receiver.py and test_grpc_receiver.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import requests
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from redactors.anyvalue import any_to_py
from sidecar import otlp
from tests.sidecar.conftest import (
    EMAIL,
    OPENAI_KEY,
    PERSON,
    USER_ID,
    WAIT_SECONDS,
    NextHop,
    Sidecar,
    attributes_of,
    json_logs_request,
    pseudonym,
)
from vault.reader import VaultReader
from vault.store import LocalStore

EVENT = "gen_ai.client.inference.operation.details"
PHONE = "+1 212-555-0147"


def genai_log_records() -> tuple[list[ReadableLogRecord], bytes, bytes]:
    """Finished SDK log records, emitted inside a span: a GenAI event with a structured body, one
    with a JSON-string body, and a plain string log line. Returns them with the span's ids."""
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "chatbot", "enduser.id": USER_ID}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("opentelemetry.instrumentation.openai_v2", "2.1b0")
    tracer = TracerProvider().get_tracer("app")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        logger.emit(
            event_name=EVENT,
            severity_number=SeverityNumber.INFO,
            body={
                "input": [{"role": "user", "parts": [{"type": "text", "content": f"Hi, I am {PERSON}. Mail {EMAIL}"}]}],
                "output": [{"role": "assistant", "finish_reason": "stop", "parts": [{"type": "text", "content": "Done."}]}],
            },
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 57,
                "gen_ai.usage.output_tokens": 12,
                "user.id": USER_ID,
                "gen_ai.tool.call.arguments": json.dumps({"query": f"auth with {OPENAI_KEY}", "limit": 5}),
            },
        )
        logger.emit(
            event_name="gen_ai.user.message",
            severity_number=SeverityNumber.INFO,
            body=json.dumps({"content": f"call me at {PHONE}", "role": "user"}),
        )
        logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body=f"retrying for {EMAIL}")
        context = span.get_span_context()
    provider.shutdown()
    records = list(memory.get_finished_logs())
    assert len(records) == 3
    return records, context.trace_id.to_bytes(16, "big"), context.span_id.to_bytes(8, "big")


def _assert_forwarded_logs_are_redacted(next_hop: NextHop, trace_id: bytes, span_id: bytes) -> None:
    (received,) = next_hop.received
    assert received.path == "/v1/logs"
    assert received.headers["x-tenant-id"] == "acme"
    records = received.records()
    assert len(records) == 3
    assert {(r.trace_id, r.span_id) for r in records} == {(trace_id, span_id)}  # ids untouched
    by_event = {r.event_name: r for r in records}
    details = by_event[EVENT]
    attributes = attributes_of(details)
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.usage.input_tokens"] == 57
    assert attributes["gen_ai.usage.output_tokens"] == 12
    assert attributes["user.id"] == pseudonym("acme", USER_ID)
    arguments = json.loads(attributes["gen_ai.tool.call.arguments"])
    assert "<SECRET:" in arguments["query"] and arguments["limit"] == 5
    body = any_to_py(details.body)
    assert body["input"][0]["role"] == "user"
    user_text = body["input"][0]["parts"][0]["content"]
    assert "<EMAIL_ADDRESS>" in user_text and "<PERSON>" in user_text
    assert body["output"][0]["parts"][0]["content"] == "Done."
    assert details.severity_number == SeverityNumber.INFO.value
    assert attributes["tracevault.redactions.EMAIL_ADDRESS"] == 1
    message = json.loads(by_event["gen_ai.user.message"].body.string_value)  # a JSON-string body stays one
    assert message["role"] == "user" and PHONE not in message["content"]
    line = by_event[""]
    assert line.severity_text == "WARN" and line.body.string_value == "retrying for <EMAIL_ADDRESS>"
    resource = attributes_of(received.request.resource_logs[0].resource)
    assert resource["service.name"] == "chatbot"
    assert resource["enduser.id"] == pseudonym("acme", USER_ID)
    raw = received.request.SerializeToString()
    for needle in (EMAIL, OPENAI_KEY, USER_ID, PERSON, PHONE, "212-555-0147"):
        assert needle.encode() not in raw


@pytest.mark.parametrize("compression", [Compression.Gzip, Compression.NoCompression], ids=["gzip", "identity"])
def test_sdk_http_log_exporter_end_to_end(sidecar: Sidecar, next_hop: NextHop, compression: Compression) -> None:
    records, trace_id, span_id = genai_log_records()
    exporter = HttpLogExporter(endpoint=sidecar.logs_url, compression=compression, headers={"X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
    try:
        assert exporter.export(records) == LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _assert_forwarded_logs_are_redacted(next_hop, trace_id, span_id)
    assert next_hop.received[0].headers["content-encoding"] == "gzip"  # the forward config compresses


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip], ids=["identity", "gzip"])
def test_sdk_grpc_log_exporter_end_to_end(sidecar: Sidecar, next_hop: NextHop, compression: grpc.Compression) -> None:
    records, trace_id, span_id = genai_log_records()
    exporter = GrpcLogExporter(
        endpoint=sidecar.grpc_target, insecure=True, headers=(("x-tenant-id", "acme"),), compression=compression, timeout=WAIT_SECONDS
    )
    try:
        assert exporter.export(records) == LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _assert_forwarded_logs_are_redacted(next_hop, trace_id, span_id)


def test_sdk_http_log_exporter_with_the_sdk_pipeline(sidecar: Sidecar, next_hop: NextHop) -> None:
    """The exporter driven by the SDK's own processor, as an application would run it."""
    provider = LoggerProvider(resource=Resource.create({"service.name": "chatbot"}))
    exporter = HttpLogExporter(endpoint=sidecar.logs_url, headers={"X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("app").emit(body=f"order for {EMAIL}", attributes={"user.id": USER_ID}, severity_number=SeverityNumber.INFO)
    provider.shutdown()
    (received,) = next_hop.received
    (record,) = received.records()
    assert record.body.string_value == "order for <EMAIL_ADDRESS>"
    assert attributes_of(record)["user.id"] == pseudonym("acme", USER_ID)


def test_logs_and_traces_go_to_their_own_next_hop_paths(sidecar: Sidecar, next_hop: NextHop) -> None:
    from tests.sidecar.conftest import json_request

    for signal, document in ((otlp.LOGS, json_logs_request()), (otlp.TRACES, json_request())):
        response = requests.post(sidecar.url(signal), json=document, headers={"X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
        assert response.status_code == 200
    assert [(r.path, r.signal) for r in next_hop.received] == [("/v1/logs", otlp.LOGS), ("/v1/traces", otlp.TRACES)]


def test_explicit_logs_endpoint_is_used(make_sidecar, next_hop: NextHop) -> None:
    server = make_sidecar(
        {"forward": {"endpoint": f"http://127.0.0.1:{next_hop.port}/api/spans", "logs_endpoint": f"http://127.0.0.1:{next_hop.port}/api/logs/v1/logs"}}
    )
    response = requests.post(server.logs_url, json=json_logs_request(), timeout=WAIT_SECONDS)
    assert response.status_code == 200
    # The next hop decodes by the /v1/logs suffix of the path it was given.
    assert [r.path for r in next_hop.attempts] == ["/api/logs/v1/logs"]


def test_logs_refused_by_the_next_hop_are_counted_per_signal(sidecar: Sidecar, next_hop: NextHop) -> None:
    before = sidecar.metric("tracevault_spans_dropped_total", reason="forward_refused", signal="logs")
    traces_before = sidecar.metric("tracevault_spans_dropped_total", reason="forward_refused", signal="traces")
    next_hop.fail_next(1, status=400)
    response = requests.post(sidecar.logs_url, json=json_logs_request([({"service.name": "x"}, 2)]), timeout=WAIT_SECONDS)
    assert response.status_code == 200  # refused for good by the next hop: acknowledged, counted, not looped
    assert len(next_hop.attempts) == 1
    assert sidecar.metric("tracevault_spans_dropped_total", reason="forward_refused", signal="logs") == before + 2
    assert sidecar.metric("tracevault_spans_dropped_total", reason="forward_refused", signal="traces") == traces_before


def test_the_vault_stores_logs_batches_and_forwards_them(make_sidecar, next_hop: NextHop) -> None:
    """A logs batch is stored by the vault (log_metrics rows, no content in them) and the
    forwarder (behind the vault, in the background) still sends it on."""
    server = make_sidecar({"vault_enabled": True, "spool": {"fsync": True, "flush_interval_seconds": 0.2}})
    response = requests.post(server.logs_url, json=json_logs_request([({"service.name": "x"}, 3)]), timeout=WAIT_SECONDS)
    assert response.status_code == 200
    next_hop.wait_for_attempts(1)
    assert next_hop.attempts[0].path == "/v1/logs"
    reader = VaultReader(LocalStore(Path(server.config.data_dir) / "store"))
    deadline = time.monotonic() + WAIT_SECONDS
    while not (rows := reader.read_metrics("default", table="log_metrics").to_pylist()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [r["span_id"] for r in rows] == [f"{n:016x}" for n in (1, 2, 3)]
    assert {r["event_name"] for r in rows} == {"gen_ai.client.inference.operation.details"}
    assert all(dict(r["redactions"]).get("EMAIL_ADDRESS") for r in rows)
    assert EMAIL not in json.dumps(rows, default=str) and PERSON not in json.dumps(rows, default=str)
    assert reader.read_metrics("default").num_rows == 0, "log records never become span rows"


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        pytest.param(lambda d: d["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0].update(spanId="abc"), 400, id="bad-span-id"),
        pytest.param(lambda d: d["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0].update(traceId=""), 200, id="no-trace-context"),
        pytest.param(lambda d: d.update(resourceLogs={"not": "a list"}), 400, id="resource-logs-not-a-list"),
    ],
)
def test_logs_json_shapes(sidecar: Sidecar, next_hop: NextHop, mutate: Callable[[dict], None], status: int) -> None:
    document = json_logs_request()
    mutate(document)
    response = requests.post(sidecar.logs_url, json=document, timeout=WAIT_SECONDS)
    assert response.status_code == status
    assert len(next_hop.received) == (1 if status == 200 else 0)
