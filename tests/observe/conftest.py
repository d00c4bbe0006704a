"""A store written by the real server: the benchmark workload plus a day of steady traffic and an
hour in which one tenant regresses.

Timeline (span start times, UTC):

- 2026-01-01 00:00: the benchmark workload (``bench/workload.py``, realistic), tenant ``acme``;
- 2026-01-01 12:00 - 13:00: a steady baseline, tenants ``acme`` and ``globex``;
- 2026-01-02 11:05 - 11:55 (the hour before :data:`NOW`): ``globex`` steady, ``acme`` regressed
  (TTFT x3, TPOT x2, 40% refusals, 40% tool failures, retrieval scores down, three times the
  tokens).

Everything is posted as OTLP/protobuf over HTTP to a server on loopback with the vault on; the
server is stopped (flushing the spool) before the tests read the store.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from bench.workload import REALISTIC, generate, to_request
from policies.config import Config, parse_config
from tests.redactors.otlp_builders import kv, make_request
from tests.sidecar.conftest import MASTER_KEY_ENV, MASTER_SECRET, WAIT_SECONDS, sidecar_document, start_sidecar

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)
WORKLOAD_TRACES = 24
STEADY_TRACES = 30
_MS = 1_000_000
_BASELINE_NS = int(datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc).timestamp()) * 10**9
_WINDOW_NS = int(datetime(2026, 1, 2, 11, 5, tzinfo=timezone.utc).timestamp()) * 10**9
QUESTIONS = {
    "en": "Where is my parcel? It was due yesterday and the tracking page has not changed since Monday.",
    "fr": "Bonjour, je voudrais savoir où se trouve mon colis, il devait arriver hier matin.",
    "es": "Hola, quisiera saber dónde está mi paquete, tenía que llegar ayer por la mañana.",
    "de": "Guten Tag, wo ist mein Paket? Es sollte gestern ankommen und die Sendungsverfolgung steht still.",
}
ANSWER = "Your parcel left the depot this morning and should arrive before six tonight."
REFUSAL = "I'm sorry, but I can't help with that request."


@dataclass(frozen=True)
class ObservedStore:
    config: Config
    config_path: Path
    root: Path
    workload_trace: str  # a trace id of the benchmark workload
    regressed_trace: str  # a trace id of the regressed hour


def _trace(index: int, start_ns: int, *, regressed: bool, language: str) -> list[Span]:
    trace_id = os.urandom(16)
    ttft, tokens, duration = (600, 101, 4600) if regressed else (200, 101, 2200)  # TPOT 40 ms vs 20 ms
    refuses = regressed and index % 5 < 2
    tool_fails = regressed and index % 5 in (1, 3)
    root_id, chat_id, tool_id, retrieval_id = (os.urandom(8) for _ in range(4))

    def span(span_id: bytes, name: str, begin_ms: int, length_ms: int, attributes: dict, parent: bytes = root_id) -> Span:
        built = Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent if span_id != root_id else b"", name=name,
                     kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=start_ns + begin_ms * _MS,
                     end_time_unix_nano=start_ns + (begin_ms + length_ms) * _MS)
        built.attributes.extend(kv(k, v) for k, v in attributes.items())
        return built

    messages_in = [{"role": "user", "parts": [{"type": "text", "content": QUESTIONS[language]}]}]
    messages_out = [{"role": "assistant", "parts": [{"type": "text", "content": REFUSAL if refuses else ANSWER}], "finish_reason": "stop"}]
    chat = span(chat_id, "chat gpt-4o", 300, duration, {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 3000 if regressed else 1000, "gen_ai.usage.output_tokens": tokens,
        "gen_ai.response.time_to_first_chunk": ttft / 1000, "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.input.messages": json.dumps(messages_in), "gen_ai.output.messages": json.dumps(messages_out),
        "http.request.resend_count": 1 if regressed and index % 4 == 0 else 0,
    })
    event = chat.events.add(name="gen_ai.evaluation.result", time_unix_nano=start_ns + 5000 * _MS)
    event.attributes.extend([kv("gen_ai.evaluation.name", "relevance"), kv("gen_ai.evaluation.score.value", 0.4 if regressed else 0.9),
                             kv("gen_ai.evaluation.explanation", "The answer names the depot and the delivery time.")])
    tool = span(tool_id, "execute_tool track_parcel", 2600, 400, {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "track_parcel",
                                                                  **({"error.type": "TimeoutError"} if tool_fails else {})})
    if tool_fails:
        tool.status.code = Status.STATUS_CODE_ERROR
    score = 0.55 if regressed else 0.85
    retrieval = span(retrieval_id, "retrieval.vector_search", 10, 280, {f"retrieval.documents.{k}.document.score": score - 0.02 * k for k in range(3)})
    root = span(root_id, "orchestrator.route", 0, duration + 1200, {"feature": "support_answer"})
    return [root, retrieval, chat, tool]


def _post(url: str, tenant: str, request: ExportTraceServiceRequest) -> None:
    answer = requests.post(url, data=request.SerializeToString(), timeout=WAIT_SECONDS,
                           headers={"Content-Type": "application/x-protobuf", "X-Tenant-Id": tenant})
    assert answer.status_code == 200, answer.status_code


@pytest.fixture(scope="session")
def observed_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObservedStore]:
    data_dir = tmp_path_factory.mktemp("observed")
    document = sidecar_document(data_dir, None, {
        "vault_enabled": True,
        "spool": {"fsync": False, "flush_interval_seconds": 0.2},
        "server": {"max_body_bytes": 8 * 1024 * 1024, "max_decompressed_bytes": 32 * 1024 * 1024},
        "alerts": {"baseline_hours": 48, "min_samples": 10},
    })
    config_path = data_dir / "tracevault.json"
    config_path.write_text(json.dumps(document))
    previous = os.environ.get(MASTER_KEY_ENV)
    os.environ[MASTER_KEY_ENV] = base64.b64encode(MASTER_SECRET).decode()
    try:  # the key is in the environment only while the server runs, not for the rest of the session
        config = parse_config(document)
        server = start_sidecar(config)
        try:
            workload = generate(REALISTIC, WORKLOAD_TRACES)
            for batch in workload.batches(45):
                _post(server.traces_url, "acme", to_request(batch.spans))
            regressed_trace = _send_timeline(server.traces_url)
        finally:
            server.stop()
    finally:
        if previous is None:
            os.environ.pop(MASTER_KEY_ENV, None)
        else:
            os.environ[MASTER_KEY_ENV] = previous
    workload_trace = workload.traces[0].spans[0].context.trace_id.to_bytes(16, "big").hex()
    yield ObservedStore(config, config_path, data_dir / "store", workload_trace, regressed_trace)


def _send_timeline(url: str) -> str:
    """The steady baseline for both tenants, then the last hour (acme regressed); a regressed trace id."""
    languages = list(QUESTIONS)
    regressed_trace = ""
    for tenant in ("acme", "globex"):
        for i in range(STEADY_TRACES):
            _post(url, tenant, make_request(_trace(i, _BASELINE_NS + i * 120_000 * _MS, regressed=False, language=languages[i % 4])))
        for i in range(STEADY_TRACES):
            spans = _trace(i, _WINDOW_NS + i * 100_000 * _MS, regressed=tenant == "acme", language=languages[i % 4])
            _post(url, tenant, make_request(spans))
            if tenant == "acme":
                regressed_trace = spans[0].trace_id.hex()
    return regressed_trace
