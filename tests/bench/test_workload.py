"""The benchmark's workload generator: deterministic, with the repetition structure it claims.

No timing here: speed is measured by `make bench`, never asserted in tests.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.workload import (
    DOCS_PER_REQUEST,
    POOL_SIZE,
    REALISTIC,
    SPAN_NAMES,
    SPANS_PER_TRACE,
    UNIQUE,
    Workload,
    WorkloadGenerator,
    generate,
    luhn_complete,
    span_words,
    to_request,
)

TRACES = 40


@pytest.fixture(scope="module")
def realistic():
    return generate(REALISTIC, TRACES, seed=7)


@pytest.fixture(scope="module")
def unique():
    return generate(UNIQUE, TRACES, seed=7)


def _fingerprint(workload) -> bytes:
    return to_request(workload.spans).SerializeToString()


def _attr(span, key):
    return span.attributes[key]


def _messages(trace):
    model_call = next(s for s in trace.spans if s.name == "model.call")
    return json.loads(_attr(model_call, "gen_ai.input.messages"))


@pytest.mark.parametrize("kind", [REALISTIC, UNIQUE])
def test_same_seed_same_workload_other_seed_other_workload(kind: str) -> None:
    first, again, other = generate(kind, 5, seed=1), generate(kind, 5, seed=1), generate(kind, 5, seed=2)
    assert _fingerprint(first) == _fingerprint(again)
    assert first.words == again.words
    assert _fingerprint(first) != _fingerprint(other)


def test_a_generator_continues_the_same_sequence() -> None:
    one = WorkloadGenerator(REALISTIC, seed=3)
    head, tail = one.workload(3), one.workload(2)
    assert _fingerprint(generate(REALISTIC, 5, seed=3)) == _fingerprint(Workload(REALISTIC, head.traces + tail.traces))


@pytest.mark.parametrize("kind", [REALISTIC, UNIQUE])
def test_every_trace_has_the_support_bot_span_mix(kind: str, realistic, unique) -> None:
    workload = realistic if kind == REALISTIC else unique
    assert workload.span_count == TRACES * SPANS_PER_TRACE
    for trace in workload.traces:
        assert tuple(s.name for s in trace.spans) == SPAN_NAMES
        root = trace.spans[0]
        assert root.parent is None
        assert {s.context.trace_id for s in trace.spans} == {root.context.trace_id}
        assert all(s.parent is not None for s in trace.spans[1:])
        assert all(s.end_time > s.start_time for s in trace.spans)
        model_call = trace.spans[SPAN_NAMES.index("model.call")]
        assert _attr(model_call, "gen_ai.usage.input_tokens") > 0 and _attr(model_call, "gen_ai.request.model").startswith("gpt-4o")
        retrieval = trace.spans[SPAN_NAMES.index("retrieval.vector_search")]
        contents = [_attr(retrieval, f"retrieval.documents.{k}.document.content") for k in range(DOCS_PER_REQUEST)]
        assert contents == trace.documents
        tool = trace.spans[SPAN_NAMES.index("tool.execute")]
        arguments = json.loads(_attr(tool, "gen_ai.tool.call.arguments"))
        assert re.fullmatch(r"NW-\d{6}", arguments["order_id"]) and arguments["customer_email"] == trace.person.email
        assert arguments.get("api_key") == trace.api_key
    # Some tool calls carry an API key, most do not.
    with_key = sum(t.api_key is not None for t in workload.traces)
    assert 0 < with_key < TRACES


def test_word_counts_are_the_words_of_the_string_attributes(realistic) -> None:
    for trace in realistic.traces[:3]:
        assert trace.words == [span_words(s) for s in trace.spans]
        model_call = trace.spans[SPAN_NAMES.index("model.call")]
        expected = sum(len(v.split()) for v in model_call.attributes.values() if isinstance(v, str))
        expected += sum(len(x.split()) for v in model_call.attributes.values() if isinstance(v, tuple) for x in v)
        assert span_words(model_call) == expected
    assert realistic.word_count == sum(realistic.words) and realistic.word_count > 1000 * TRACES


def test_realistic_system_prompt_and_template_repeat_on_every_request(realistic) -> None:
    prompts = {t.system_prompt for t in realistic.traces}
    templates = {t.template for t in realistic.traces}
    assert len(prompts) == 1 and len(templates) == 1
    prompt = prompts.pop()
    assert len(prompt.split()) > 250, "a long system prompt"
    for trace in realistic.traces:
        messages = _messages(trace)
        assert messages[0]["role"] == "system" and messages[0]["parts"][0]["content"] == prompt
        user_parts = [p["content"] for p in messages[-1]["parts"]]
        assert user_parts[0] == trace.template and user_parts[-1] == trace.user_turn


def test_realistic_documents_come_from_a_pool_with_skewed_popularity() -> None:
    generator = WorkloadGenerator(REALISTIC, seed=11)
    assert len(generator.pool) == POOL_SIZE and len({content for _, content in generator.pool}) == POOL_SIZE
    traces = generator.traces(300)
    retrieved = Counter(doc_id for t in traces for doc_id in t.document_ids)
    assert all(len(set(t.document_ids)) == DOCS_PER_REQUEST for t in traces)
    top10 = sum(n for _, n in retrieved.most_common(10))
    total = sum(retrieved.values())
    # Zipf-like: the 10 most popular of 300 documents (3%) take a large share of retrievals,
    # and the single most popular one is retrieved far more often than the median one.
    assert top10 / total > 0.25
    counts = sorted(retrieved.values(), reverse=True)
    assert counts[0] > 10 * counts[len(counts) // 2]
    pool = dict(generator.pool)
    for trace in traces[:20]:
        assert trace.documents == [pool[doc_id] for doc_id in trace.document_ids]


def test_unique_workload_never_repeats_a_document_prompt_or_paragraph(unique) -> None:
    documents = [d for t in unique.traces for d in t.documents]
    assert len(documents) == len(set(documents)) == TRACES * DOCS_PER_REQUEST
    assert len({t.system_prompt for t in unique.traces}) == TRACES
    assert len({t.template for t in unique.traces}) == TRACES
    paragraphs = [p for t in unique.traces for text in (t.system_prompt, *t.documents) for p in text.split("\n\n")]
    assert len(paragraphs) == len(set(paragraphs))
    greetings = [_messages(t)[1]["parts"][0]["content"] for t in unique.traces]
    assert len(set(greetings)) == TRACES


def test_both_workloads_have_about_the_same_size(realistic, unique) -> None:
    assert 0.8 < realistic.word_count / unique.word_count < 1.25


def test_user_turns_are_unique_and_carry_pii(realistic) -> None:
    turns = [t.user_turn for t in realistic.traces]
    assert len(set(turns)) == TRACES
    for trace in realistic.traces:
        person = trace.person
        assert person.full in trace.user_turn and person.email in trace.user_turn
        if person.card:
            assert person.card in trace.user_turn
            digits = re.sub(r"\D", "", person.card)
            assert len(digits) == 16 and luhn_complete(digits[:-1]) == digits
        answer = json.loads(_attr(trace.spans[SPAN_NAMES.index("model.call")], "gen_ai.output.messages"))
        assert person.first in answer[0]["parts"][0]["content"]
    assert any(person.phone in t.user_turn for t in realistic.traces for person in [t.person])
    assert any(t.person.card for t in realistic.traces)
    assert any(t.person.card is None for t in realistic.traces)


def test_luhn_check_digit() -> None:
    assert luhn_complete("411111111111111") == "4111111111111111"
    assert luhn_complete("555555555555444") == "5555555555554444"


def test_batches_encode_to_valid_otlp(realistic) -> None:
    batches = realistic.batches(50)
    assert sum(len(b.spans) for b in batches) == realistic.span_count
    assert all(len(b.spans) == 50 for b in batches[:-1])
    assert sum(b.words for b in batches) == realistic.word_count
    payload = batches[0].request().SerializeToString()
    request = ExportTraceServiceRequest.FromString(payload)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 50
    assert all(len(s.trace_id) == 16 and len(s.span_id) == 8 and s.name in SPAN_NAMES for s in spans)
    resource = {kv.key: kv.value.string_value for kv in request.resource_spans[0].resource.attributes}
    assert resource["service.name"] == "support-bot" and resource["deployment.environment.name"] == "prod"
    scopes = {ss.scope.name for rs in request.resource_spans for ss in rs.scope_spans}
    assert "opentelemetry.instrumentation.openai_v2" in scopes


def test_a_redacted_trace_keeps_no_planted_value(redactor, realistic) -> None:
    """The workload is one the redactor can read: no failures, and the planted PII is gone."""
    trace = ([t for t in realistic.traces if t.person.card and t.api_key] or realistic.traces)[0]
    request = to_request(trace.spans)
    counts = redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    assert counts.get("REDACTION_FAILED", 0) == 0
    output = request.SerializeToString().decode("utf-8", "replace")
    for value in (trace.person.email, trace.person.full, trace.person.card, trace.api_key):
        if value:
            assert value not in output


def test_a_long_unique_run_still_never_repeats_a_paragraph() -> None:
    # Some sentence banks have few variants; the generator must still find a new paragraph.
    workload = generate(UNIQUE, 400, seed=5)
    paragraphs = [p for t in workload.traces for text in (t.system_prompt, t.template, *t.documents) for p in text.split("\n\n")]
    assert len(paragraphs) == len(set(paragraphs))
