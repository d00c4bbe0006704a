"""Slow-loris on real sockets: clients that dribble headers or a body hold no in-flight slot,
real exports go through while they are connected, and the server cuts them off."""

from __future__ import annotations

import socket
import time

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.sidecar.conftest import WAIT_SECONDS, genai_spans

BODY_LORIS = (
    b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
    b"Content-Length: 100000\r\n\r\n" + b"\0" * 10
)
HEADER_LORIS = b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl"


def _open(port: int, payload: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS)
    sock.sendall(payload)
    return sock


def _still_waiting(sock: socket.socket) -> bool:
    """Connected and not answered yet."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def test_slow_loris_holds_no_slot_and_is_cut_off(make_sidecar) -> None:
    server = make_sidecar(
        {"server": {"max_inflight_requests": 8, "header_timeout_seconds": 6, "body_idle_timeout_seconds": 6}}, forward=False
    )
    bodies = [_open(server.http_port, BODY_LORIS) for _ in range(64)]
    headers = [_open(server.http_port, HEADER_LORIS) for _ in range(16)]
    exporter = OTLPSpanExporter(endpoint=server.traces_url, timeout=WAIT_SECONDS)
    try:
        time.sleep(0.5)  # every loris is connected and its request has started
        exported = time.monotonic()
        assert exporter.export(genai_spans()) == SpanExportResult.SUCCESS, "a real export was refused"
        print(f"export answered in {(time.monotonic() - exported) * 1000:.0f} ms beside 64+16 lorises")  # noqa: T201 (test report)
        assert all(_still_waiting(sock) for sock in bodies + headers), "the lorises were still connected during the export"
        assert server.metric("tracevault_requests_total", transport="http", outcome="overloaded") == 0
        for sock in bodies:
            sock.settimeout(WAIT_SECONDS)
            assert sock.recv(64).startswith(b"HTTP/1.1 408"), "a stalled body gets 408"
        for sock in headers:
            sock.settimeout(WAIT_SECONDS)
            assert sock.recv(64) == b"", "a client that never finishes its headers is disconnected"
        assert server.metric("tracevault_body_timeouts_total") == 64
    finally:
        exporter.shutdown()
        for sock in bodies + headers:
            sock.close()


@pytest.mark.parametrize("path", ["/v1/traces", "/v1/logs"])
def test_a_body_that_keeps_trickling_is_cut_off_by_the_minimum_rate(make_sidecar, path: str) -> None:
    server = make_sidecar({"server": {"body_idle_timeout_seconds": 1, "min_body_bytes_per_second": 1024}}, forward=False)
    sock = _open(server.http_port, BODY_LORIS.replace(b"/v1/traces", path.encode()))
    try:
        sock.settimeout(0.3)
        started = time.monotonic()
        answer = b""
        while not answer and time.monotonic() - started < WAIT_SECONDS:
            sock.sendall(b"\0")  # a byte every 0.3 s: never idle for 1 s, far below 1 KiB/s
            try:
                answer = sock.recv(64)
            except TimeoutError:
                continue
        assert answer.startswith(b"HTTP/1.1 408")
    finally:
        sock.close()


def test_a_slow_but_steady_body_is_accepted(make_sidecar) -> None:
    """Benign twin: a body sent in pieces, with pauses below the idle timeout, goes through."""
    import json

    from tests.sidecar.conftest import json_request

    server = make_sidecar({"server": {"body_idle_timeout_seconds": 2, "min_body_bytes_per_second": 16}}, forward=False)
    body = json.dumps(json_request()).encode()
    head = (
        b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    )
    sock = _open(server.http_port, head)
    try:
        for start in range(0, len(body), len(body) // 4 + 1):
            sock.sendall(body[start : start + len(body) // 4 + 1])
            time.sleep(0.5)
        sock.settimeout(WAIT_SECONDS)
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        sock.close()
