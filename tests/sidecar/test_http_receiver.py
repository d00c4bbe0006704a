"""OTLP/HTTP receiver, end to end: the OpenTelemetry SDK's exporter -> sidecar -> next hop.

Then every error path with a raw HTTP client: the status, the body (google.rpc.Status in the
request's encoding) and what reached the next hop. A test that takes `signal` runs for
POST /v1/traces and for POST /v1/logs (the SDK's log exporter is in test_logs_receivers.py).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import zlib

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from policies.config import parse_config
from sidecar import otlp
from sidecar.http_receiver import make_app
from sidecar.metrics import Metrics
from sidecar.pipeline import Pipeline
from tests.sidecar.conftest import (
    EMAIL,
    KIB,
    OPENAI_KEY,
    PERSON,
    USER_ID,
    WAIT_SECONDS,
    NextHop,
    Sidecar,
    attributes_of,
    free_port,
    genai_spans,
    json_document,
    pseudonym,
    records_of,
)

PB = {"Content-Type": otlp.PROTOBUF}
JS = {"Content-Type": otlp.JSON}


def _forwarded_spans(hop: NextHop) -> dict[bytes, object]:
    return {span.span_id: span for received in hop.received for span in received.spans()}


@pytest.mark.parametrize("compression", [Compression.Gzip, Compression.NoCompression], ids=["gzip", "identity"])
def test_sdk_exporter_end_to_end(sidecar: Sidecar, next_hop: NextHop, compression: Compression) -> None:
    spans = genai_spans()
    exporter = OTLPSpanExporter(
        endpoint=sidecar.traces_url, compression=compression, headers={"X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS
    )
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()

    assert len(next_hop.received) == 1
    received = next_hop.received[0]
    assert received.headers["x-tenant-id"] == "acme"
    assert received.headers["content-encoding"] == "gzip"  # the forward config compresses
    assert attributes_of(received.request.resource_spans[0].resource)["service.name"] == "chatbot"

    forwarded = _forwarded_spans(next_hop)
    assert len(forwarded) == 2
    for sdk_span in spans:
        span_id = sdk_span.context.span_id.to_bytes(8, "big")
        out = forwarded[span_id]  # span ids unchanged
        assert out.trace_id == sdk_span.context.trace_id.to_bytes(16, "big")
        if sdk_span.parent is not None:
            assert out.parent_span_id == sdk_span.parent.span_id.to_bytes(8, "big")
        assert out.name == sdk_span.name
        assert out.start_time_unix_nano == sdk_span.start_time

    chat = next(s for s in forwarded.values() if s.name == "chat gpt-4o")
    attributes = attributes_of(chat)
    # structure, model names, token counts, tool names: intact
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.usage.input_tokens"] == 57
    assert attributes["gen_ai.usage.output_tokens"] == 12
    assert attributes["gen_ai.tool.name"] == "lookup_account"
    assert attributes["gen_ai.operation.name"] == "chat"
    # the identifier is a keyed pseudonym of this tenant
    assert attributes["user.id"] == pseudonym("acme", USER_ID)
    assert attributes["user.id"].startswith("pn:")
    # content: masked in place, JSON shape and roles kept
    messages = json.loads(attributes["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["parts"][0]["content"] == "You are a helpful support bot."
    user_text = messages[1]["parts"][0]["content"]
    assert EMAIL not in user_text and "Sarah" not in user_text
    assert "<EMAIL_ADDRESS>" in user_text and "<PERSON>" in user_text
    arguments = json.loads(attributes["gen_ai.tool.call.arguments"])
    assert OPENAI_KEY not in arguments["query"]
    assert "<SECRET:" in arguments["query"]
    assert arguments["limit"] == 5
    # per-span redaction counts
    assert attributes["tracevault.redactions.EMAIL_ADDRESS"] == 1
    assert attributes["tracevault.redactions.PERSON"] == 1
    assert attributes["tracevault.redactions.SECRET"] == 1
    assert attributes["tracevault.redactions.IDENTIFIER"] == 1
    # nothing sensitive anywhere in the forwarded bytes
    raw = received.request.SerializeToString()
    for needle in (EMAIL, OPENAI_KEY, USER_ID, PERSON):
        assert needle.encode() not in raw


def test_sdk_exporter_deflate_is_refused_not_retried(sidecar: Sidecar, next_hop: NextHop) -> None:
    exporter = OTLPSpanExporter(endpoint=sidecar.traces_url, compression=Compression.Deflate, timeout=WAIT_SECONDS)
    try:
        assert exporter.export(genai_spans()) == SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    assert next_hop.attempts == []


def _status(response: requests.Response) -> status_pb2.Status:
    if response.headers["Content-Type"].startswith(otlp.JSON):
        return json_format.Parse(response.content, status_pb2.Status())
    return status_pb2.Status.FromString(response.content)


def _proto_body(document: dict | None = None, signal: otlp.Signal = otlp.TRACES) -> bytes:
    return otlp.request_from_json_document(document or json_document(signal), signal).SerializeToString()


def _post(sidecar: Sidecar, body: bytes, headers: dict[str, str], signal: otlp.Signal = otlp.TRACES) -> requests.Response:
    return requests.post(sidecar.url(signal), data=body, headers=headers, timeout=WAIT_SECONDS)


def _response(response: requests.Response, signal: otlp.Signal) -> Message:
    """The Export*ServiceResponse of a 200, in the request's encoding."""
    if response.headers["Content-Type"].startswith(otlp.JSON):
        return json_format.Parse(response.content, signal.response_type())
    return signal.response_type.FromString(response.content)


