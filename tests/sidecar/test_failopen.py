"""Issue 11 at the service: unknown protobuf fields (item 2), the metrics Parquet (item 5) and
aiohttp's parser errors (item 7), each with a real server, real sockets and a real next hop."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import requests
from google.protobuf.message import Message

from policies.config import parse_config
from sidecar import otlp
from tests.sidecar.conftest import WAIT_SECONDS, NextHop, Sidecar, json_document, json_request, sidecar_document, start_sidecar

MARKER = "zqxmarker.unknown@example.com"
TOKEN = "ghp_" + "Zq7XmK2pL9vR4sT8wY1bN6cD3fG5hJ0kQ2wE"


# -- item 2: unknown protobuf fields ------------------------------------------------------------


def _unknown(field_number: int, payload: bytes) -> bytes:
    """A length-delimited field `field_number` (outside the schema) holding `payload`."""
    tag = (field_number << 3) | 2
    key = bytearray()
    while True:
        byte, tag = tag & 0x7F, tag >> 7
        key.append(byte | (0x80 if tag else 0))
        if not tag:
            break
    return bytes(key) + bytes([len(payload)]) + payload


def _request_with_unknown_fields(signal: otlp.Signal = otlp.TRACES) -> tuple[Message, int]:
    request = otlp.request_from_json_document(json_document(signal), signal)
    resource = signal.resources(request)[0]
    scope = getattr(resource, signal.scopes_field)[0]
    record = getattr(scope, signal.records_field)[0]
    planted = [request, resource, resource.resource, scope, scope.scope, record, record.attributes[0], record.attributes[0].value]
    if signal is otlp.LOGS:
        planted.append(record.body)
    for number, message in enumerate(planted, start=90):
        message.MergeFromString(_unknown(number, MARKER.encode()))
    return request, len(planted)


def test_drop_unknown_fields_counts_every_level(signal: otlp.Signal) -> None:
    request, planted = _request_with_unknown_fields(signal)
    assert MARKER.encode() in request.SerializeToString()
    assert otlp.drop_unknown_fields(request) == planted
    assert MARKER.encode() not in request.SerializeToString()
    assert otlp.drop_unknown_fields(request) == 0, "benign twin: nothing left to drop"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_unknown_fields_are_never_forwarded_and_are_counted(
    sidecar: Sidecar, next_hop: NextHop, transport: str, signal: otlp.Signal
) -> None:
    request, planted = _request_with_unknown_fields(signal)
    before = sidecar.metric("tracevault_unknown_fields_dropped_total")
    if transport == "http":
        response = requests.post(
            sidecar.url(signal), data=request.SerializeToString(), headers={"Content-Type": otlp.PROTOBUF}, timeout=WAIT_SECONDS
        )
        assert response.status_code == 200
    else:
        import grpc

        with grpc.insecure_channel(sidecar.grpc_target) as channel:
            channel.unary_unary(f"/{signal.grpc_service}/Export")(request.SerializeToString(), timeout=WAIT_SECONDS)
    (received,) = next_hop.wait_for_attempts(1)
    assert received.request is not None
    forwarded = received.request.SerializeToString()
    assert MARKER.encode() not in forwarded
    record = received.records()[0]
    if signal is otlp.LOGS:
        assert record.event_name == "gen_ai.client.inference.operation.details", "benign twin: the known fields arrive"
    else:
        assert record.name == "chat gpt-4o", "benign twin: the known fields arrive"
    assert sidecar.metric("tracevault_unknown_fields_dropped_total") == before + planted


# -- item 5: the clear-text metrics Parquet --------------------------------------------------------

# (attribute, planted value, metrics column); each value is PII in a structural attribute.
PARQUET_ROWS = [
    ("service.name", "Sarah Connor", "service_name"),
    ("gen_ai.request.model", "4111-1111-1111-1111", "request_model"),
    ("gen_ai.response.model", "123-45-6789", "response_model"),
    ("gen_ai.tool.name", "212-555-0147", "tool_name"),
    ("feature", "Sarah Connor", "feature"),
    ("gen_ai.provider.name", "sarah.connor@example.com", "provider"),
    ("error.type", "+44 7911 123456", "error_type"),
]
BENIGN = {"gen_ai.operation.name": "chat", "llm.prompt_template.version": "v3", "gen_ai.tool.name": "get_weather"}


def _span_document(attributes: dict[str, str], span_id: str) -> dict:
    document = json_request()
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["spanId"] = span_id
    span["attributes"] = [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]
    resource = document["resourceSpans"][0]["resource"]["attributes"]
    if "service.name" in attributes:
        resource[:] = [{"key": "service.name", "value": {"stringValue": attributes["service.name"]}}]
    return document


def test_metrics_parquet_holds_no_pii(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    document = sidecar_document(data_dir, None, {"vault_enabled": True, "spool": {"flush_interval_seconds": 0.2}})
    server = start_sidecar(parse_config(document))
    headers = {"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}
    try:
        for index, (key, value, _) in enumerate(PARQUET_ROWS, start=1):
            body = json.dumps(_span_document({key: value, "gen_ai.operation.name": "chat"}, f"{index:016x}"))
            assert requests.post(server.traces_url, data=body, headers=headers, timeout=WAIT_SECONDS).status_code == 200
        body = json.dumps(_span_document({**BENIGN, "gen_ai.request.model": "gpt-4o-mini"}, f"{99:016x}"))
        assert requests.post(server.traces_url, data=body, headers=headers, timeout=WAIT_SECONDS).status_code == 200
    finally:
        server.stop()
    files = sorted((data_dir / "store" / "metrics").rglob("*.parquet"))
    assert files
    rows = [row for path in files for row in pq.read_table(io.BytesIO(path.read_bytes())).to_pylist()]
    by_span = {row["span_id"]: row for row in rows}
    for index, (_, value, column) in enumerate(PARQUET_ROWS, start=1):
        row = by_span[f"{index:016x}"]
        assert row[column] in (None, "<redacted>"), f"{column} holds planted PII"
    flat = json.dumps(rows, default=str)
    queried = json.dumps(
        duckdb.sql(f"select * from read_parquet('{data_dir}/store/metrics/**/*.parquet', hive_partitioning=true)").fetchall(), default=str
    )
    for _, value, _ in PARQUET_ROWS:
        for text in (flat, queried):
            assert value not in text and value.replace("-", "") not in text
    benign = by_span[f"{99:016x}"]
    assert (benign["operation"], benign["prompt_version"], benign["tool_name"], benign["request_model"]) == (
        "chat", "v3", "get_weather", "gpt-4o-mini",
    ), "benign twins keep their labels"


# -- item 7: aiohttp parser errors ------------------------------------------------------------------

SECRET_BITS = f"{MARKER} {TOKEN}"
PARSER_ERRORS = [
    (
        "data-after-connection-close",
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{{}}"
        f"POST /v1/traces?token={TOKEN} HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n{MARKER}",
        "BadHttpMessage",
    ),
    (
        "bad-chunk-size",
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        f"zz{SECRET_BITS}\r\n",
        "BadHttpMessage",
    ),
    (
        "invalid-header-line",
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization Bearer {TOKEN} {MARKER}\r\n\r\n",
        "BadHttpMessage",
    ),
    (
        "header-too-long",
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN} {MARKER}" + "a" * 9000 + "\r\n\r\n",
        "LineTooLong",
    ),
    (
        "bad-request-line",
        f"POST /v1/traces?api_key={TOKEN}&email={MARKER} HTTP/1.1 junk\r\nHost: x\r\n\r\n",
        "BadStatusLine",
    ),
]


def _send_raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(("case", "raw", "error_class"), PARSER_ERRORS, ids=[row[0] for row in PARSER_ERRORS])
def test_parser_errors_log_the_error_class_only(
    sidecar: Sidecar, caplog: pytest.LogCaptureFixture, case: str, raw: str, error_class: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        answer = _send_raw(sidecar.http_port, raw.encode())
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n", 1)[0], case
        server_records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert server_records, "the parser error was logged (the error path ran)"
    assert any(r.getMessage().startswith(error_class) for r in server_records)
    for record in server_records:
        assert record.exc_info is None and record.exc_text is None
    for planted in (MARKER, TOKEN, "zqxmarker"):
        assert planted not in caplog.text


def test_a_valid_request_after_parser_errors_is_served(sidecar: Sidecar, next_hop: NextHop) -> None:
    """Benign twin: the filter changes log records only; requests are served as before."""
    body = json.dumps(json_request())
    response = requests.post(sidecar.traces_url, data=body, headers={"Content-Type": otlp.JSON}, timeout=WAIT_SECONDS)
    assert response.status_code == 200
    assert len(next_hop.wait_for_attempts(1)) == 1
