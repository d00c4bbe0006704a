"""A real GenAI instrumentation as the client: opentelemetry-util-genai under the openai-v2
instrumentation, content capture EVENT_ONLY (the content travels in log records, not spans).

An instrumented app (tests/sidecar/genai_app.py, its own process) calls a fake OpenAI endpoint
(aiohttp on loopback) through the real `openai` client, and exports spans and log records with
the SDK's OTLP/HTTP exporters to a running tracevault with its vault, which forwards both to a
next hop. Planted PII and secrets in the prompt (and in the answer) are absent from everything
stored (payloads decrypted through the reader, Parquet cells, every byte under the data dir) and
from everything forwarded; token counts survive; the log_metrics rows join the span rows on
trace_id in DuckDB.
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
from urllib.parse import quote

import duckdb
import pyarrow.parquet as pq
import pytest
import requests
from aiohttp import web

from policies.config import parse_config
from redactors.references import parse_reference
from tests.sidecar.conftest import MASTER_SECRET, WAIT_SECONDS, NextHop, free_port, sidecar_document, start_sidecar
from tests.sidecar.test_references_e2e import _grant
from tests.sidecar.test_vault_e2e import reader_for, wait_until
from vault.audit import AuditLog
from vault.audit import audit_key as derive_audit_key
from vault.store import LocalStore

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


def test_util_genai_event_only_through_tracevault(tmp_path: Path, fake_openai: FakeOpenAI, next_hop: NextHop, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    document = sidecar_document(data_dir, next_hop, {"vault_enabled": True, "spool": {"fsync": True, "flush_interval_seconds": 0.2}})
    server = start_sidecar(parse_config(document))
    try:
        result = _run_app(fake_openai.url, server.base_url)
        reader = reader_for(data_dir)
        wait_until(lambda: len(reader.read_metrics("acme")) == 2 and len(reader.read_metrics("acme", table="log_metrics")) >= 1, "the spool flush")
        wait_until(lambda: {r.path for r in next_hop.received} >= {"/v1/traces", "/v1/logs"}, "the forward of both signals")
    finally:
        server.stop()
    # The app really sent the planted prompt, and really got the answer back.
    assert fake_openai.requests and EMAIL in json.dumps(fake_openai.requests[0]) and result["completion"] == ANSWER

    reader = reader_for(data_dir)
    spans = reader.read_metrics("acme").to_pylist()
    logs = reader.read_metrics("acme", table="log_metrics").to_pylist()
    chat = next(r for r in spans if r["operation"] == "chat")
    assert (chat["input_tokens"], chat["output_tokens"], chat["request_model"]) == (INPUT_TOKENS, OUTPUT_TOKENS, "gpt-4o-mini")
    details = [r for r in logs if r["event_name"] == "gen_ai.client.inference.operation.details"]
    assert len(details) == 1 and details[0]["trace_id"] == result["trace_id"] == chat["trace_id"]
    assert (details[0]["input_tokens"], details[0]["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS)

    # The content reached the vault (in the log record), redacted: decrypted through the reader.
    payloads = [reader.payload(r["payload_ref"]) for r in [*spans, *logs] if r["payload_ref"]]
    assert len(payloads) == len(spans) + len(logs)
    stored = json.dumps(payloads, ensure_ascii=False)
    assert "charged twice" in stored and "<EMAIL_ADDRESS>" in stored and "<SECRET:" in stored
    for planted in PLANTED:
        assert planted not in stored, "a planted value is in a decrypted payload"

    # Nothing in clear anywhere under the data dir, nor in the logs; nothing in what was forwarded.
    written = _written(data_dir)
    forwarded = b"".join(r.request.SerializeToString() for r in next_hop.received if r.request is not None)
    for planted in PLANTED:
        assert planted.encode() not in written and planted not in caplog.text
        assert planted.encode() not in forwarded, "a planted value was forwarded"
    assert b"charged twice" in forwarded, "the redacted content is forwarded (content_in_forward: redacted)"

    # The two tables join on trace_id.
    store = data_dir / "store"
    joined = duckdb.sql(
        f"""
        select s.trace_id, s.span_id, s.input_tokens, l.event_name, l.input_tokens
        from read_parquet('{store}/metrics/**/*.parquet', hive_partitioning=true) s
        join read_parquet('{store}/log_metrics/**/*.parquet', hive_partitioning=true) l
          on s.trace_id = l.trace_id and s.span_id = l.span_id
        where s.tenant = 'acme'
        """
    ).fetchall()
    assert joined == [(result["trace_id"], chat["span_id"], INPUT_TOKENS, "gen_ai.client.inference.operation.details", INPUT_TOKENS)]


def test_util_genai_log_records_forwarded_as_references(tmp_path: Path, fake_openai: FakeOpenAI, next_hop: NextHop) -> None:
    """content_in_forward: reference with content in log records: the next hop gets log records
    with `*_ref` attributes and no content; each reference resolves with a grant to the
    redacted content of that log record, audited."""
    data_dir = tmp_path / "data"
    document = sidecar_document(
        data_dir,
        next_hop,
        {
            "vault_enabled": True,
            "spool": {"fsync": True, "flush_interval_seconds": 0.2},
            "access": {"admin_enabled": True, "admin_port": 0},
            "defaults": {"content_in_forward": "reference"},
        },
    )
    server = start_sidecar(parse_config(document))
    try:
        result = _run_app(fake_openai.url, server.base_url)
        reader = reader_for(data_dir)
        wait_until(lambda: len(reader.read_metrics("acme", table="log_metrics")) >= 1, "the spool flush")
        wait_until(lambda: {r.path for r in next_hop.received} >= {"/v1/traces", "/v1/logs"}, "the forward of both signals")
        forwarded = b"".join(r.request.SerializeToString() for r in next_hop.received if r.request is not None)
        for text in [*PLANTED, "charged twice", "support assistant", "about the refund"]:
            assert text.encode() not in forwarded, "content left with the forwarded records"
        records = [rec for r in next_hop.received if r.path == "/v1/logs" for rl in r.request.resource_logs for sl in rl.scope_logs for rec in sl.log_records]
        details = next(rec for rec in records if rec.event_name == "gen_ai.client.inference.operation.details")
        values = {kv.key: kv.value for kv in details.attributes}
        assert values["gen_ai.usage.input_tokens"].int_value == INPUT_TOKENS
        refs = {key: value.string_value for key, value in values.items() if key.endswith("_ref")}
        assert set(refs) == {"gen_ai.input.messages_ref", "gen_ai.output.messages_ref"}
        token = _grant(server.config)
        resolved = {}
        for key, ref in refs.items():
            assert parse_reference(ref).trace_id == result["trace_id"]
            url = f"http://127.0.0.1:{server.running.admin_port}/v1/references?ref={quote(ref, safe='')}"
            response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=WAIT_SECONDS)
            assert response.status_code == 200, response.text
            resolved[key] = json.dumps(response.json()["value"])
    finally:
        server.stop()
    assert "charged twice" in resolved["gen_ai.input.messages_ref"] and "<EMAIL_ADDRESS>" in resolved["gen_ai.input.messages_ref"]
    assert "about the refund" in resolved["gen_ai.output.messages_ref"]
    for planted in PLANTED:
        assert planted not in json.dumps(resolved)
    audited = [r for r in AuditLog(LocalStore(data_dir / "store"), key=derive_audit_key(MASTER_SECRET)).show("acme") if r["action"] == "payload.ref"]
    assert sorted(r["asked"]["attribute"].rsplit("/", 1)[1] for r in audited if r["outcome"] == "allowed") == ["gen_ai.input.messages", "gen_ai.output.messages"]