def _rejected(response: Message, signal: otlp.Signal) -> int:
    return getattr(response.partial_success, signal.rejected_field)


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("gzipped", [False, True], ids=["identity", "gzip"])
def test_success_response_is_in_the_request_encoding(
    sidecar: Sidecar, next_hop: NextHop, encoding: str, gzipped: bool, signal: otlp.Signal
) -> None:
    document = json_document(signal)
    body = json.dumps(document).encode() if encoding == "json" else _proto_body(document, signal)
    headers = dict(JS if encoding == "json" else PB, **{"X-Tenant-Id": "acme"})
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    response = _post(sidecar, body, headers, signal)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(otlp.JSON if encoding == "json" else otlp.PROTOBUF)
    assert not _response(response, signal).HasField("partial_success")

    (received,) = next_hop.received
    assert received.path == signal.path and received.signal is signal
    (span,) = received.records()
    assert span.trace_id.hex() == records_of(document)[0]["traceId"]
    assert span.span_id.hex() == records_of(document)[0]["spanId"]
    attributes = attributes_of(span)
    assert attributes["user.id"] == pseudonym("acme", USER_ID)
    assert attributes["gen_ai.usage.input_tokens"] == 57  # a 64-bit int sent as a string
    assert attributes["gen_ai.usage.output_tokens"] == 12  # ... and as a number
    assert EMAIL not in attributes["gen_ai.input.messages"]


def test_content_type_parameters_are_accepted(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    response = _post(sidecar, json.dumps(json_document(signal)).encode(), {"Content-Type": "application/json; charset=utf-8"}, signal)
    assert response.status_code == 200
    assert len(next_hop.received) == 1


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", PB, id="protobuf-bad-varint"),
        pytest.param(b"\x0a\x64abc", PB, id="protobuf-truncated"),
        pytest.param(b"{not json", JS, id="json-syntax"),
        pytest.param(b"[]", JS, id="json-not-an-object"),
        pytest.param(lambda signal: json.dumps(json_document(signal, trace_id="zz" * 16)).encode(), JS, id="json-bad-trace-id"),
        pytest.param(lambda signal: json.dumps(json_document(signal, trace_id="ab" * 4)).encode(), JS, id="json-short-trace-id"),
        pytest.param(gzip.compress(b"x")[:-3], dict(PB, **{"Content-Encoding": "gzip"}), id="gzip-truncated"),
        pytest.param(b"plain bytes", dict(PB, **{"Content-Encoding": "gzip"}), id="gzip-not-gzip"),
    ],
)
def test_bad_data_is_400(sidecar: Sidecar, next_hop: NextHop, body: bytes, headers: dict[str, str], signal: otlp.Signal) -> None:
    response = _post(sidecar, body(signal) if callable(body) else body, headers, signal)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith(headers["Content-Type"])
    status = _status(response)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message
    assert next_hop.attempts == []


