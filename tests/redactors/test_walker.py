"""The span walker, one row per convention in genai-attributes.md.

Each row: where the content sits, the value in its native shape, what must disappear, and what
must survive (structure, roles, tool names, counts, model names).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from redactors.engine import Redactor
from tests.redactors.otlp_builders import attribute, attributes_text, counts, make_request, make_span

EMAIL = "sarah.connor@example.com"
PHONE = "+1 212-555-0147"
CARD = "4539 1488 0343 6467"
IBAN = "DE89 3704 0044 0532 0130 00"
OPENAI_KEY = "sk-proj-" + "Q7vF3kL9mN2pR8sT1wX4yZ6aB0cD5eG7hJ9kL2mN4pQ6rS8t"
PASSWORD = "correct-horse-battery-staple-42"
DSN = "postgres://app:" + "S3cr3tPassw0rd" + "@db.internal:5432/orders"

ROWS: list[tuple[str, str, Any, list[str], list[str]]] = [
    # (id, attribute key, value, must vanish, must survive)
    (
        "otel-input-messages-json",
        "gen_ai.input.messages",
        json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"Hi, my name is Sarah Connor, email {EMAIL}"}]}]),
        [EMAIL, "Sarah Connor"],
        ['"role": "user"', '"type": "text"'],
    ),
    (
        "otel-input-messages-structured",
        "gen_ai.input.messages",
        [{"role": "user", "parts": [{"type": "text", "content": f"Call me on {PHONE} please"}]}],
        [PHONE],
        ["user", "text"],
    ),
    (
        "otel-output-tool-call",
        "gen_ai.output.messages",
        json.dumps([{"role": "assistant", "finish_reason": "tool_call", "parts": [
            {"type": "tool_call", "id": "call_1", "name": "lookup_order", "arguments": {"email": EMAIL, "order_id": "A-1009"}}]}]),
        [EMAIL],
        ["lookup_order", "call_1", "A-1009", '"finish_reason": "tool_call"'],
    ),
    (
        "otel-system-instructions",
        "gen_ai.system_instructions",
        json.dumps([{"type": "text", "content": f"You are a support bot. Escalate to {EMAIL}."}]),
        [EMAIL],
        ["You are a support bot."],
    ),
    (
        "otel-tool-arguments-secret",
        "gen_ai.tool.call.arguments",
        json.dumps({"api_key": OPENAI_KEY, "query": f"refund card {CARD}", "limit": 5}),
        [OPENAI_KEY, CARD, "4539148803436467"],
        ['"limit": 5', "refund card"],
    ),
    (
        "otel-tool-result",
        "gen_ai.tool.call.result",
        {"customer": {"name": "John Smith", "phone": PHONE}, "orders": 3},
        [PHONE],
        ["orders"],
    ),
    (
        "openinference-input-value",
        "input.value",
        f"My IBAN is {IBAN}, can you check the transfer?",
        [IBAN],
        ["can you check the transfer?"],
    ),
    (
        "openinference-message-content",
        "llm.input_messages.0.message.content",
        f"Please email {EMAIL} the invoice",
        [EMAIL],
        ["the invoice"],
    ),
    (
        "openinference-tool-call-arguments",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
        json.dumps({"username": "scarlet", "password": PASSWORD}),
        [PASSWORD],
        [],
    ),
    (
        "openinference-retrieval-document",
        "retrieval.documents.0.document.content",
        f"Refunds go to the account on file. Contact {EMAIL} for escalations.",
        [EMAIL],
        ["Refunds go to the account on file."],
    ),
    (
        "openllmetry-indexed-prompt",
        "gen_ai.prompt.0.content",
        f"card number {CARD} was declined",
        [CARD],
        ["was declined"],
    ),
    (
        "openllmetry-entity-input",
        "traceloop.entity.input",
        json.dumps({"args": [f"send it to {EMAIL}"], "kwargs": {"user_id": "u-77812", "temperature": 0.2}}),
        [EMAIL, "u-77812"],
        ['"temperature": 0.2'],
    ),
    (
        "exception-message-dsn",
        "exception.message",
        f"could not connect to {DSN}",
        ["S3cr3tPassw0rd"],
        ["could not connect to"],
    ),
    (
        "unknown-attribute-is-content",
        "app.customer_note",
        f"customer asked to be called at {PHONE}",
        [PHONE],
        ["customer asked to be called at"],
    ),
    (
        "nested-json-string-in-json",
        "gen_ai.output.messages",
        json.dumps([{"role": "assistant", "parts": [{"type": "tool_call", "name": "send_mail",
                                                      "arguments": json.dumps({"to": EMAIL, "token": OPENAI_KEY})}]}]),
        [EMAIL, OPENAI_KEY],
        ["send_mail"],
    ),
]


@pytest.mark.parametrize(("row_id", "key", "value", "vanish", "survive"), ROWS, ids=[r[0] for r in ROWS])
def test_convention(redactor: Redactor, row_id: str, key: str, value: Any, vanish: list[str], survive: list[str]) -> None:
    request = make_request([make_span(attributes={key: value, "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 1840})])
    span_before = request.resource_spans[0].scope_spans[0].spans[0]
    ids_before = (span_before.trace_id, span_before.span_id)
    total = redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    redacted = attribute(span, key)
    text = redacted.string_value if redacted.WhichOneof("value") == "string_value" else str(redacted)
    for planted in vanish:
        assert planted not in text, f"{row_id}: a planted value survived"
    for kept in survive:
        assert kept in text, f"{row_id}: {kept!r} should survive"
    # Shape: a JSON string stays valid JSON of the same type; a structured value stays structured.
    if isinstance(value, str) and value.startswith(("[", "{")):
        assert type(json.loads(redacted.string_value)) is type(json.loads(value))
    elif not isinstance(value, str):
        assert redacted.WhichOneof("value") in ("kvlist_value", "array_value")
    assert attribute(span, "gen_ai.request.model").string_value == "gpt-4o-mini"
    assert attribute(span, "gen_ai.usage.input_tokens").int_value == 1840
    assert (span.trace_id, span.span_id) == ids_before
    assert total and counts(span) == dict(total)


EVENT_ROWS = [
    ("v1.26-prompt-event", "gen_ai.content.prompt", {"gen_ai.prompt": json.dumps([{"role": "user", "content": f"I am at {EMAIL}"}])}),
    ("v1.28-user-message", "gen_ai.user.message", {"content": f"reach me at {EMAIL}", "role": "user"}),
    ("v1.28-choice", "gen_ai.choice", {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"I emailed {EMAIL}"}}),
    ("exception-event", "exception", {"exception.type": "ValueError", "exception.message": f"no user {EMAIL}", "exception.stacktrace": f"File app.py\n  lookup({EMAIL!r})"}),
]


@pytest.mark.parametrize(("row_id", "event_name", "event_attributes"), EVENT_ROWS, ids=[r[0] for r in EVENT_ROWS])
def test_event_conventions(redactor: Redactor, row_id: str, event_name: str, event_attributes: dict[str, Any]) -> None:
    request = make_request([make_span(events=[(event_name, event_attributes)])])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert EMAIL not in attributes_text(span)
    assert span.events[0].name == event_name
    assert counts(span).get("EMAIL_ADDRESS", 0) >= 1


IDENTIFIER_KEYS = [
    "user.id", "enduser.id", "session.id", "gen_ai.conversation.id", "user.email", "user.name",
    "traceloop.association.properties.user_id", "traceloop.association.properties.session_id",
]  # fmt: skip


@pytest.mark.parametrize("key", IDENTIFIER_KEYS)
def test_identifiers_become_keyed_pseudonyms(redactor: Redactor, key: str) -> None:
    def pseudonym(tenant: str, raw: str) -> str:
        request = make_request([make_span(attributes={key: raw})])
        redactor.redact_resource_spans(list(request.resource_spans), tenant, "prod")
        return attribute(request.resource_spans[0].scope_spans[0].spans[0], key).string_value

    first = pseudonym("acme", "user-4411@example.com")
    assert first.startswith("pn:") and "user-4411" not in first
    kid = first.split(":")[1]
    assert len(kid) == 8
    assert pseudonym("acme", "user-4411@example.com") == first, "stable within a tenant"
    assert pseudonym("acme", "USER-4411@example.com") == first, "emails compare case-insensitively"
    assert pseudonym("globex", "user-4411@example.com") != first, "different across tenants"
    assert pseudonym("acme", "user-4412@example.com") != first


def test_pseudonym_depends_on_the_master_secret(make_redactor) -> None:
    tokens = []
    for secret in (b"a" * 32, b"b" * 32):
        request = make_request([make_span(attributes={"user.id": "u-1"})])
        make_redactor({}, secret).redact_resource_spans(list(request.resource_spans), "acme", "prod")
        tokens.append(attribute(request.resource_spans[0].scope_spans[0].spans[0], "user.id").string_value)
    assert tokens[0] != tokens[1]
    assert tokens[0].split(":")[1] != tokens[1].split(":")[1], "the key id changes with the key"


@pytest.mark.parametrize(
    ("url", "vanish", "survive"),
    [
        ("https://api.example.com/users/jane.doe@example.com/orders?page=2", ["jane.doe@example.com"], ["/orders", "page=2"]),
        ("https://api.example.com/v1/accounts/8812731/invoices", ["8812731"], ["/v1/accounts/", "/invoices"]),
        ("https://shop.example.com/cart?user_id=u-99812&sort=asc", ["u-99812"], ["sort=asc"]),
        ("https://admin:" + "hunter2hunter2" + "@internal.example.com/health", ["hunter2hunter2", "admin:"], ["internal.example.com/health"]),
        ("https://api.example.com/search?api_key=" + "AbCdEf0123456789XyZ", ["AbCdEf0123456789XyZ"], ["<SECRET:"]),
    ],
)
def test_ids_inside_urls(redactor: Redactor, url: str, vanish: list[str], survive: list[str]) -> None:
    request = make_request([make_span(attributes={"url.full": url})])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    out = attribute(request.resource_spans[0].scope_spans[0].spans[0], "url.full").string_value
    for planted in vanish:
        assert planted not in out
    for kept in survive:
        assert kept in out


def test_span_name_status_and_resource_are_scanned(redactor: Redactor) -> None:
    span = make_span(name=f"GET /users/{EMAIL}")
    span.status.message = f"lookup failed for {EMAIL}"
    request = make_request([span], resource={"service.name": "support-bot", "app.owner": f"owner {EMAIL}"})
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    resource_spans = request.resource_spans[0]
    out = resource_spans.scope_spans[0].spans[0]
    assert EMAIL not in out.name and out.name.startswith("GET /users/")
    assert EMAIL not in out.status.message
    resource = {item.key: item.value for item in resource_spans.resource.attributes}
    assert EMAIL not in resource["app.owner"].string_value
    assert resource["service.name"].string_value == "support-bot"
    assert resource["tracevault.redactions.EMAIL_ADDRESS"].int_value == 1


def test_structure_survives_untouched(redactor: Redactor) -> None:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 1840,
        "gen_ai.usage.output_tokens": 322,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.request.temperature": 0.2,
        "llm.input_messages.0.message.role": "user",
        "tool.name": "search_orders",
        "retrieval.documents.0.document.id": "kb-1234",
        "retrieval.documents.0.document.score": 0.87,
        "gen_ai.request.stream": True,
    }
    request = make_request([make_span(attributes=attributes)])
    before = request.SerializeToString()
    total = redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    assert not total
    assert request.SerializeToString() == before


def test_embedding_vectors_and_blobs_are_dropped(redactor: Redactor) -> None:
    attributes = {
        "embedding.embeddings.0.embedding.vector": [0.12, -0.5, 0.33],
        "embedding.embeddings.0.embedding.text": f"contact {EMAIL}",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
            {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0KGgoAAAANSUhEUg=="}]}]),
    }
    request = make_request([make_span(attributes=attributes)])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert len(attribute(span, "embedding.embeddings.0.embedding.vector").array_value.values) == 0
    assert EMAIL not in attribute(span, "embedding.embeddings.0.embedding.text").string_value
    messages = json.loads(attribute(span, "gen_ai.input.messages").string_value)
    assert messages[0]["parts"][0] == {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "<BLOB_REMOVED>"}
    assert counts(span) == {"EMBEDDING_VECTOR": 1, "EMAIL_ADDRESS": 1, "BLOB": 1}


def test_incoming_count_attributes_are_replaced(redactor: Redactor) -> None:
    request = make_request([make_span(attributes={"tracevault.redactions.EMAIL_ADDRESS": 99, "input.value": f"mail {EMAIL}"})])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    assert counts(request.resource_spans[0].scope_spans[0].spans[0]) == {"EMAIL_ADDRESS": 1}


def test_json_keys_that_are_content_are_masked(redactor: Redactor) -> None:
    request = make_request([make_span(attributes={"gen_ai.tool.call.result": json.dumps({EMAIL: {"orders": 2}})})])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    out = attribute(request.resource_spans[0].scope_spans[0].spans[0], "gen_ai.tool.call.result").string_value
    assert EMAIL not in out
    assert json.loads(out) == {"<EMAIL_ADDRESS>": {"orders": 2}}


def test_escrow_copy_keeps_pii_but_strips_secrets(redactor: Redactor) -> None:
    arguments = json.dumps({"api_key": OPENAI_KEY, "note": f"for {EMAIL}", "auth": f"token {OPENAI_KEY}"})
    request = make_request([make_span(attributes={"gen_ai.tool.call.arguments": arguments, "user.id": "u-42", "input.value": f"{EMAIL} {DSN}"})])
    total = redactor.strip_secrets(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    text = attributes_text(span)
    assert OPENAI_KEY not in text and "S3cr3tPassw0rd" not in text
    assert EMAIL in text, "escrow keeps PII"
    assert attribute(span, "user.id").string_value == "u-42", "escrow keeps identifiers"
    assert set(total) == {"SECRET"}


def test_a_structural_value_repeated_in_a_request_is_judged_on_every_span(redactor: Redactor) -> None:
    """Structural values are judged once per distinct value in a walk: every span carrying a
    key in its model name loses it and counts it; the plain model name survives on every span."""
    leaky = f"gpt-4o-mini {OPENAI_KEY}"
    spans = [make_span(attributes={"gen_ai.request.model": model}) for model in (leaky, "gpt-4o-mini", leaky, "gpt-4o-mini")]
    request = make_request(spans)
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    out = request.resource_spans[0].scope_spans[0].spans
    models = [attribute(span, "gen_ai.request.model").string_value for span in out]
    assert OPENAI_KEY not in "".join(models)
    assert models[1] == models[3] == "gpt-4o-mini"
    assert models[0] == models[2] != leaky
    assert [counts(span).get("SECRET", 0) for span in out] == [1, 0, 1, 0]
