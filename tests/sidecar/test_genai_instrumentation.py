"""A real GenAI instrumentation as the client: opentelemetry-util-genai under the openai-v2
instrumentation, content capture EVENT_ONLY (the content travels in log records, not spans).

An instrumented app (tests/sidecar/genai_app.py, its own process) calls a fake OpenAI endpoint
(aiohttp on loopback) through the real `openai` client, and exports spans and log records with
the SDK's OTLP/HTTP exporters to a running tracevault with its vault, which forwards both to a
next hop. Planted PII and secrets in the prompt (and in the answer) are absent from everything
stored (payloads decrypted through the reader, Parquet cells, every byte under the data dir) and
from everything forwarded; token counts survive. The vault on this branch stores spans only (log
records into the vault are another branch's work): the log record's checks are on what the next
hop receives.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from aiohttp import web

from policies.config import parse_config
from redactors.references import parse_reference
from tests.sidecar.conftest import WAIT_SECONDS, NextHop, free_port, sidecar_document, start_sidecar
from tests.sidecar.test_vault_e2e import reader_for, wait_until

APP = Path(__file__).with_name("genai_app.py")
PERSON = "Sarah Connor"
EMAIL = "sarah.connor@example.com"
PHONE = "+1 212-555-0147"
CARD = "4539 1488 0343 6467"
OPENAI_KEY = "sk-proj-" + "Q7vF3kL9mN2pR8sT1wX4yZ6aB0cD5eG7hJ9kL2mN4pQ6rS8t"
AWS_KEY = "AKIA" + "Q3ZK7VMPH2XJ4LNR"
PROMPT = [
    {"role": "system", "content": "You are the support assistant of Acme Bank."},
    {"role": "user", "content": f"Hi, I am {PERSON}, email {EMAIL}, phone {PHONE}. My card {CARD} was charged twice. "
                                f"Our integration uses {OPENAI_KEY} and {AWS_KEY}."},
]  # fmt: skip
ANSWER = f"Thank you {PERSON}, I have written to {EMAIL} about the refund."
PLANTED = [PERSON, EMAIL, "212-555-0147", CARD, "4539148803436467", OPENAI_KEY, AWS_KEY]
INPUT_TOKENS, OUTPUT_TOKENS = 61, 17


class FakeOpenAI:
    """POST /v1/chat/completions answering like the API, on 127.0.0.1, in its own thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict] = []
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(WAIT_SECONDS)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        return web.json_response({
            "id": "chatcmpl-9xQ2fake", "object": "chat.completion", "created": 1764633600, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS, "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS},
        })  # fmt: skip

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT_SECONDS)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    try:
        yield server
    finally:
        server.stop()


