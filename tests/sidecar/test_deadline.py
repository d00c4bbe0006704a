"""A redaction that passes its deadline fails closed: every value masked, nothing passed through."""

from __future__ import annotations

import asyncio
import json
import threading

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import parse_config
from redactors.engine import Redactor
from redactors.pii import PiiAnalyzer, PiiFinding
from sidecar.workers import RedactionPool
from tests.redactors.otlp_builders import attribute, make_request, make_span

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
