"""Issue 11 at the walker, one table per item, each planted row with a benign twin that must
survive: fields never visited (1), the structural class (3), numbers (4), base64 and hex (6).
Items 2, 5 and 7 are in `tests/sidecar/test_failopen.py`; the property test that is the spec
is `test_every_field.py` (and its end-to-end twin in tests/sidecar)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import EntityRef

from redactors.engine import Redactor
from redactors.walker import py_to_any
from tests.redactors.otlp_builders import attribute, kv, make_request, make_span

EMAIL = "sarah.connor@example.com"
TOKEN = "ghp_" + "Zq7XmK2pL9vR4sT8wY1bN6cD3fG5hJ0kQ2wE"
SSN = "123-45-6789"
CARD = "4111-1111-1111-1111"
PERSON = "Sarah Connor"


def _redacted(redactor: Redactor, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    items = list(request.resource_spans)
    redactor.redact_resource_spans(items, "acme", "prod")
    return ExportTraceServiceRequest(resource_spans=items)


def _wire(request: ExportTraceServiceRequest) -> bytes:
    return request.SerializeToString()


# -- item 1: fields the walker never visited ---------------------------------------------------------


def _span_key(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(kv(text, "v"))


def _resource_key(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].resource.attributes.append(kv(text, "v"))


def _scope_key(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].scope.attributes.append(kv(text, "v"))


def _event_key(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].spans[0].events.add(name="x").attributes.append(kv(text, "v"))


def _link_key(request: ExportTraceServiceRequest, text: str) -> None:
    link = request.resource_spans[0].scope_spans[0].spans[0].links.add(trace_id=os.urandom(16), span_id=os.urandom(8))
    link.attributes.append(kv(text, "v"))


def _kvlist_key(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].spans[0].attributes.append(kv("app.meta", {text: 1}))


def _scope_name(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].scope.name = text


def _scope_version(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].scope.version = text


def _entity_type(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].resource.entity_refs.append(EntityRef(type=text, id_keys=["service.name"]))


def _entity_id_key(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].resource.entity_refs.append(EntityRef(type="service", id_keys=[text], description_keys=[text]))


def _entity_schema_url(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].resource.entity_refs.append(EntityRef(type="service", schema_url=text))


def _resource_schema_url(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].schema_url = text


def _scope_schema_url(request: ExportTraceServiceRequest, text: str) -> None:
    request.resource_spans[0].scope_spans[0].schema_url = text


UNVISITED: list[tuple[str, Callable[[ExportTraceServiceRequest, str], None], str]] = [
    # (where, how to plant, a benign value that must survive there)
    ("span-attribute-key", _span_key, "app.order_id"),
    ("resource-attribute-key", _resource_key, "k8s.pod.name"),
    ("scope-attribute-key", _scope_key, "library.language"),
    ("event-attribute-key", _event_key, "exception.type"),
    ("link-attribute-key", _link_key, "link.reason"),
    ("kvlist-key", _kvlist_key, "retries"),
    ("scope-name", _scope_name, "opentelemetry.instrumentation.openai"),
    ("scope-version", _scope_version, "0.48b0"),
    ("entity-ref-type", _entity_type, "service"),
    ("entity-ref-keys", _entity_id_key, "service.instance.id"),
    ("entity-ref-schema-url", _entity_schema_url, "https://opentelemetry.io/schemas/1.26.0"),
    ("resource-schema-url", _resource_schema_url, "https://opentelemetry.io/schemas/1.26.0"),
    ("scope-schema-url", _scope_schema_url, "https://opentelemetry.io/schemas/1.21.0"),
]


@pytest.mark.parametrize(("where", "plant", "benign"), UNVISITED, ids=[row[0] for row in UNVISITED])
@pytest.mark.parametrize("planted", [EMAIL, TOKEN, f"https://{EMAIL}/x"], ids=["email", "token", "url-with-email"])
def test_every_field_is_visited(redactor: Redactor, where: str, plant: Callable, benign: str, planted: str) -> None:
    request = make_request([make_span()])
    plant(request, planted)
    out = _wire(_redacted(redactor, request))
    assert planted.encode() not in out and EMAIL.encode() not in out and TOKEN.encode() not in out, where
    twin = make_request([make_span()])
    plant(twin, benign)
    assert benign.encode() in _wire(_redacted(redactor, twin)), f"{where}: the benign twin must survive"


# -- item 3: structure only with the right shape -------------------------------------------------------

STRUCTURAL = [
    # (where, attribute key, planted value, benign value that stays)
    ("json-id", "gen_ai.output.messages", json.dumps([{"role": "assistant", "parts": [{"type": "tool_call", "id": EMAIL, "name": "f"}]}]), "call_0a1b2c"),
    ("json-index", "gen_ai.input.messages", json.dumps([{"role": "user", "index": SSN, "parts": []}]), 0),
    ("json-format", "gen_ai.tool.call.arguments", json.dumps({"format": PERSON}), "json_schema"),
    ("json-role", "gen_ai.input.messages", json.dumps([{"role": EMAIL, "parts": []}]), "user"),
    ("json-model", "gen_ai.tool.call.result", json.dumps({"result": {"model": CARD}}), "gpt-4o-mini"),
    ("json-language", "gen_ai.tool.call.arguments", json.dumps({"deep": [{"language": f"ssn {SSN}"}]}), "python"),
    ("tool-call-name", "gen_ai.output.messages", json.dumps([{"role": "assistant", "parts": [{"type": "tool_call", "name": EMAIL}]}]), "get_weather"),
    ("tracevault-namespace", "tracevault.note", EMAIL, "note-1"),
    ("otel-status-description", "otel.status_description", f"failed for {EMAIL}", "ERROR"),
    ("code-stacktrace", "code.stacktrace", f'File "app.py", line 3, in lookup({EMAIL!r})', "app.lookup"),
    ("rpc-namespace", "rpc.method", CARD, "GetOrder"),
    ("service-namespace", "service.name", PERSON, "support-bot"),
    ("gen-ai-request-namespace", "gen_ai.request.model", SSN, "gpt-4o-mini"),
    ("error-type", "error.type", EMAIL, "TimeoutError"),
    ("tool-name-attribute", "gen_ai.tool.name", f"lookup_{SSN}", "lookup_order"),
]


def _leaf_value(value: Any, benign: Any) -> Any:
    """The JSON rows' benign twin: the planted leaf replaced by the benign value."""
    text = json.dumps(json.loads(value))
    for planted in (EMAIL, SSN, CARD, PERSON, f"ssn {SSN}"):
        text = text.replace(json.dumps(planted), json.dumps(benign))
    return text


