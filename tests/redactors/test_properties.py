"""Property tests: redaction never raises on valid OTLP, keeps it valid, and keeps ids."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from redactors.engine import Redactor
from redactors.walker import py_to_any
from sidecar import otlp

KNOWN_KEYS = [
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "input.value",
    "user.id", "session.id", "url.full", "gen_ai.request.model", "gen_ai.usage.input_tokens",
    "llm.input_messages.0.message.content", "traceloop.entity.input", "password", "api_key",
    "embedding.embeddings.0.embedding.vector", "exception.message", "app.note",
]  # fmt: skip

texty = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["maria@example.org", "4111 1111 1111 1111", "my name is john", "{}", "[1, 2]", '{"a": "b@c.io"}', "%40", "\\u0040", "data:image/png;base64,AAAA"]),
)
leaf = st.one_of(texty, st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=False), st.booleans(), st.binary(max_size=8), st.none())
tree = st.recursive(
    leaf,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(min_size=1, max_size=12), children, max_size=4)),
    max_leaves=12,
)
json_leaf = st.one_of(texty, st.integers(min_value=-(2**53), max_value=2**53), st.booleans(), st.none())
json_string = st.recursive(
    json_leaf,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(min_size=1, max_size=12), children, max_size=4)),
    max_leaves=12,
).map(json.dumps)
attribute_values = st.one_of(tree, json_string)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=20))


@st.composite
def spans(draw: Any) -> Span:
    span = Span(
        trace_id=draw(st.binary(min_size=16, max_size=16)),
        span_id=draw(st.binary(min_size=8, max_size=8)),
        parent_span_id=draw(st.one_of(st.just(b""), st.binary(min_size=8, max_size=8))),
        name=draw(texty),
        kind=draw(st.integers(min_value=0, max_value=5)),
    )
    for key, value in draw(st.dictionaries(keys, attribute_values, max_size=5)).items():
        span.attributes.add(key=key, value=py_to_any(value))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        event = span.events.add(name=draw(st.sampled_from(["exception", "gen_ai.user.message", "x"])))
        for key, value in draw(st.dictionaries(keys, attribute_values, max_size=3)).items():
            event.attributes.add(key=key, value=py_to_any(value))
    if draw(st.booleans()):
        link = span.links.add(trace_id=draw(st.binary(min_size=16, max_size=16)), span_id=draw(st.binary(min_size=8, max_size=8)))
        link.attributes.add(key="note", value=py_to_any(draw(texty)))
    span.status.message = draw(texty)
    return span


@st.composite
def requests(draw: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        resource_spans = ResourceSpans()
        for key, value in draw(st.dictionaries(keys, attribute_values, max_size=3)).items():
            resource_spans.resource.attributes.add(key=key, value=py_to_any(value))
        scope = resource_spans.scope_spans.add()
        scope.spans.extend(draw(st.lists(spans(), min_size=1, max_size=3)))
        request.resource_spans.append(resource_spans)
    return request


def _ids(request: ExportTraceServiceRequest) -> list[tuple[bytes, bytes, bytes]]:
    return [(s.trace_id, s.span_id, s.parent_span_id) for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=requests())
def test_redact_never_raises_keeps_otlp_valid_and_ids(redactor: Redactor, request: ExportTraceServiceRequest) -> None:
    ids_before = _ids(request)
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    wire = request.SerializeToString()
    reparsed = ExportTraceServiceRequest.FromString(wire)
    assert _ids(reparsed) == ids_before
    # And it survives the OTLP/JSON codec used by `tracevault redact`.
    assert _ids(otlp.decode_json_request(otlp.encode_json_request(reparsed))) == ids_before
