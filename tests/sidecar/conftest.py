"""Fixtures for the sidecar: a master key, a recording OTLP/HTTP next hop, and running servers.

- `next_hop`: a real OTLP/HTTP receiver on 127.0.0.1 (http.server in a thread). It records every
  POST (headers and the decoded ExportTraceServiceRequest, or ExportLogsServiceRequest on
  /v1/logs; gzip handled), can answer an error
  status for the next N requests, and can hold its answers until released (to keep requests in
  flight deterministically).
- `sidecar`: one `sidecar.server.serve(...)` per test module, in its own thread and event loop,
  on free ports, `workers: 0`, forwarding to the next hop, with small limits.
- `make_sidecar`: a factory for servers with custom settings, stopped after the test.
- `signal`: traces, then logs; a receiver test that takes it runs once per signal.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from policies.config import Config, parse_config
from redactors.identifiers import Pseudonymizer
from sidecar import otlp
from sidecar.server import Running, serve

MASTER_SECRET = bytes(range(100, 132))
MASTER_KEY_ENV = "TRACEVAULT_MASTER_KEY"
KIB = 1024

# Small limits, so that the limit tests send little data. Large enough for every SDK export here.
SMALL_LIMITS = {"max_body_bytes": 256 * KIB, "max_decompressed_bytes": 1024 * KIB}
WAIT_SECONDS = 30.0  # upper bound for anything the tests wait on; never reached when all is well


def pseudonym(tenant: str, value: str) -> str:
    """The identifier token the sidecar must produce for `value` in `tenant`."""
    return Pseudonymizer(MASTER_SECRET).for_tenant(tenant).identifier(value)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def master_key() -> Iterator[bytes]:
    """Every server and CLI run in these tests derives its pseudonym keys from MASTER_SECRET.

    Module scope: the variable is removed again after each module, so that other packages'
    tests still see the environment they expect.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MASTER_KEY_ENV, base64.b64encode(MASTER_SECRET).decode())
        yield MASTER_SECRET


# -- the next hop ------------------------------------------------------------------------------


@dataclass
class Received:
    """One POST the next hop answered."""

    path: str
    headers: dict[str, str]  # lower-case names
    status: int
    request: ExportTraceServiceRequest | ExportLogsServiceRequest | None

    @property
    def signal(self) -> otlp.Signal:
        return otlp.LOGS if isinstance(self.request, ExportLogsServiceRequest) else otlp.TRACES

    def records(self) -> list:
        """The spans, or the log records, of the request."""
        if self.request is None:
            return []
        signal = self.signal
        return [
            record
            for resource in signal.resources(self.request)
            for scope in getattr(resource, signal.scopes_field)
            for record in getattr(scope, signal.records_field)
        ]

    def spans(self) -> list:
        assert self.request is None or self.signal is otlp.TRACES
        return self.records()


@dataclass
class _Failure:
    status: int
    retry_after: str | None


@dataclass
class NextHop:
    port: int = 0
    attempts: list[Received] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _release: threading.Event = field(default_factory=threading.Event)
    _held: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    @property
    def received(self) -> list[Received]:
        """The requests the hop accepted (2xx)."""
        with self._cond:
            return [r for r in self.attempts if 200 <= r.status < 300]

    def reset(self) -> None:
        with self._cond:
            self.attempts.clear()
            self._failures.clear()
            self._held = False
            self._release.set()

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        with self._cond:
            self._failures.extend(_Failure(status, retry_after) for _ in range(count))

    def hold(self) -> None:
        """Answer nothing until `release()`: requests arrive (and are recorded) but stay open."""
        with self._cond:
            self._held = True
            self._release.clear()

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._release.set()

    def wait_for_attempts(self, count: int, timeout: float = WAIT_SECONDS) -> list[Received]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.attempts) >= count, timeout):
                raise AssertionError(f"next hop saw {len(self.attempts)} requests, expected {count}")
            return list(self.attempts)

    # called from the handler threads
    def _record(self, received: Received) -> tuple[_Failure | None, bool]:
        with self._cond:
            failure = self._failures.pop(0) if self._failures else None
            if failure is not None:
                received.status = failure.status
            self.attempts.append(received)
            self._cond.notify_all()
            return failure, self._held


class _HopHandler(BaseHTTPRequestHandler):
    hop: NextHop  # set on the subclass per server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return None

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        content_type = headers.get("content-type", "").split(";")[0].strip()
        signal = otlp.LOGS if self.path.endswith(otlp.LOGS.path) else otlp.TRACES
        if content_type == otlp.JSON:
            request = otlp.decode_json_request(body, signal)
        else:
            request = signal.request_type.FromString(body)
        received = Received(self.path, headers, 200, request)
        failure, held = self.hop._record(received)
        if held:
            self.hop._release.wait(WAIT_SECONDS)
        if failure is not None:
            self.send_response(failure.status)
            if failure.retry_after is not None:
                self.send_header("Retry-After", failure.retry_after)
            payload = b""
        else:
            self.send_response(200)
            payload = signal.response_type().SerializeToString()
        self.send_header("Content-Type", otlp.PROTOBUF)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="session")
