"""A redaction that passes its deadline fails closed: every value masked, nothing passed through."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from policies.config import parse_config
from redactors.anyvalue import any_to_py
from redactors.engine import Redactor
from redactors.pii import PiiAnalyzer, PiiFinding
from sidecar import otlp
from sidecar.workers import STALL_ENV, RedactionPool
from tests.procs import redaction_workers
from tests.redactors.otlp_builders import attribute, make_log_record, make_log_request, make_request, make_span
from tests.sidecar.conftest import WAIT_SECONDS, json_request

SECRET = bytes(range(32))
MARKER = "STALL-HERE"


class StallingAnalyzer(PiiAnalyzer):
    """Fault injection at the detector boundary: hangs on a marker until released."""

    release = threading.Event()

    def analyze(self, text, artifacts, entities, threshold) -> list[PiiFinding]:  # type: ignore[override]
        if MARKER in text:
            self.release.wait(30)
        return super().analyze(text, artifacts, entities, threshold)


def test_a_stalled_redaction_fails_closed_and_the_pool_recovers(analyzer: PiiAnalyzer) -> None:
    config = parse_config({"server": {"workers": 0, "redaction_timeout_seconds": 0.5}})
    stalling = Redactor.build(config, SECRET, analyzer=StallingAnalyzer(analyzer._nlp))
    pool = RedactionPool(config, SECRET, local_redactor=stalling)
    attributes = {
        "input.value": f"{MARKER} my email is maria@example.org",
        "gen_ai.tool.call.arguments": json.dumps({"note": "call me on +1 415 555 0132"}),
        "user.id": "customer-8812",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 42,
    }
    request = make_request([make_span(name="chat about maria@example.org", attributes=attributes)])

    async def run() -> tuple:
        stalled, counts = await pool.redact("acme", "prod", request.SerializeToString())
        normal, _ = await pool.redact("acme", "prod", make_request([make_span(attributes={"input.value": "mail maria@example.org"})]).SerializeToString())
        return stalled, counts, normal

    try:
        stalled, counts, normal = asyncio.run(run())
    finally:
        StallingAnalyzer.release.set()
        pool.shutdown()
    assert stalled.failed_closed and stalled.payload_mode == "redacted"
    out = ExportTraceServiceRequest.FromString(stalled.request)
    span = out.resource_spans[0].scope_spans[0].spans[0]
    assert b"maria@example.org" not in stalled.request and b"555 0132" not in stalled.request and MARKER.encode() not in stalled.request
    assert attribute(span, "input.value").string_value == "<REDACTION_FAILED>"
    assert attribute(span, "gen_ai.request.model").string_value == "<REDACTION_FAILED>", "nothing is scanned, so nothing is trusted"
    assert attribute(span, "gen_ai.usage.input_tokens").int_value == 42, "numbers carry no text"
    assert attribute(span, "user.id").string_value.startswith("pn:"), "identifiers are still pseudonymised"
    assert span.name == "<REDACTION_FAILED>"
    assert counts["REDACTION_FAILED"] >= 4
    # The stuck executor was replaced: the next request is redacted normally.
    assert not normal.failed_closed and b"<EMAIL_ADDRESS>" in normal.request


def test_a_stalled_logs_redaction_fails_closed(analyzer: PiiAnalyzer) -> None:
    """The same deadline and the same fail-closed walk for log records: body, attributes, event
    name and severity text masked, identifiers pseudonymised, ids kept."""
    config = parse_config({"server": {"workers": 0, "redaction_timeout_seconds": 0.5}})
    stalling = Redactor.build(config, SECRET, analyzer=StallingAnalyzer(analyzer._nlp))
    pool = RedactionPool(config, SECRET, local_redactor=stalling)
    record = make_log_record(
        {"role": "user", "content": f"{MARKER} my email is maria@example.org"},
        {"user.id": "customer-8812", "app.note": "call me on +1 415 555 0132", "gen_ai.usage.input_tokens": 42},
        event_name="gen_ai.client.inference.operation.details",
    )
    payload = make_log_request([record]).SerializeToString()
    StallingAnalyzer.release.clear()

    async def run() -> tuple:
        stalled, counts = await pool.redact("acme", "prod", payload, signal="logs")
        normal, _ = await pool.redact("acme", "prod", make_log_request([make_log_record("mail maria@example.org")]).SerializeToString(), signal="logs")
        return stalled, counts, normal

    try:
        stalled, counts, normal = asyncio.run(run())
    finally:
        StallingAnalyzer.release.set()
        pool.shutdown()
    assert stalled.failed_closed
    assert b"maria@example.org" not in stalled.request and b"555 0132" not in stalled.request and MARKER.encode() not in stalled.request
    out = ExportLogsServiceRequest.FromString(stalled.request).resource_logs[0].scope_logs[0].log_records[0]
    assert any_to_py(out.body) == {"role": "<REDACTION_FAILED>", "content": "<REDACTION_FAILED>"}
    attributes = {kv.key: kv.value for kv in out.attributes}
    assert attributes["user.id"].string_value.startswith("pn:")
    assert attributes["gen_ai.usage.input_tokens"].int_value == 42
    assert out.event_name == "<REDACTION_FAILED>" and out.severity_text == "<REDACTION_FAILED>"
    assert (out.trace_id, out.span_id) == (record.trace_id, record.span_id)
    assert counts["REDACTION_FAILED"] >= 4
    assert not normal.failed_closed and b"<EMAIL_ADDRESS>" in normal.request


STALL = "STALL-IN-WORKER"


@pytest.mark.slow
def test_a_hung_worker_is_killed_alone_and_the_queued_requests_are_answered(make_sidecar, next_hop, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real hang in a worker process: only that worker is killed; every other request is
    redacted normally, none is cancelled or left without an HTTP answer."""
    monkeypatch.setenv(STALL_ENV, STALL)  # inherited by the worker processes only
    server = make_sidecar({"server": {"workers": 2, "redaction_timeout_seconds": 6}})
    before = set(redaction_workers(os.getpid()))
    headers = {"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}

    def post(content: str, trace: int) -> requests.Response:
        document = json_request(trace_id=f"{trace:032x}")
        document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append({"key": "input.value", "value": {"stringValue": content}})
        return requests.post(server.traces_url, data=json.dumps(document), headers=headers, timeout=WAIT_SECONDS)

    deadline = time.monotonic() + 6 + 2

    def stream(client: int) -> list[tuple[int, requests.Response | None]]:
        # Requests keep arriving until after the deadline: some are queued when it passes.
        out = []
        n = 0
        while time.monotonic() < deadline:
            trace = 1000 * (client + 1) + n
            try:
                out.append((trace, post(f"request {trace}: mail maria@example.org", trace)))
            except requests.ConnectionError:
                out.append((trace, None))  # closed without an HTTP answer
            n += 1
        return out

    with ThreadPoolExecutor(max_workers=5) as clients:
        stalled = clients.submit(post, f"{STALL} mail maria@example.org", 1)
        time.sleep(0.5)  # the stalled request holds a worker first
        streams = [clients.submit(stream, client) for client in range(4)]
        answers = [item for future in streams for item in future.result()]
        stalled_answer = stalled.result()
    assert len(answers) >= 8
    assert all(answer is not None for _, answer in answers), "a request was left without an HTTP answer"
    assert [a.status_code for _, a in answers] == [200] * len(answers), "requests beside the hang were refused"
    assert stalled_answer.status_code == 200, "the hung request is answered: failed closed"
    by_trace = {r.request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex(): r.request.SerializeToString() for r in next_hop.received}
    assert b"<REDACTION_FAILED>" in by_trace[f"{1:032x}"] and STALL.encode() not in by_trace[f"{1:032x}"]
    for trace, _ in answers:
        body = by_trace[f"{trace:032x}"]
        assert b"<EMAIL_ADDRESS>" in body and b"<REDACTION_FAILED>" not in body, "an innocent request was failed closed"
    after = set(redaction_workers(os.getpid()))
    killed = before - after
    assert len(killed) == 1, "exactly one worker (the hung one) was killed"
    assert len(before & after) >= 1, "the other worker kept running"