def _run_app(openai_url: str, tracevault_url: str) -> dict:
    env = {
        **os.environ,
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY",
        "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "true",
    }
    run = subprocess.run([sys.executable, str(APP), openai_url, tracevault_url, "acme", json.dumps(PROMPT)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _written(data_dir: Path) -> bytes:
    """Every byte the sidecar wrote, with the Parquet cells read back as text."""
    written = b""
    for path in data_dir.rglob("*"):
        if path.is_file():
            written += path.read_bytes()
            if path.suffix == ".parquet":
                written += json.dumps(pq.read_table(io.BytesIO(path.read_bytes())).to_pylist(), default=str).encode()
    return written


def _forwarded_log_records(hop: NextHop) -> list:
    return [rec for r in hop.received if r.path == "/v1/logs" and r.request is not None
            for rl in r.request.resource_logs for sl in rl.scope_logs for rec in sl.log_records]  # fmt: skip


def test_util_genai_event_only_through_tracevault(tmp_path: Path, fake_openai: FakeOpenAI, next_hop: NextHop, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    document = sidecar_document(data_dir, next_hop, {"vault_enabled": True, "spool": {"fsync": True, "flush_interval_seconds": 0.2}})
    server = start_sidecar(parse_config(document))
    try:
        result = _run_app(fake_openai.url, server.base_url)
        reader = reader_for(data_dir)
        wait_until(lambda: len(reader.read_metrics("acme")) == 2, "the spool flush")
        wait_until(lambda: {r.path for r in next_hop.received} >= {"/v1/traces", "/v1/logs"}, "the forward of both signals")
    finally:
        server.stop()
    # The app really sent the planted prompt, and really got the answer back.
    assert fake_openai.requests and EMAIL in json.dumps(fake_openai.requests[0]) and result["completion"] == ANSWER

    reader = reader_for(data_dir)
    spans = reader.read_metrics("acme").to_pylist()
    chat = next(r for r in spans if r["operation"] == "chat")
    assert (chat["trace_id"], chat["input_tokens"], chat["output_tokens"], chat["request_model"]) == (result["trace_id"], INPUT_TOKENS, OUTPUT_TOKENS, "gpt-4o-mini")
    payloads = [reader.payload(r["payload_ref"]) for r in spans]
    stored = json.dumps(payloads, ensure_ascii=False)
    assert "gpt-4o-mini" in stored
    for planted in PLANTED:
        assert planted not in stored, "a planted value is in a decrypted payload"

    # EVENT_ONLY: the content is in the log record, which the next hop gets redacted, with its
    # token counts and the trace and span it was emitted in.
    details = next(rec for rec in _forwarded_log_records(next_hop) if rec.event_name == "gen_ai.client.inference.operation.details")
    values = {kv.key: kv.value for kv in details.attributes}
    assert (values["gen_ai.usage.input_tokens"].int_value, values["gen_ai.usage.output_tokens"].int_value) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert (details.trace_id.hex(), details.span_id.hex()) == (result["trace_id"], chat["span_id"])
    content = str(values["gen_ai.input.messages"]) + str(values["gen_ai.output.messages"])
    assert "charged twice" in content and "<EMAIL_ADDRESS>" in content and "<SECRET:" in content and "about the refund" in content

    # Nothing in clear anywhere under the data dir, nor in the logs; nothing in what was forwarded.
    written = _written(data_dir)
    forwarded = b"".join(r.request.SerializeToString() for r in next_hop.received if r.request is not None)
    for planted in PLANTED:
        assert planted.encode() not in written and planted not in caplog.text
        assert planted.encode() not in forwarded, "a planted value was forwarded"


def test_util_genai_log_records_forwarded_as_references(tmp_path: Path, fake_openai: FakeOpenAI, next_hop: NextHop) -> None:
    """content_in_forward: reference with content in log records: the next hop gets log records
    with `*_ref` attributes naming the span they were emitted in, and no content."""
    data_dir = tmp_path / "data"
    document = sidecar_document(
        data_dir,
        next_hop,
        {"vault_enabled": True, "spool": {"fsync": True, "flush_interval_seconds": 0.2}, "defaults": {"content_in_forward": "reference"}},
    )
    server = start_sidecar(parse_config(document))
    try:
        result = _run_app(fake_openai.url, server.base_url)
        wait_until(lambda: {r.path for r in next_hop.received} >= {"/v1/traces", "/v1/logs"}, "the forward of both signals")
    finally:
        server.stop()
    forwarded = b"".join(r.request.SerializeToString() for r in next_hop.received if r.request is not None)
    for text in [*PLANTED, "charged twice", "support assistant", "about the refund"]:
        assert text.encode() not in forwarded, "content left with the forwarded records"
    details = next(rec for rec in _forwarded_log_records(next_hop) if rec.event_name == "gen_ai.client.inference.operation.details")
    values = {kv.key: kv.value for kv in details.attributes}
    assert values["gen_ai.usage.input_tokens"].int_value == INPUT_TOKENS
    refs = {key: value.string_value for key, value in values.items() if key.endswith("_ref")}
    assert set(refs) == {"gen_ai.input.messages_ref", "gen_ai.output.messages_ref"}
    for key, ref in refs.items():
        parsed = parse_reference(ref)
        time = details.time_unix_nano or details.observed_time_unix_nano
        assert (parsed.tenant, parsed.trace_id, parsed.span_id) == ("acme", result["trace_id"], details.span_id.hex())
        assert parsed.locate() == ("log_attribute", time, key.removesuffix("_ref"))