def test_bad_json_value_error_does_not_echo_content(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    document = json_document(signal)
    records_of(document)[0]["attributes"].append({"key": "k", "value": {"doubleValue": EMAIL}})
    response = _post(sidecar, json.dumps(document).encode(), JS, signal)
    assert response.status_code == 400
    assert "sarah" not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "text/plain"}, id="text-plain"),
        pytest.param({"Content-Type": "application/grpc"}, id="grpc"),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="form"),
        pytest.param(dict(PB, **{"Content-Encoding": "br"}), id="brotli"),
        pytest.param(dict(PB, **{"Content-Encoding": "deflate"}), id="deflate"),
        pytest.param(dict(JS, **{"Content-Encoding": "zstd"}), id="zstd-json"),
    ],
)
def test_unsupported_media_is_415(sidecar: Sidecar, next_hop: NextHop, headers: dict[str, str], signal: otlp.Signal) -> None:
    response = _post(sidecar, _proto_body(signal=signal), headers, signal)
    assert response.status_code == 415
    assert _status(response).code == code_pb2.INVALID_ARGUMENT
    assert next_hop.attempts == []


def test_unsupported_encoding_with_json_answers_json(sidecar: Sidecar, signal: otlp.Signal) -> None:
    response = _post(sidecar, b"{}", dict(JS, **{"Content-Encoding": "br"}), signal)
    assert response.status_code == 415
    assert response.headers["Content-Type"].startswith(otlp.JSON)
    assert "gzip" in _status(response).message


