"""OTLP/gRPC receiver: the SDK's gRPC exporter end to end, then raw stubs for each status code.

A test that takes `signal` runs against TraceService/Export and against LogsService/Export (the
SDK's gRPC log exporter is in test_logs_receivers.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.sdk.trace.export import SpanExportResult

from policies.config import parse_config
from sidecar import otlp
from sidecar.server import Running, serve
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
    sidecar_document,
)


def _export(channel: grpc.Channel, signal: otlp.Signal) -> grpc.UnaryUnaryMultiCallable:
    """The signal's Export method on `channel` (TraceService or LogsService)."""
    return channel.unary_unary(
        f"/{signal.grpc_service}/Export",
        request_serializer=signal.request_type.SerializeToString,
        response_deserializer=signal.response_type.FromString,
    )


@pytest.fixture
def export(sidecar: Sidecar, signal: otlp.Signal) -> Iterator[grpc.UnaryUnaryMultiCallable]:
    with grpc.insecure_channel(sidecar.grpc_target) as channel:
        yield _export(channel, signal)


def _request(resources: list[tuple[dict[str, str], int]] | None = None, signal: otlp.Signal = otlp.TRACES) -> Message:
    return otlp.request_from_json_document(json_document(signal, resources), signal)


def _status_details(error: grpc.RpcError) -> status_pb2.Status:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError("no grpc-status-details-bin in the trailing metadata")


def _retry_delay_seconds(error: grpc.RpcError) -> int:
    status = _status_details(error)
    assert status.code == code_pb2.UNAVAILABLE
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds
    raise AssertionError("no RetryInfo detail")


@pytest.mark.parametrize(
    "compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip], ids=["identity", "gzip"]
)
def test_sdk_grpc_exporter_end_to_end(sidecar: Sidecar, next_hop: NextHop, compression: grpc.Compression) -> None:
    spans = genai_spans()
    exporter = OTLPSpanExporter(
        endpoint=sidecar.grpc_target,
        insecure=True,
        headers=(("x-tenant-id", "acme"),),
        compression=compression,
        timeout=WAIT_SECONDS,
    )
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()

    (received,) = next_hop.received
    assert received.headers["x-tenant-id"] == "acme"
    forwarded = {s.span_id: s for s in received.spans()}
    assert set(forwarded) == {s.context.span_id.to_bytes(8, "big") for s in spans}
    for sdk_span in spans:
        assert forwarded[sdk_span.context.span_id.to_bytes(8, "big")].trace_id == sdk_span.context.trace_id.to_bytes(16, "big")
    chat = next(s for s in forwarded.values() if s.name == "chat gpt-4o")
    attributes = attributes_of(chat)
    assert attributes["user.id"] == pseudonym("acme", USER_ID)
    assert attributes["gen_ai.usage.input_tokens"] == 57
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    messages = json.loads(attributes["gen_ai.input.messages"])
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "<EMAIL_ADDRESS>" in messages[1]["parts"][0]["content"]
    assert attributes["tracevault.redactions.SECRET"] == 1
    raw = received.request.SerializeToString()
    for needle in (EMAIL, OPENAI_KEY, USER_ID, PERSON):
        assert needle.encode() not in raw


def test_raw_stub_success_and_environment_metadata(sidecar: Sidecar, next_hop: NextHop, export, signal: otlp.Signal) -> None:
    metadata = (("x-tenant-id", "acme"), ("x-tracevault-env", "prod"))
    response = export(_request(signal=signal), metadata=metadata, timeout=WAIT_SECONDS)
    assert isinstance(response, signal.response_type)
    assert not response.HasField("partial_success")
    (received,) = next_hop.received
    assert received.path == signal.path
    assert received.headers["x-tenant-id"] == "acme"
    assert attributes_of(received.records()[0])["user.id"] == pseudonym("acme", USER_ID)


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param((("x-tenant-id", "Acme Corp"),), id="tenant-space"),
        pytest.param((("x-tenant-id", ".."),), id="tenant-dotdot"),
        pytest.param((("x-tenant-id", "a/b"),), id="tenant-slash"),
        pytest.param((("x-tracevault-env", "Prod!"),), id="env"),
    ],
)
def test_invalid_tenant_metadata_is_invalid_argument(sidecar: Sidecar, next_hop: NextHop, export, signal, metadata) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        export(_request(signal=signal), metadata=metadata, timeout=WAIT_SECONDS)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "must match" in caught.value.details()
    assert metadata[0][1] not in caught.value.details()
    assert next_hop.attempts == []


def test_invalid_resource_tenant_is_partial_success(sidecar: Sidecar, next_hop: NextHop, export, signal: otlp.Signal) -> None:
    request = _request([({"tenant.id": "BAD TENANT"}, 3), ({"tenant.id": "acme"}, 2)], signal)
    response = export(request, timeout=WAIT_SECONDS)
    assert getattr(response.partial_success, signal.rejected_field) == 3
    assert "tenant.id" in response.partial_success.error_message
    (received,) = next_hop.received
    assert received.headers["x-tenant-id"] == "acme"
    assert len(received.records()) == 2


