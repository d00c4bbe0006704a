"""References to content kept elsewhere (GenAI content pattern 3, docs/conventions.md).

- incoming `*_ref` attributes and uploaded-media URIs are references, not PII: the walker keeps a
  plain one as it is, and treats the parts of any other URI that can identify someone;
- `content_in_forward` (redactors/references.py): the forwarded copy carries no content, only
  `<key>_ref` references (or nothing), and everything that is not content survives;
- the collector's genainormalizer processor keeps its source keys, so content arrives twice:
  both the source and the target keys are redacted, and both are content in the forward view.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import parse_config
from policies.resolve import PolicyError, PolicySet
from redactors.engine import Redactor
from redactors.references import (
    CONTENT_KEYS,
    ReferenceError,
    is_content_key,
    parse_reference,
    traces_view,
)
from tests.redactors.otlp_builders import attribute, attributes_text, make_request, make_span

EMAIL = "sarah.connor@example.com"
PERSON = "Sarah Connor"
PHONE = "+1 212-555-0147"
OPENAI_KEY = "sk-proj-" + "Q7vF3kL9mN2pR8sT1wX4yZ6aB0cD5eG7hJ9kL2mN4pQ6rS8t"
CARD_DIGITS = "4539148803436467"  # Luhn-valid; also 16 hex digits, like a span id
OWN_REF = "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/" + CARD_DIGITS + "#gen_ai.input.messages"

# (id, key, value): references that must pass through the walker byte for byte. Before the walker
# knew references, the span id of the first was masked as a card number, and the path segments of
# the last two as a person and locations.
KEPT = [
    ("own-reference", "gen_ai.input.messages_ref", OWN_REF),
    ("own-event-reference", "gen_ai.output.messages_ref", "tracevault://acme/prod/5b8efff798038103d269b633813fc60c/00f067aa0ba902b7#event/0/content"),
    ("s3-upload", "gen_ai.system_instructions_ref", "s3://genai-content/traces/4bf92f3577b34da6a3ce929d0e0e4736/system.json"),
    ("gcs-upload", "gen_ai.tool.definitions_ref", "gs://genai-content/7f3e9a2c-1b4d-4e8f-9a6b-3c2d1e0f9a8b/tools.json"),
    ("openinference-image-upload", "llm.input_messages.0.message.contents.1.message_content.image.image.url",
     "https://media.example.com/uploads/2024/11/7f3e9a2c-1b4d-4e8f-9a6b-3c2d1e0f9a8b.png"),
    ("openinference-audio-upload", "llm.input_messages.0.message.contents.2.message_content.audio.audio.url", "s3://media/audio/9c1d2e3f4a5b6c7d.wav"),
]  # fmt: skip

# (id, key, value, must vanish, must survive): references that hold something that identifies
# someone, or are not references at all.
TREATED = [
    ("userinfo", "gen_ai.input.messages_ref", "https://jane:hunter2pass@store.example.com/in.json", ["jane", "hunter2pass"], ["store.example.com/in.json"]),
    ("presigned-query", "gen_ai.output.messages_ref",
     "https://b.s3.amazonaws.com/o.json?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE&X-Amz-Signature=3b2f1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c",
     ["AKIAIOSFODNN7EXAMPLE", "3b2f1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"], ["https://b.s3.amazonaws.com/o.json?X-Amz-Credential="]),
    ("email-in-path", "llm.input_messages.0.message.contents.0.message_content.image.image.url", f"s3://uploads/users/{EMAIL}/a.png", [EMAIL], ["s3://uploads/users/", "/a.png"]),
    ("name-in-path", "gen_ai.input.messages_ref", "s3://uploads/Sarah-Connor/photo.png", ["Sarah"], ["s3://uploads/", "/photo.png"]),
    ("phone-in-path", "gen_ai.input.messages_ref", "s3://uploads/2125550147/in.json", ["2125550147"], ["s3://uploads/", "/in.json"]),
    ("card-as-segment", "gen_ai.input.messages_ref", f"s3://uploads/{CARD_DIGITS}/in.json", [CARD_DIGITS], ["s3://uploads/"]),
    ("not-a-uri", "app.notes_ref", f"{PERSON} wrote from {EMAIL}", [PERSON, EMAIL], ["wrote from"]),
    ("data-uri", "llm.input_messages.0.message.contents.0.message_content.image.image.url", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", ["iVBORw0KGgo"], ["<BLOB_REMOVED>"]),
]  # fmt: skip


def _redact(redactor: Redactor, attributes: dict[str, Any]) -> Any:
    request = make_request([make_span(attributes=attributes)])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    return request.resource_spans[0].scope_spans[0].spans[0]


@pytest.mark.parametrize(("row_id", "key", "value"), KEPT, ids=[r[0] for r in KEPT])
def test_references_pass_through_intact(redactor: Redactor, row_id: str, key: str, value: str) -> None:
    span = _redact(redactor, {key: value, "gen_ai.request.model": "gpt-4o"})
    assert attribute(span, key).string_value == value, row_id
    assert not [kv.key for kv in span.attributes if kv.key.startswith("tracevault.redactions.")], "nothing was counted"


def test_uri_parts_of_genai_messages_are_references(redactor: Redactor) -> None:
    parts = [
        {"type": "uri", "uri": "s3://media/img/7f3e9a2c1b4d4e8f.png", "mime_type": "image/png", "modality": "image"},
        {"type": "uri", "uri": f"https://media.example.com/a.png?email={EMAIL}", "modality": "image"},
        {"type": "text", "content": f"I am {PERSON}"},
    ]
    span = _redact(redactor, {"gen_ai.input.messages": json.dumps([{"role": "user", "parts": parts}])})
    redacted = json.loads(attribute(span, "gen_ai.input.messages").string_value)[0]["parts"]
    assert redacted[0] == parts[0]
    assert EMAIL not in redacted[1]["uri"] and redacted[1]["uri"].startswith("https://media.example.com/a.png?email=pn:")
    assert PERSON not in redacted[2]["content"]


@pytest.mark.parametrize(("row_id", "key", "value", "vanish", "survive"), TREATED, ids=[r[0] for r in TREATED])
def test_references_that_identify_someone_are_treated(redactor: Redactor, row_id: str, key: str, value: str, vanish: list[str], survive: list[str]) -> None:
    span = _redact(redactor, {key: value})
    text = attribute(span, key).string_value
    for planted in vanish:
        assert planted not in text, row_id
    for kept in survive:
        assert kept in text, row_id


def test_escrow_keeps_references_and_strips_their_secrets(redactor: Redactor) -> None:
    ref = "https://b.s3.amazonaws.com/o.json?X-Amz-Signature=3b2f1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
    request = make_request([make_span(attributes={"gen_ai.input.messages_ref": OWN_REF, "gen_ai.output.messages_ref": ref})])
    redactor.strip_secrets(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert attribute(span, "gen_ai.input.messages_ref").string_value == OWN_REF
    assert "3b2f1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c" not in attribute(span, "gen_ai.output.messages_ref").string_value


def test_fail_closed_masks_references_too(redactor: Redactor) -> None:
    """Past the deadline nothing is scanned: a reference cannot be checked, so it is masked."""
    request = make_request([make_span(attributes={"gen_ai.input.messages_ref": OWN_REF, "gen_ai.output.messages_ref": f"s3://uploads/{PERSON.replace(' ', '-')}/a.json"})])
    redactor.fail_closed(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert attribute(span, "gen_ai.input.messages_ref").string_value == "<REDACTION_FAILED>"
    assert "Sarah" not in attributes_text(span)


# -- the reference URI ------------------------------------------------------------------------


def test_reference_round_trip_and_event_paths() -> None:
    ref = parse_reference(OWN_REF)
    assert (ref.tenant, ref.env, ref.trace_id, ref.span_id, ref.locate()) == (
        "acme", "prod", "4bf92f3577b34da6a3ce929d0e0e4736", CARD_DIGITS, ("span", None, "gen_ai.input.messages")
    )  # fmt: skip
    assert ref.uri() == OWN_REF
    event = parse_reference("tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#event/3/gen_ai.prompt")
    assert event.locate() == ("event", 3, "gen_ai.prompt")
    base = "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#log/1700000000000000001/"
    assert parse_reference(base + "attributes/gen_ai.input.messages").locate() == ("log_attribute", 1700000000000000001, "gen_ai.input.messages")
    assert parse_reference(base + "body").locate() == ("log_body", 1700000000000000001, "body")
    assert parse_reference(base + "body/content").locate() == ("log_body_entry", 1700000000000000001, "content")


@pytest.mark.parametrize(
    "text",
    [
        "s3://bucket/key.json",
        "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7",  # no fragment
        "tracevault://acme/prod/4BF92F3577B34DA6A3CE929D0E0E4736/00f067aa0ba902b7#a",  # upper-case hex
        "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e47/00f067aa0ba902b7#a",  # short trace id
        "tracevault://Acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#a",  # not a tenant id
        "tracevault://../prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#a",
        "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#Sarah%20Connor",
        "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#gen_ai.input.messages?x=1",
        "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#log/12/other/x",
        "tracevault://acme/prod/4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7#event/x/content",
        "x" * 5000,
    ],
)
def test_malformed_references_are_refused_without_echo(text: str) -> None:
    with pytest.raises(ReferenceError) as caught:
        parse_reference(text)
    assert "tracevault reference" in str(caught.value) and "Sarah" not in str(caught.value)


# -- content_in_forward --------------------------------------------------------------------------


def _genai_request() -> ExportTraceServiceRequest:
    span = make_span(
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 57,
            "gen_ai.response.finish_reasons": ["stop"],
            "user.id": "pn:0a1b2c3d:00112233445566778899aabb",
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "<PERSON> wrote"}]}]),
            "gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}]}],
            "gen_ai.system_instructions": "be brief",
            "gen_ai.tool.definitions": json.dumps([{"type": "function", "name": "lookup"}]),
            "input.value": "question",
            "llm.input_messages.0.message.content": "question",
            "llm.input_messages.0.message.role": "user",
            # a client's own reference to its own store: kept, and not overwritten
            "gen_ai.tool.call.arguments_ref": "s3://client-store/args/7f3e9a2c1b4d4e8f.json",
            "gen_ai.tool.call.arguments": json.dumps({"q": "x"}),
        },
        events=[
            ("gen_ai.user.message", {"content": "question", "role": "user"}),
            ("gen_ai.content.prompt", {"gen_ai.prompt": "question"}),
            ("exception", {"exception.type": "ValueError", "exception.message": "no <EMAIL_ADDRESS>"}),
        ],
    )
    return make_request([span])


def _values(attributes: Any) -> dict[str, Any]:
    return {kv.key: kv.value for kv in attributes}


def test_reference_view_carries_references_instead_of_content() -> None:
    request = _genai_request()
    before = request.SerializeToString()
    view = traces_view(request, "reference", "acme", "prod")
    assert request.SerializeToString() == before, "the vault's copy is never touched"
    span = view.resource_spans[0].scope_spans[0].spans[0]
    values = _values(span.attributes)
    assert not [key for key in values if is_content_key(key)], "no content attribute is left"
    trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
    for key in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions", "input.value", "llm.input_messages.0.message.content"):
        ref = parse_reference(values[key + "_ref"].string_value)
        assert (ref.tenant, ref.env, ref.trace_id, ref.span_id, ref.locate()) == ("acme", "prod", trace_id, span_id, ("span", None, key))
    assert values["gen_ai.tool.call.arguments_ref"].string_value == "s3://client-store/args/7f3e9a2c1b4d4e8f.json"
    # Structure is not content: it survives as it was.
    assert values["gen_ai.request.model"].string_value == "gpt-4o"
    assert values["gen_ai.usage.input_tokens"].int_value == 57
    assert values["llm.input_messages.0.message.role"].string_value == "user"
    assert values["user.id"].string_value.startswith("pn:")
    assert [e.name for e in span.events] == ["gen_ai.user.message", "gen_ai.content.prompt", "exception"]
    user, prompt, exception = (_values(e.attributes) for e in span.events)
    assert set(user) == {"role", "content_ref"} and parse_reference(user["content_ref"].string_value).path == "event/0/content"
    assert set(prompt) == {"gen_ai.prompt_ref"} and parse_reference(prompt["gen_ai.prompt_ref"].string_value).locate() == ("event", 1, "gen_ai.prompt")
    assert set(exception) == {"exception.type", "exception.message"}, "an exception is not GenAI content"
    assert "question" not in attributes_text(span) and "hello" not in attributes_text(span)


def test_none_view_removes_content_without_references() -> None:
    view = traces_view(_genai_request(), "none", "acme", "prod")
    span = view.resource_spans[0].scope_spans[0].spans[0]
    keys = set(_values(span.attributes))
    assert not [key for key in keys if is_content_key(key)]
    assert not [key for key in keys if key.endswith("_ref") and key != "gen_ai.tool.call.arguments_ref"]
    assert {"gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.operation.name"} <= keys
    assert set(_values(span.events[0].attributes)) == {"role"}


def test_redacted_view_is_the_request_itself() -> None:
    request = _genai_request()
    assert traces_view(request, "redacted", "acme", "prod") is request


def test_span_without_ids_loses_its_content_without_a_reference() -> None:
    request = _genai_request()
    request.resource_spans[0].scope_spans[0].spans[0].ClearField("span_id")
    span = traces_view(request, "reference", "acme", "prod").resource_spans[0].scope_spans[0].spans[0]
    assert "gen_ai.input.messages" not in _values(span.attributes)
    assert "gen_ai.input.messages_ref" not in _values(span.attributes)


# -- the policy option ---------------------------------------------------------------------------


def test_content_in_forward_inherits_defaults_tenant_env() -> None:
    config = parse_config(
        {
            "defaults": {"content_in_forward": "reference"},
            "tenants": {"acme": {"content_in_forward": "none", "environments": {"dev": {"content_in_forward": "redacted"}}}},
        }
    )
    policies = PolicySet(config)
    assert policies.resolve("globex", "prod").content_in_forward == "reference"
    assert policies.resolve("acme", "prod").content_in_forward == "none"
    assert policies.resolve("acme", "dev").content_in_forward == "redacted"
    assert PolicySet(parse_config({})).resolve("acme", "prod").content_in_forward == "redacted"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"vault_enabled": False, "tenants": {"acme": {"environments": {"prod": {"content_in_forward": "reference"}}}}}, "needs the vault"),
        ({"defaults": {"content_in_forward": "reference", "payload_mode": "none"}}, "payload mode"),
    ],
)
def test_reference_without_a_vault_copy_refuses_start_up(document: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        PolicySet(parse_config(document))


def test_unknown_content_in_forward_is_a_config_error() -> None:
    from policies.config import ConfigError

    with pytest.raises(ConfigError, match="defaults.content_in_forward"):
        parse_config({"defaults": {"content_in_forward": "references"}})


# -- genainormalizer: the source and the target keys both carry the content ------------------------

# The processor's built-in mappings that carry content (its README, sources openinference and
# openllmetry), source key -> target key. It keeps the source keys unless remove_originals is set.
NORMALIZER_CONTENT = [
    ("llm.input_messages.0.message.content", "gen_ai.input.messages"),
    ("llm.output_messages.0.message.content", "gen_ai.output.messages"),
    ("tool.description", "gen_ai.tool.description"),
    ("tool_call.function.arguments", "gen_ai.tool.call.arguments"),
    ("llm.request.functions", "gen_ai.tool.definitions"),
    ("traceloop.entity.input", "gen_ai.input.messages"),
    ("traceloop.entity.output", "gen_ai.output.messages"),
]
NORMALIZER_STRUCTURE = [
    ("llm.token_count.prompt", "gen_ai.usage.input_tokens", 57),
    ("llm.token_count.completion", "gen_ai.usage.output_tokens", 12),
    ("llm.model_name", "gen_ai.request.model", "gpt-4o"),
]


def _normalized_span_attributes() -> dict[str, Any]:
    """A span as it leaves the processor with its defaults: source keys and target keys, each
    with planted PII and a secret (the processor copies the value; the target form is JSON)."""
    planted = f"I am {PERSON}, mail {EMAIL}, call {PHONE}, key {OPENAI_KEY}"
    attributes: dict[str, Any] = {"llm.input_messages.0.message.role": "user", "session.id": "sess-7731", "gen_ai.conversation.id": "sess-7731"}
    for source, target in NORMALIZER_CONTENT:
        attributes[source] = planted if not source.startswith("traceloop") else json.dumps({"args": [planted], "kwargs": {}})
        attributes[target] = json.dumps([{"role": "user", "parts": [{"type": "text", "content": planted}]}])
    for source, target, value in NORMALIZER_STRUCTURE:
        attributes[source] = value
        attributes[target] = value
    return attributes


def test_normalizer_source_and_target_keys_are_both_redacted(redactor: Redactor) -> None:
    span = _redact(redactor, _normalized_span_attributes())
    text = attributes_text(span)
    for planted in (PERSON, EMAIL, "212-555-0147", OPENAI_KEY, "sess-7731"):
        assert planted not in text
    for source, target, value in NORMALIZER_STRUCTURE:
        kind = "int_value" if isinstance(value, int) else "string_value"
        assert getattr(attribute(span, source), kind) == value and getattr(attribute(span, target), kind) == value
    assert attribute(span, "llm.input_messages.0.message.role").string_value == "user"


def test_normalizer_source_and_target_keys_are_both_content() -> None:
    for source, target in NORMALIZER_CONTENT:
        assert is_content_key(source) and is_content_key(target), (source, target)
    for source, target, _ in NORMALIZER_STRUCTURE:
        assert not is_content_key(source) and not is_content_key(target)
    view = traces_view(make_request([make_span(attributes=_normalized_span_attributes())]), "reference", "acme", "prod")
    keys = set(_values(view.resource_spans[0].scope_spans[0].spans[0].attributes))
    assert not {key for pair in NORMALIZER_CONTENT for key in pair} & keys
    assert {f"{key}_ref" for pair in NORMALIZER_CONTENT for key in pair} <= keys


def test_content_table_holds_no_structure_or_reference_keys() -> None:
    for key in ("gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.response.id", "llm.token_count.prompt",
                "gen_ai.input.messages_ref", "llm.input_messages.0.message.contents.0.message_content.image.image.url",
                "llm.input_messages.0.message.role", "user.id", "exception.message"):  # fmt: skip
        assert not is_content_key(key), key
    assert len(set(CONTENT_KEYS)) == len(CONTENT_KEYS)


# -- log records -------------------------------------------------------------------------------


def _log_request() -> Any:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    from tests.redactors.otlp_builders import kv, value

    trace_id, span_id = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736"), bytes.fromhex("00f067aa0ba902b7")

    def record(event: str, time: int, attributes: dict[str, Any], body: Any = None, ids: bool = True) -> LogRecord:
        made = LogRecord(event_name=event, time_unix_nano=time, severity_number=9, trace_id=trace_id if ids else b"", span_id=span_id if ids else b"")
        made.attributes.extend(kv(k, v) for k, v in attributes.items())
        if body is not None:
            made.body.CopyFrom(value(body))
        return made

    records = [
        record("gen_ai.client.inference.operation.details", 1_700_000_000_000_000_001, {
            "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 31,
            "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "question"}]}],
            "gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "text", "content": "answer"}]}]}),
        record("gen_ai.user.message", 1_700_000_000_000_000_002, {"gen_ai.provider.name": "openai"}, {"content": "question", "role": "user"}),
        record("gen_ai.choice", 1_700_000_000_000_000_003, {}, "answer"),
        record("", 1_700_000_000_000_000_004, {"gen_ai.input.messages": "question"}, "request served in 42 ms"),
        record("gen_ai.user.message", 1_700_000_000_000_000_005, {}, {"content": "question", "role": "user"}, ids=False),
    ]  # fmt: skip
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    scope.log_records.extend(records)
    return request


def _log_refs(record: Any) -> list[str]:
    refs = [kv.value.string_value for kv in record.attributes if kv.key.endswith("_ref")]
    if record.body.WhichOneof("value") == "kvlist_value":
        refs += [kv.value.string_value for kv in record.body.kvlist_value.values if kv.key.endswith("_ref")]
    return refs


def test_logs_reference_view_and_every_reference_resolves() -> None:
    from google.protobuf import json_format

    from redactors.references import find_value, logs_view

    request = _log_request()
    request.resource_logs[0].scope_logs[0].log_records[0].body.SetInParent()  # set, but empty: no body to refer to
    originals = [json_format.MessageToDict(r) for r in request.resource_logs[0].scope_logs[0].log_records]
    view = logs_view(request, "reference", "acme", "prod")
    details, user, choice, plain, no_ids = view.resource_logs[0].scope_logs[0].log_records
    assert set(_values(details.attributes)) == {"gen_ai.operation.name", "gen_ai.usage.input_tokens", "gen_ai.input.messages_ref", "gen_ai.output.messages_ref"}
    assert {kv.key for kv in user.body.kvlist_value.values} == {"role", "content_ref"}
    assert not choice.HasField("body") and "body_ref" in _values(choice.attributes)
    assert plain.body.string_value == "request served in 42 ms", "a log line that is not a GenAI event keeps its body"
    assert set(_values(plain.attributes)) == {"gen_ai.input.messages_ref"}
    assert {kv.key for kv in no_ids.body.kvlist_value.values} == {"role"} and not _log_refs(no_ids)
    text = view.SerializeToString()
    assert b"question" not in text and b"answer" not in text
    # Each reference names the record by its span and time, and finds the content in the stored
    # document of that record (and in no other).
    documents = [{"log_record": doc} for doc in originals]
    for record in (details, user, choice, plain):
        for ref_text in _log_refs(record):
            ref = parse_reference(ref_text)
            assert (ref.trace_id, ref.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
            found = [find_value(doc, ref) for doc in documents]
            assert sum(value is not None for value in found) == 1, ref_text
            assert "question" in json.dumps(found) or "answer" in json.dumps(found)


def test_logs_none_view_and_redacted_view() -> None:
    from redactors.references import logs_view

    request = _log_request()
    assert logs_view(request, "redacted", "acme", "prod") is request
    view = logs_view(request, "none", "acme", "prod")
    assert not [ref for record in view.resource_logs[0].scope_logs[0].log_records for ref in _log_refs(record)]
    assert b"question" not in view.SerializeToString()


def test_span_references_resolve_in_the_stored_document() -> None:
    from google.protobuf import json_format

    from redactors.references import find_value

    request = _genai_request()
    document = {"span": json_format.MessageToDict(request.resource_spans[0].scope_spans[0].spans[0])}
    span = traces_view(request, "reference", "acme", "prod").resource_spans[0].scope_spans[0].spans[0]
    refs = [kv.value.string_value for holder in [span.attributes, *(e.attributes for e in span.events)] for kv in holder if kv.key.endswith("_ref")]
    refs = [r for r in refs if r.startswith("tracevault://")]
    assert len(refs) == 8  # six span attributes (one has a client reference already), two event attributes
    for ref_text in refs:
        assert find_value(document, parse_reference(ref_text)) is not None, ref_text
    assert find_value(document, parse_reference(refs[0].rsplit("#", 1)[0] + "#gen_ai.nothing.here")) is None
    assert find_value({"log_record": {}}, parse_reference(refs[0])) is None