def next_hop_server() -> Iterator[NextHop]:
    hop = NextHop()
    handler = type("Handler", (_HopHandler,), {"hop": hop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    hop.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="next-hop", daemon=True)
    thread.start()
    try:
        yield hop
    finally:
        hop.release()
        server.shutdown()
        server.server_close()
        thread.join(WAIT_SECONDS)


@pytest.fixture
def next_hop(next_hop_server: NextHop) -> Iterator[NextHop]:
    """The shared next hop, emptied for this test and released afterwards."""
    next_hop_server.reset()
    yield next_hop_server
    next_hop_server.release()


# -- running sidecars --------------------------------------------------------------------------


def _merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def sidecar_document(data_dir: Path, hop: NextHop | None, overrides: dict | None = None) -> dict:
    document: dict = {
        "data_dir": str(data_dir),
        # These fixtures test the receivers and the synchronous forwarder; the vault has its
        # own end-to-end tests (test_vault_e2e.py).
        "vault_enabled": False,
        "server": {
            "http_port": 0,
            "grpc_port": 0,
            "workers": 0,
            "shutdown_grace_seconds": 5,
            "retry_after_seconds": 3,
            **SMALL_LIMITS,
        },
    }
    if hop is not None:
        document["forward"] = {
            "endpoint": hop.url,
            "compression": "gzip",
            "max_attempts": 2,
            "initial_backoff_seconds": 0.01,
            "max_backoff_seconds": 0.05,
            "timeout_seconds": WAIT_SECONDS,
        }
    return _merge(document, overrides or {})


@dataclass
class Sidecar:
    config: Config
    running: Running
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    errors: list[BaseException]

    @property
    def http_port(self) -> int:
        return self.running.http_port

    @property
    def grpc_port(self) -> int:
        return self.running.grpc_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def traces_url(self) -> str:
        return f"{self.base_url}/v1/traces"

    @property
    def logs_url(self) -> str:
        return f"{self.base_url}/v1/logs"

    def url(self, signal: otlp.Signal) -> str:
        return self.base_url + signal.path

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def metric(self, name: str, **labels: str) -> float:
        """One sample from /metrics (0.0 when the labelled series does not exist yet)."""
        text = requests.get(f"{self.base_url}/metrics", timeout=WAIT_SECONDS).text
        return metric_value(text, name, **labels)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.running.stop.set)
        self.thread.join(WAIT_SECONDS)
        assert not self.thread.is_alive(), "sidecar did not stop"
        if self.errors:
            raise self.errors[0]


def metric_value(text: str, name: str, **labels: str) -> float:
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        if metric != name:
            continue
        present = set(label_text.rstrip("}").split(",")) if label_text else set()
        if wanted <= present:
            return float(value)
    return 0.0


def start_sidecar(config: Config) -> Sidecar:
    started = threading.Event()
    box: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        running = Running()
        box["loop"], box["running"] = loop, running

        async def main() -> None:
            async def signal_ready() -> None:
                await running.ready.wait()
                started.set()

            watcher = asyncio.create_task(signal_ready())
            try:
                await serve(config, running, install_signals=False)
            finally:
                watcher.cancel()

        try:
            loop.run_until_complete(main())
            loop.run_until_complete(loop.shutdown_asyncgens())
        except BaseException as exc:  # reported to the test by stop() or start
            errors.append(exc)
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=run, name="sidecar", daemon=True)
    thread.start()
    if not started.wait(WAIT_SECONDS * 2):
        raise AssertionError("sidecar did not become ready")
    if errors:
        thread.join(WAIT_SECONDS)
        raise errors[0]
    return Sidecar(config, box["running"], box["loop"], thread, errors)


@pytest.fixture(scope="module")
def sidecar(next_hop_server: NextHop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """One server per test module: small limits, forwarding (2 attempts) to the next hop."""
    data_dir = tmp_path_factory.mktemp("sidecar-data")
    server = start_sidecar(parse_config(sidecar_document(data_dir, next_hop_server)))
    try:
        yield server
    finally:
        next_hop_server.release()
        server.stop()


@pytest.fixture
def make_sidecar(next_hop_server: NextHop, tmp_path: Path) -> Iterator:
    """Start a server with settings merged over the test defaults; stopped after the test."""
    started: list[Sidecar] = []

    def make(overrides: dict | None = None, forward: bool = True) -> Sidecar:
        document = sidecar_document(tmp_path / f"data-{len(started)}", next_hop_server if forward else None, overrides)
        server = start_sidecar(parse_config(document))
        started.append(server)
        return server

    yield make
    next_hop_server.release()
    for server in started:
        server.stop()


@pytest.fixture(params=[otlp.TRACES, otlp.LOGS], ids=lambda signal: signal.name)
def signal(request: pytest.FixtureRequest) -> otlp.Signal:
    """Each signal in turn: a receiver test that takes it runs for traces and for logs."""
    return request.param


# -- request builders shared by the receiver and CLI tests -------------------------------------

EMAIL = "sarah.connor@example.com"
PERSON = "Sarah Connor"
OPENAI_KEY = "sk-proj-" + "Q7vF3kL9mN2pR8sT1wX4yZ6aB0cD5eG7hJ9kL2mN4pQ6rS8t"
USER_ID = "user-8812"


def json_request(
    resources: list[tuple[dict[str, str], int]] | None = None,
    trace_id: str = "5b8efff798038103d269b633813fc60c",
) -> dict:
    """An OTLP/JSON request: per resource (resource string attributes, span count) GenAI spans."""
    resources = resources or [({"service.name": "chatbot"}, 1)]
    resource_spans = []
    counter = 0
    for attributes, count in resources:
        spans = []
        for _ in range(count):
            counter += 1
            spans.append(
                {
                    "traceId": trace_id,
                    "spanId": f"{counter:016x}",
                    "parentSpanId": "",
                    "name": "chat gpt-4o",
                    "kind": 3,
                    "startTimeUnixNano": "1700000000000000000",
                    "endTimeUnixNano": 1700000000500000000,
                    "attributes": _genai_attributes(),
                    "status": {},
                }
            )
        resource_spans.append(
            {
                "resource": {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]},
                "scopeSpans": [{"scope": {"name": "openai.instrumentation", "version": "1.0"}, "spans": spans}],
            }
        )
    return {"resourceSpans": resource_spans}