def test_body_over_max_body_bytes_is_413(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    limit = sidecar.config.server.max_body_bytes
    response = _post(sidecar, b"\x00" * (limit + 1), PB, signal)
    assert response.status_code == 413
    assert _status(response).code == code_pb2.RESOURCE_EXHAUSTED
    assert next_hop.attempts == []


def test_chunked_body_over_max_body_bytes_is_413(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    # No Content-Length: the limit must be enforced while reading.
    limit = sidecar.config.server.max_body_bytes

    def chunks():
        for _ in range(limit // (16 * KIB) + 2):
            yield b"\x00" * (16 * KIB)

    try:
        response = requests.post(sidecar.url(signal), data=chunks(), headers=PB, timeout=WAIT_SECONDS)
    except requests.ConnectionError:
        pass  # the server may close the connection while the client is still sending
    else:
        assert response.status_code == 413
    assert next_hop.attempts == []
    assert _post(sidecar, _proto_body(signal=signal), PB, signal).status_code == 200  # still serving


def test_gzip_bomb_is_413_and_the_server_keeps_serving(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(bytes(1024 * KIB)) for _ in range(50)) + compressor.flush()  # 50 MiB
    assert len(bomb) < sidecar.config.server.max_body_bytes  # passes the wire limit
    response = _post(sidecar, bomb, dict(PB, **{"Content-Encoding": "gzip"}), signal)
    assert response.status_code == 413
    assert _status(response).code == code_pb2.RESOURCE_EXHAUSTED
    assert next_hop.attempts == []
    assert sidecar.metric("tracevault_requests_total", transport="http", outcome="too_large", signal=signal.name) >= 1

    response = _post(sidecar, gzip.compress(_proto_body(signal=signal)), dict(PB, **{"Content-Encoding": "gzip"}), signal)
    assert response.status_code == 200
    assert len(next_hop.received) == 1


def test_identity_body_over_decompressed_limit_is_413(make_sidecar, signal: otlp.Signal) -> None:
    server = make_sidecar({"server": {"max_body_bytes": 64 * KIB, "max_decompressed_bytes": 8 * KIB, "grpc_enabled": False}})
    response = _post(server, b"\x00" * (9 * KIB), PB, signal)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param("X-Tenant-Id", "Acme Corp", id="tenant-space-upper"),
        pytest.param("X-Tenant-Id", "..", id="tenant-dotdot"),
        pytest.param("X-Tenant-Id", "../etc", id="tenant-traversal"),
        pytest.param("X-Tenant-Id", "a" * 64, id="tenant-too-long"),
        pytest.param("X-Tracevault-Env", "prod/eu", id="env-slash"),
    ],
)
def test_invalid_tenant_header_is_400(sidecar: Sidecar, next_hop: NextHop, header: str, value: str, signal: otlp.Signal) -> None:
    response = _post(sidecar, _proto_body(signal=signal), dict(PB, **{header: value}), signal)
    assert response.status_code == 400
    status = _status(response)
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert header in status.message and "must match" in status.message
    if value:
        assert value not in status.message  # the message names the rule, not the value
    assert next_hop.attempts == []


def test_empty_tenant_header_means_not_given(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    # A collector's headers_setter with no value for a request sends an empty header: the
    # resource attribute decides instead of a 400 that the collector would never retry.
    document = json_document(signal, [({"service.name": "a", "tenant.id": "acme"}, 1)])
    response = _post(sidecar, json.dumps(document).encode(), {**JS, "X-Tenant-Id": ""}, signal)
    assert response.status_code == 200
    (received,) = next_hop.received
    assert received.headers["x-tenant-id"] == "acme"


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_invalid_resource_tenant_is_partial_success(sidecar: Sidecar, next_hop: NextHop, encoding: str, signal: otlp.Signal) -> None:
    document = json_document(signal, [({"service.name": "a", "tenant.id": "Not Valid!"}, 2), ({"service.name": "b", "tenant.id": "acme"}, 1)])
    body = json.dumps(document).encode() if encoding == "json" else _proto_body(document, signal)
    response = _post(sidecar, body, JS if encoding == "json" else PB, signal)
    assert response.status_code == 200
    parsed = _response(response, signal)
    assert _rejected(parsed, signal) == 2
    if encoding == "json":  # the OTLP/JSON field name of the signal's partial success
        expected = "rejectedLogRecords" if signal is otlp.LOGS else "rejectedSpans"
        assert json.loads(response.content)["partialSuccess"][expected] in ("2", 2)
    assert "tenant.id" in parsed.partial_success.error_message
    assert "Not Valid" not in parsed.partial_success.error_message
    assert sidecar.metric("tracevault_spans_rejected_total", reason="invalid_tenant", signal=signal.name) >= 2

    (received,) = next_hop.received
    assert received.headers["x-tenant-id"] == "acme"
    (resource,) = signal.resources(received.request)
    assert attributes_of(resource.resource)["service.name"] == "b"
    (span,) = received.records()
    assert attributes_of(span)["user.id"] == pseudonym("acme", USER_ID)


def test_resources_of_two_tenants_are_forwarded_separately(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    document = json_document(signal, [({"tenant.id": "alpha"}, 1), ({"tenant.id": "beta"}, 2)])
    response = _post(sidecar, _proto_body(document, signal), PB, signal)
    assert response.status_code == 200
    assert not _response(response, signal).HasField("partial_success")
    by_tenant = {r.headers["x-tenant-id"]: r for r in next_hop.received}
    assert set(by_tenant) == {"alpha", "beta"}
    assert len(by_tenant["beta"].records()) == 2
    alpha_user = attributes_of(by_tenant["alpha"].records()[0])["user.id"]
    beta_user = attributes_of(by_tenant["beta"].records()[0])["user.id"]
    assert alpha_user == pseudonym("alpha", USER_ID)
    assert beta_user == pseudonym("beta", USER_ID)
    assert alpha_user != beta_user  # the same user is unlinkable across tenants


def test_header_tenant_wins_over_resource_attribute(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    document = json_document(signal, [({"tenant.id": "Not Valid!"}, 1)])
    response = _post(sidecar, _proto_body(document, signal), dict(PB, **{"X-Tenant-Id": "acme"}), signal)
    assert response.status_code == 200
    assert not _response(response, signal).HasField("partial_success")
    assert [r.headers["x-tenant-id"] for r in next_hop.received] == ["acme"]


def test_no_tenant_anywhere_uses_the_default_tenant(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    response = _post(sidecar, _proto_body(signal=signal), PB, signal)
    assert response.status_code == 200
    (received,) = next_hop.received
    assert received.headers["x-tenant-id"] == sidecar.config.tenancy.default_tenant
    assert attributes_of(received.records()[0])["user.id"] == pseudonym("default", USER_ID)


def test_empty_request_is_200(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    response = _post(sidecar, b"", PB, signal)
    assert response.status_code == 200
    assert not _response(response, signal).HasField("partial_success")


def test_overload_is_503_with_retry_after(make_sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    server = make_sidecar({"server": {"max_inflight_requests": 1, "retry_after_seconds": 7, "grpc_enabled": False}})
    next_hop.hold()
    first: dict[str, requests.Response] = {}
    # A trace request holds the only slot: a logs request is refused by the same admission.
    sender = threading.Thread(target=lambda: first.setdefault("r", _post(server, _proto_body(), PB)))
    sender.start()
    try:
        next_hop.wait_for_attempts(1)  # the first request is now in flight inside the sidecar
        second = _post(server, _proto_body(signal=signal), PB, signal)
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "7"
        assert _status(second).code == code_pb2.UNAVAILABLE
        assert server.metric("tracevault_requests_total", transport="http", outcome="overloaded", signal=signal.name) == 1
    finally:
        next_hop.release()
        sender.join(WAIT_SECONDS)
    assert first["r"].status_code == 200
    assert len(next_hop.attempts) == 1  # the refused request never reached the next hop
    assert _post(server, _proto_body(signal=signal), PB, signal).status_code == 200  # capacity is back


def test_next_hop_down_is_503_with_retry_after(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    before = sidecar.metric("tracevault_forward_failures_total", reason="status_503")
    next_hop.fail_next(10, status=503)
    response = _post(sidecar, _proto_body(signal=signal), PB, signal)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(sidecar.config.server.retry_after_seconds)
    assert _status(response).code == code_pb2.UNAVAILABLE
    attempts = sidecar.config.forward.max_attempts
    assert len(next_hop.attempts) == attempts
    assert {a.path for a in next_hop.attempts} == {signal.path}
    assert sidecar.metric("tracevault_forward_failures_total", reason="status_503") == before + attempts


def test_next_hop_unreachable_is_503(make_sidecar, signal: otlp.Signal) -> None:
    server = make_sidecar({"forward": {"endpoint": f"http://127.0.0.1:{free_port()}/v1/traces"}, "server": {"grpc_enabled": False}})
    response = _post(server, _proto_body(signal=signal), PB, signal)
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert server.metric("tracevault_forward_failures_total", reason="connection") >= 1


def test_next_hop_429_then_ok_is_retried(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    next_hop.fail_next(1, status=429, retry_after="0")
    response = _post(sidecar, _proto_body(signal=signal), PB, signal)
    assert response.status_code == 200
    assert [a.status for a in next_hop.attempts] == [429, 200]


def test_health_ready_and_metrics(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    assert requests.get(f"{sidecar.base_url}/healthz", timeout=WAIT_SECONDS).status_code == 200
    ready = requests.get(f"{sidecar.base_url}/readyz", timeout=WAIT_SECONDS)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    before = sidecar.metric("tracevault_spans_received_total", signal=signal.name)
    accepted_before = sidecar.metric("tracevault_spans_accepted_total", signal=signal.name)
    other = next(s for s in otlp.SIGNALS.values() if s is not signal)
    other_before = sidecar.metric("tracevault_spans_received_total", signal=other.name)
    document = json_document(signal, [({"service.name": "x"}, 3)])
    assert _post(sidecar, _proto_body(document, signal), PB, signal).status_code == 200
    text = requests.get(f"{sidecar.base_url}/metrics", timeout=WAIT_SECONDS).text
    assert "tracevault_spans_received_total" in text
    assert sidecar.metric("tracevault_spans_received_total", signal=signal.name) == before + 3
    assert sidecar.metric("tracevault_spans_accepted_total", signal=signal.name) == accepted_before + 3
    assert sidecar.metric("tracevault_spans_received_total", signal=other.name) == other_before  # counted per signal
    assert sidecar.metric("tracevault_requests_total", transport="http", outcome="ok", signal=signal.name) >= 1
    assert sidecar.metric("tracevault_redactions_total", entity="EMAIL_ADDRESS") >= 3
    # labels are entity types and fixed words: no content in the metrics text
    assert EMAIL not in text and USER_ID not in text


def test_get_on_traces_is_not_allowed(sidecar: Sidecar, signal: otlp.Signal) -> None:
    assert requests.get(sidecar.url(signal), timeout=WAIT_SECONDS).status_code == 405


def test_readyz_is_503_until_ready() -> None:
    config = parse_config({})
    metrics = Metrics()
    pipeline = Pipeline(config, None, [], metrics)  # type: ignore[arg-type]  # only metrics are used
    state = {"ready": False}

    async def probe() -> list[int]:
        app = make_app(config, pipeline, lambda: state["ready"])
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            codes = [(await client.get("/readyz")).status, (await client.get("/healthz")).status]
            state["ready"] = True
            codes.append((await client.get("/readyz")).status)
            return codes

    assert asyncio.run(probe()) == [503, 200, 200]


def test_healthz_is_503_only_when_the_process_cannot_recover() -> None:
    config = parse_config({})
    pipeline = Pipeline(config, None, [], Metrics())  # type: ignore[arg-type]  # only metrics are used
    state = {"alive": True}

    async def probe() -> list[int]:
        app = make_app(config, pipeline, lambda: True, lambda: state["alive"])
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            codes = [(await client.get("/healthz")).status]
            state["alive"] = False  # e.g. a failed spool write that could not be cut off
            codes.append((await client.get("/healthz")).status)
            return codes

    assert asyncio.run(probe()) == [200, 503]


def test_resource_without_spans_is_accepted(sidecar: Sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    # A resource with no spans (log records): accepted, nothing to refuse.
    request = signal.request_type()
    signal.resources(request).add()
    response = _post(sidecar, request.SerializeToString(), PB, signal)
    assert response.status_code == 200
    assert not _response(response, signal).HasField("partial_success")


def test_environment_selects_the_policy_case_insensitively(make_sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    policies = {"tenants": {"acme": {"environments": {"prod": {"methods": {"EMAIL_ADDRESS": "pseudonym"}}}}}}
    server = make_sidecar({**policies, "server": {"grpc_enabled": False}})
    cases = [
        ("header", {"X-Tracevault-Env": "prod"}, {}, True),
        ("header-mixed-case", {"X-Tracevault-Env": "Prod"}, {}, True),
        ("resource-upper-case", {}, {"deployment.environment.name": "PROD"}, True),
        ("header-wins-over-resource", {"X-Tracevault-Env": "staging"}, {"deployment.environment.name": "prod"}, False),
        ("no-env", {}, {}, False),
    ]
    for name, headers, resource, prod_policy in cases:
        next_hop.reset()
        document = json_document(signal, [(resource, 1)])
        response = _post(server, _proto_body(document, signal), dict(PB, **{"X-Tenant-Id": "acme"}, **headers), signal)
        assert response.status_code == 200, name
        (span,) = next_hop.received[0].records()
        content = json.loads(attributes_of(span)["gen_ai.input.messages"])[0]["parts"][0]["content"]
        assert EMAIL not in content, name
        assert ("<EMAIL_ADDRESS:" in content) is prod_policy, name
        assert ("<EMAIL_ADDRESS>" in content) is not prod_policy, name