def _big_request(size: int, signal: otlp.Signal) -> Message:
    request = _request(signal=signal)
    resource = signal.resources(request)[0]
    record = getattr(getattr(resource, signal.scopes_field)[0], signal.records_field)[0]
    record.attributes.append(KeyValue(key="gen_ai.input.messages.padding", value=AnyValue(string_value="a" * size)))
    return request


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip], ids=["identity", "gzip"])
def test_message_over_max_decompressed_bytes_is_resource_exhausted(
    sidecar: Sidecar, next_hop: NextHop, compression: grpc.Compression, signal: otlp.Signal
) -> None:
    limit = sidecar.config.server.max_decompressed_bytes
    request = _big_request(limit + 16 * KIB, signal)
    with grpc.insecure_channel(sidecar.grpc_target, compression=compression) as channel:
        export = _export(channel, signal)
        with pytest.raises(grpc.RpcError) as caught:
            export(request, timeout=WAIT_SECONDS)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # and the server keeps serving on the same channel
        assert not export(_request(signal=signal), timeout=WAIT_SECONDS).HasField("partial_success")
    assert len(next_hop.received) == 1


def test_overload_is_unavailable_with_retry_info(make_sidecar, next_hop: NextHop, signal: otlp.Signal) -> None:
    server = make_sidecar({"server": {"max_inflight_requests": 1, "retry_after_seconds": 9}})
    next_hop.hold()
    with grpc.insecure_channel(server.grpc_target) as channel:
        export = _export(channel, signal)
        # A trace export holds the only slot: the signal's export meets the same admission.
        first = _export(channel, otlp.TRACES).future(_request(), timeout=WAIT_SECONDS)
        try:
            next_hop.wait_for_attempts(1)  # the first export is in flight inside the sidecar
            with pytest.raises(grpc.RpcError) as caught:
                export(_request(signal=signal), timeout=WAIT_SECONDS)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert _retry_delay_seconds(caught.value) == 9
        finally:
            next_hop.release()
        assert not first.result(timeout=WAIT_SECONDS).HasField("partial_success")
        assert server.metric("tracevault_requests_total", transport="grpc", outcome="overloaded", signal=signal.name) == 1
        assert not export(_request(signal=signal), timeout=WAIT_SECONDS).HasField("partial_success")
    assert len(next_hop.attempts) == 2


def test_next_hop_down_is_unavailable_with_retry_info(sidecar: Sidecar, next_hop: NextHop, export, signal: otlp.Signal) -> None:
    next_hop.fail_next(10, status=502)
    with pytest.raises(grpc.RpcError) as caught:
        export(_request(signal=signal), timeout=WAIT_SECONDS)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _retry_delay_seconds(caught.value) == sidecar.config.server.retry_after_seconds
    assert len(next_hop.attempts) == sidecar.config.forward.max_attempts
    assert {a.path for a in next_hop.attempts} == {signal.path}
    assert sidecar.metric("tracevault_forward_failures_total", reason="status_502") >= 2


def test_grpc_spans_are_counted(sidecar: Sidecar, next_hop: NextHop, export, signal: otlp.Signal) -> None:
    before = sidecar.metric("tracevault_spans_received_total", signal=signal.name)
    export(_request([({"service.name": "x"}, 4)], signal), timeout=WAIT_SECONDS)
    assert sidecar.metric("tracevault_spans_received_total", signal=signal.name) == before + 4
    assert sidecar.metric("tracevault_requests_total", transport="grpc", outcome="ok", signal=signal.name) >= 1


def test_taken_grpc_port_fails_start_cleanly_and_releases_the_http_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        http_port = free_port()
        overrides = {"server": {"http_port": http_port, "grpc_port": busy.getsockname()[1]}}
        config = parse_config(sidecar_document(tmp_path, None, overrides))
        with pytest.raises(OSError, match="cannot bind gRPC"):  # an OSError: the CLI reports it, no traceback
            asyncio.run(serve(config, Running(), install_signals=False))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.bind(("127.0.0.1", http_port))  # the HTTP listener was closed on the way out


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", id="bad-varint"),
        pytest.param(b"\x0a\x64abc", id="length-past-end"),
    ],
)
def test_corrupt_message_is_invalid_argument(sidecar: Sidecar, next_hop: NextHop, body: bytes, signal: otlp.Signal) -> None:
    with grpc.insecure_channel(sidecar.grpc_target) as channel:
        export = channel.unary_unary(f"/{signal.grpc_service}/Export")  # raw bytes
        with pytest.raises(grpc.RpcError) as caught:
            export(body, timeout=WAIT_SECONDS)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # bad data: the client must not retry
    assert next_hop.attempts == []