def _genai_attributes() -> list[dict]:
    return [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "57"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 12}},
        {"key": "user.id", "value": {"stringValue": USER_ID}},
        {
            "key": "gen_ai.input.messages",
            "value": {
                "stringValue": json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"Hi, I am {PERSON}, write to {EMAIL}"}]}])
            },
        },
        {"key": "gen_ai.tool.call.arguments", "value": {"stringValue": json.dumps({"query": f"use {OPENAI_KEY} to call", "limit": 5})}},
    ]


def json_logs_request(
    resources: list[tuple[dict[str, str], int]] | None = None,
    trace_id: str = "5b8efff798038103d269b633813fc60c",
) -> dict:
    """An OTLP/JSON logs request: per resource (resource string attributes, record count) GenAI
    event records, with the same content as `json_request`'s spans in the attributes and in a
    kvlist body, and a span context in hex."""
    resources = resources or [({"service.name": "chatbot"}, 1)]
    resource_logs = []
    counter = 0
    for attributes, count in resources:
        records = []
        for _ in range(count):
            counter += 1
            body = {"kvlistValue": {"values": [
                {"key": "role", "value": {"stringValue": "user"}},
                {"key": "content", "value": {"stringValue": f"My name is {PERSON}, mail {EMAIL}"}},
            ]}}  # fmt: skip
            records.append(
                {
                    "timeUnixNano": "1700000000000000000",
                    "observedTimeUnixNano": 1700000000100000000,
                    "severityNumber": 9,
                    "severityText": "INFO",
                    "eventName": "gen_ai.client.inference.operation.details",
                    "traceId": trace_id,
                    "spanId": f"{counter:016x}",
                    "body": body,
                    "attributes": _genai_attributes(),
                }
            )
        resource_logs.append(
            {
                "resource": {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]},
                "scopeLogs": [{"scope": {"name": "openai.instrumentation", "version": "1.0"}, "logRecords": records}],
            }
        )
    return {"resourceLogs": resource_logs}


def json_document(signal: otlp.Signal, resources: list[tuple[dict[str, str], int]] | None = None, trace_id: str = "5b8efff798038103d269b633813fc60c") -> dict:
    """`json_request` or `json_logs_request`, by signal."""
    build = json_logs_request if signal is otlp.LOGS else json_request
    return build(resources, trace_id)


def records_of(document: dict) -> list[dict]:
    """The spans or log records of an OTLP/JSON document."""
    if "resourceLogs" in document:
        return [r for rl in document["resourceLogs"] for sl in rl["scopeLogs"] for r in sl["logRecords"]]
    return [s for rs in document["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def attributes_of(span: Any) -> dict[str, Any]:
    """Span attributes as {key: python value} (string, int, ...)."""
    out: dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind) if kind else None
    return out


def genai_spans(service: str = "chatbot") -> list[ReadableSpan]:
    """Finished SDK spans carrying PII, a secret and an identifier next to structure."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("openai.instrumentation", "1.2.3")
    with tracer.start_as_current_span("invoke_agent support") as parent:
        parent.set_attribute("gen_ai.operation.name", "invoke_agent")
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
            span.set_attribute("gen_ai.usage.input_tokens", 57)
            span.set_attribute("gen_ai.usage.output_tokens", 12)
            span.set_attribute("user.id", USER_ID)
            span.set_attribute(
                "gen_ai.input.messages",
                json.dumps([
                    {"role": "system", "parts": [{"type": "text", "content": "You are a helpful support bot."}]},
                    {"role": "user", "parts": [{"type": "text", "content": f"Hi, I am {PERSON}. Mail me at {EMAIL}"}]},
                ]),
            )
            span.set_attribute("gen_ai.tool.name", "lookup_account")
            span.set_attribute("gen_ai.tool.call.arguments", json.dumps({"query": f"auth with {OPENAI_KEY}", "limit": 5}))
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    assert len(spans) == 2
    return spans
