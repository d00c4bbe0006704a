"""Log records through the walker: the same rules as spans, by the same code.

One row per place content sits in a log record (the body in each of its shapes, attributes,
the event name, the severity text, the scope and the resource), each with what must vanish and
a benign twin that must survive.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from redactors.engine import Redactor
from redactors.walker import any_to_py
from tests.redactors.otlp_builders import make_log_record, make_log_request

EMAIL = "sarah.connor@example.com"
CARD = "4539 1488 0343 6467"
GITHUB_TOKEN = "ghp_" + "Zq7XmK2pL9vR4sT8wY1bN6cD3fG5hJ000000"
PSEUDONYM = re.compile(r"pn:[0-9a-f]{8}:[0-9a-f]{24}")


def _redact(redactor: Redactor, request: ExportLogsServiceRequest) -> ExportLogsServiceRequest:
    redactor.redact_resource_logs(list(request.resource_logs), "acme", "prod")
    return request


def _record(request: ExportLogsServiceRequest) -> LogRecord:
    return request.resource_logs[0].scope_logs[0].log_records[0]


def _attributes(items: Any) -> dict[str, Any]:
    return {kv.key: any_to_py(kv.value) for kv in items}


def _flat(obj: Any) -> str:
    return obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)


# (id, body, attributes, must vanish, must survive)
BODY_ROWS: list[tuple[str, Any, dict[str, Any], list[str], list[str]]] = [
    ("string-body", f"Refund to {EMAIL}, card {CARD}", {}, [EMAIL, CARD], ["Refund to"]),
    (
        "kvlist-body",
        {"role": "user", "content": f"My email is {EMAIL}", "index": 0},
        {},
        [EMAIL],
        ["user", "My email is"],
    ),
    (
        "array-body",
        [{"role": "user", "parts": [{"type": "text", "content": f"call me, {EMAIL}"}]}],
        {},
        [EMAIL],
        ["user", "text", "call me"],
    ),
    (
        "json-string-body",
        json.dumps({"messages": [{"role": "user", "content": f"token {GITHUB_TOKEN} for {EMAIL}"}]}),
        {},
        [EMAIL, GITHUB_TOKEN],
        ['"role": "user"', "token"],
    ),
    (
        "genai-event-attributes",
        None,
        {
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"I am {EMAIL}"}]}]),
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1840,
        },
        [EMAIL],
        ["gpt-4o-mini", "1840", '"role": "user"'],
    ),
    ("secret-attribute-key", None, {"api_key": GITHUB_TOKEN, "order": "A-1009"}, [GITHUB_TOKEN], ["A-1009"]),
    ("benign-twin", "Order A-1009 shipped to the warehouse", {"app.note": "nothing personal"}, [], ["Order A-1009 shipped", "nothing personal"]),
]


@pytest.mark.parametrize(("body", "attributes", "vanish", "survive"), [row[1:] for row in BODY_ROWS], ids=[row[0] for row in BODY_ROWS])
def test_log_record_content_is_redacted_in_its_shape(
    redactor: Redactor, body: Any, attributes: dict[str, Any], vanish: list[str], survive: list[str]
) -> None:
    request = make_log_request([make_log_record(body, attributes, event_name="gen_ai.client.inference.operation.details")])
    body_kind = _record(request).body.WhichOneof("value")
    record = _record(_redact(redactor, request))
    text = " ".join(_flat(v) for v in [any_to_py(record.body), *_attributes(record.attributes).values()])
    for planted in vanish:
        assert planted not in text
    for kept in survive:
        assert kept in text
    assert record.body.WhichOneof("value") == body_kind  # the shape it came in
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert record.severity_text == "INFO" and record.severity_number == 9
    if vanish:
        assert any(kv.key.startswith("tracevault.redactions.") for kv in record.attributes)


def test_ids_and_times_are_kept_and_user_ids_pseudonymised(redactor: Redactor) -> None:
    record = make_log_record("hello", {"user.id": "alice@example.com", "session.id": "s-123"})
    request = make_log_request([record], resource={"service.name": "support-bot", "enduser.id": "bob@example.com"})
    trace_id, span_id = record.trace_id, record.span_id
    out = _record(_redact(redactor, request))
    assert (out.trace_id, out.span_id) == (trace_id, span_id)
    assert out.time_unix_nano == 1_700_000_000_000_000_000
    attributes = _attributes(out.attributes)
    assert PSEUDONYM.fullmatch(attributes["user.id"])
    resource = _attributes(request.resource_logs[0].resource.attributes)
    assert PSEUDONYM.fullmatch(resource["enduser.id"])
    assert resource["service.name"] == "support-bot"
    # Stable within the tenant: the same user id gets the same pseudonym in a span's walk.
    again = _record(_redact(redactor, make_log_request([make_log_record("x", {"user.id": "alice@example.com"})])))
    assert _attributes(again.attributes)["user.id"] == attributes["user.id"]


@pytest.mark.parametrize(
    ("field", "planted", "kept"),
    [("event_name", f"mail {EMAIL}", "gen_ai.choice"), ("severity_text", f"to {EMAIL}", "WARN")],
)
def test_event_name_and_severity_text_are_tokens_or_content(redactor: Redactor, field: str, planted: str, kept: str) -> None:
    for value, expect_kept in ((planted, False), (kept, True)):
        record = make_log_record("body")
        setattr(record, field, value)
        out = _record(_redact(redactor, make_log_request([record])))
        assert (getattr(out, field) == value) is expect_kept
        assert EMAIL not in getattr(out, field)


def test_scope_and_resource_attributes_are_examined(redactor: Redactor) -> None:
    request = make_log_request(
        [make_log_record("body")],
        resource={"service.name": "support-bot", "host.owner": f"owner {EMAIL}"},
        scope_attributes={"scope.note": f"written by {EMAIL}", "scope.kind": "genai"},
    )
    _redact(redactor, request)
    wire = request.SerializeToString()
    assert EMAIL.encode() not in wire
    assert _attributes(request.resource_logs[0].scope_logs[0].scope.attributes)["scope.kind"] == "genai"


def test_escrow_strips_secrets_and_keeps_pii(redactor: Redactor) -> None:
    request = make_log_request([make_log_record(f"{EMAIL} uses {GITHUB_TOKEN}", {"user.id": "alice"})])
    redactor.strip_secrets(list(request.resource_logs), "acme", "prod")
    record = _record(request)
    assert EMAIL in record.body.string_value and GITHUB_TOKEN not in record.body.string_value
    assert _attributes(record.attributes)["user.id"] == "alice"


def test_fail_closed_masks_every_log_value(redactor: Redactor) -> None:
    request = make_log_request(
        [make_log_record({"content": f"hi {EMAIL}", "role": "user"}, {"app.note": "harmless words", "user.id": "alice"})]
    )
    record = _record(request)
    trace_id = record.trace_id
    counts = redactor.fail_closed(list(request.resource_logs), "acme", "prod")
    out = _record(request)
    assert counts
    text = json.dumps([any_to_py(out.body), _attributes(out.attributes)])
    assert EMAIL not in text and "harmless words" not in text and "alice" not in text
    assert PSEUDONYM.fullmatch(_attributes(out.attributes)["user.id"])
    assert out.trace_id == trace_id


def test_incoming_count_and_signal_attributes_are_not_trusted(redactor: Redactor) -> None:
    record = make_log_record("plain text", {"tracevault.redactions.EMAIL_ADDRESS": 99, "tracevault.signal.refusal": True})
    out = _record(_redact(redactor, make_log_request([record])))
    keys = {kv.key for kv in out.attributes}
    assert "tracevault.redactions.EMAIL_ADDRESS" not in keys and "tracevault.signal.refusal" not in keys