@pytest.mark.parametrize(("where", "key", "value", "benign"), STRUCTURAL, ids=[row[0] for row in STRUCTURAL])
def test_structure_needs_its_shape(redactor: Redactor, where: str, key: str, value: str, benign: Any) -> None:
    request = make_request([make_span(attributes={key: value})])
    out = _wire(_redacted(redactor, request))
    for planted in (EMAIL, SSN, CARD, PERSON, SSN.replace("-", ""), CARD.replace("-", "")):
        assert planted.encode() not in out, where
    twin_value = _leaf_value(value, benign) if value.startswith(("[", "{")) else benign
    twin = make_request([make_span(attributes={key: twin_value})])
    before = _wire(twin)
    assert _wire(_redacted(redactor, twin)) == before, f"{where}: the benign twin must be kept as it is"


@pytest.mark.parametrize(
    ("planted_name", "benign_name"),
    [(EMAIL, "gen_ai.user.message"), (f"order for {PERSON}", "exception"), (SSN, "gen_ai.choice")],
)
def test_event_names_need_a_token_shape(redactor: Redactor, planted_name: str, benign_name: str) -> None:
    request = make_request([make_span(events=[(planted_name, {}), (benign_name, {})])])
    span = _redacted(redactor, request).resource_spans[0].scope_spans[0].spans[0]
    assert planted_name not in span.events[0].name
    assert span.events[1].name == benign_name


@pytest.mark.parametrize(
    ("planted_state", "benign_state"),
    [(f"user={EMAIL}", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), (f"acct=ssn {SSN}", "dd=s:1;t.dm:-4"), (f"x={CARD}", "vendor@tenant=abc")],
)
def test_trace_state_needs_its_shape(redactor: Redactor, planted_state: str, benign_state: str) -> None:
    planted_span, benign_span = make_span(), make_span()
    planted_span.trace_state, benign_span.trace_state = planted_state, benign_state
    spans = _redacted(redactor, make_request([planted_span, benign_span])).resource_spans[0].scope_spans[0].spans
    for fragment in (EMAIL, SSN, CARD):
        assert fragment not in spans[0].trace_state
    assert spans[1].trace_state == benign_state


# -- item 4: numbers -----------------------------------------------------------------------------------

NUMBERS = [
    # (where, attribute key, planted value, what must not survive)
    ("int-ssn", "app.customer_ref", 123456789, "123456789"),
    ("int-phone", "app.callback", 2125550147, "2125550147"),
    ("int-card", "app.payment", 4111111111111111, "4111111111111111"),
    ("int-international-phone", "app.contact", 447911123456, "447911123456"),
    ("double-card", "app.amount", 4111111111111111.0, "4111111111111111"),
    ("json-number-in-json-string", "gen_ai.tool.call.arguments", json.dumps({"card": 4111111111111111, "n": 5}), "4111111111111111"),
    ("json-number-deep", "gen_ai.tool.call.result", json.dumps([{"rows": [{"ssn": 123456789}]}]), "123456789"),
    ("kvlist-number", "app.meta", {"phone": 2125550147}, "2125550147"),
    ("digits-string", "app.note", "4111111111111111", "4111111111111111"),
]
KEPT_NUMBERS = [
    # (attribute key, value): counts, token numbers, timestamps and ids on keys that hold them,
    # and numbers without a PII's shape anywhere
    ("gen_ai.usage.input_tokens", 4111111111111111),
    ("llm.token_count.prompt", 123456789),
    ("app.retry_count", 2125550147),
    ("app.created_at", 1_700_000_000),
    ("app.created_ms", 1_700_000_000_123),
    ("app.event_time", 1_764_000_000_000_000_000),
    ("app.order_number", 3456789012),
    ("app.limit", 50),
    ("gen_ai.request.temperature", 0.2),
]


@pytest.mark.parametrize(("where", "key", "value", "vanish"), NUMBERS, ids=[row[0] for row in NUMBERS])
def test_numbers_of_pii_shape_are_masked(redactor: Redactor, where: str, key: str, value: Any, vanish: str) -> None:
    request = make_request([make_span(attributes={key: value})])
    span = _redacted(redactor, request).resource_spans[0].scope_spans[0].spans[0]
    out = attribute(span, key)
    assert vanish not in str(out), where
    assert vanish not in json.dumps(str(out))


@pytest.mark.parametrize(("key", "value"), KEPT_NUMBERS)
def test_counts_timestamps_and_plain_numbers_are_kept(redactor: Redactor, key: str, value: Any) -> None:
    request = make_request([make_span(attributes={key: value})])
    span = _redacted(redactor, request).resource_spans[0].scope_spans[0].spans[0]
    assert attribute(span, key) == py_to_any(value)


def test_json_numbers_keep_their_benign_twins(redactor: Redactor) -> None:
    arguments = json.dumps({"card": 4111111111111111, "limit": 5, "index": 3, "created": 1_700_000_000})
    span = _redacted(redactor, make_request([make_span(attributes={"gen_ai.tool.call.arguments": arguments})])).resource_spans[0].scope_spans[0].spans[0]
    out = json.loads(attribute(span, "gen_ai.tool.call.arguments").string_value)
    assert out == {"card": "<CREDIT_CARD>", "limit": 5, "index": 3, "created": 1_700_000_000}


# -- item 6: base64 and hex ------------------------------------------------------------------------------

ENCODED = [
    # (where, value, must not survive)
    ("base64-secret-and-email", base64.b64encode(f"token={TOKEN} mail {EMAIL}".encode()).decode(), EMAIL),
    ("base64-urlsafe", base64.urlsafe_b64encode(f"reach me at {EMAIL}??>>".encode()).decode(), EMAIL),
    ("base64-unpadded", base64.b64encode(f"api key {TOKEN}".encode()).decode().rstrip("="), TOKEN),
    ("base64-wrapped-mime", base64.encodebytes(f"{EMAIL} ".encode() * 4).decode(), EMAIL),
    ("base64-of-base64", base64.b64encode(base64.b64encode(f"mail {EMAIL}".encode())).decode(), EMAIL),
    ("hex-email", f"contact {EMAIL}".encode().hex(), EMAIL),
    ("base64-binary-blob", base64.b64encode(bytes(range(256)) * 2).decode(), "AAECAwQFBgcICQoL"),
    ("base64-in-json-leaf", json.dumps({"file": base64.b64encode(f"ssn {SSN}, {EMAIL}".encode()).decode()}), EMAIL),
]
ENCODED_KEPT = [
    base64.b64encode(b"hello world, nothing to see here").decode(),  # decodes to benign text
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",  # a SHA-256
    "5b8efff798038103d269b633813fc60c",  # a trace id written as text
    "internationalization",
    "u8PQz3RkT2mN5vXw",  # a short random token
    "retrieval_vector_search_documents_for_the_support_knowledge_base_v2",
]


@pytest.mark.parametrize(("where", "value", "vanish"), ENCODED, ids=[row[0] for row in ENCODED])
def test_encoded_content_is_decoded_and_dropped(redactor: Redactor, where: str, value: str, vanish: str) -> None:
    key = "gen_ai.tool.call.arguments" if value.startswith("{") else "app.payload"
    span = _redacted(redactor, make_request([make_span(attributes={key: value})])).resource_spans[0].scope_spans[0].spans[0]
    out = attribute(span, key).string_value
    assert value not in out and vanish not in out, where
    assert "<BLOB_REMOVED>" in out


@pytest.mark.parametrize("value", ENCODED_KEPT)
def test_benign_encoded_looking_values_are_kept(redactor: Redactor, value: str) -> None:
    span = _redacted(redactor, make_request([make_span(attributes={"app.payload": value})])).resource_spans[0].scope_spans[0].spans[0]
    assert attribute(span, "app.payload").string_value == value
