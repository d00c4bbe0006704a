"""The fast OTLP/JSON path (sidecar/otlpjson.py) against json_format, the path it stands in for.

It must give the same message (decode) and the same document (encode) wherever it is taken, and
step aside (json_format reads the document: same errors, same ignored fields) wherever it cannot
be exact. Documents: the test suite's fixtures, the three benchmark workloads (traces and log
records), and a table of every field kind and of the values it must leave to json_format.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from google.protobuf import json_format

from bench.common import Source
from bench.logs import as_logs_request
from bench.mixed import MIXED
from bench.workload import DEFAULT_SEED, REALISTIC, UNIQUE
from sidecar import otlp, otlpjson
from sidecar.errors import InvalidRequest
from tests.sidecar.conftest import json_logs_request, json_request

TRACE = "5b8efff798038103d269b633813fc60c"


def _json_format_document(request) -> dict:
    """What request_to_json_document gave before the fast path: MessageToDict, ids as hex."""
    document = json_format.MessageToDict(request, preserving_proto_field_name=False, use_integers_for_enums=True)
    for key in ("resourceSpans", "resourceLogs"):
        for resource in document.get(key, []):
            otlp._ids_b64_to_hex(resource)
    return document


def _workload_documents() -> list[tuple[dict, otlp.Signal]]:
    documents = []
    for kind in (REALISTIC, UNIQUE, MIXED):
        for batch in Source(kind, DEFAULT_SEED).take(6).batches(20):
            request = batch.request()
            documents.append((_json_format_document(request), otlp.TRACES))
            documents.append((_json_format_document(as_logs_request(request)), otlp.LOGS))
    return documents


def _span(**extra) -> dict:
    span = {"traceId": TRACE, "spanId": "00f067aa0ba902b7", "name": "chat", "kind": 3, "startTimeUnixNano": "1700000000000000000"}
    span.update(extra)
    return span


def _traces(*spans: dict, resource: dict | None = None) -> dict:
    entry = {"resource": resource or {"attributes": [{"key": "service.name", "value": {"stringValue": "chatbot"}}]},
             "scopeSpans": [{"scope": {"name": "openai", "version": "1.0"}, "spans": list(spans), "schemaUrl": "s"}]}  # fmt: skip
    return {"resourceSpans": [entry]}


def _value(value: dict) -> dict:
    return _traces(_span(attributes=[{"key": "k", "value": value}]))


# Every field kind the fast path reads itself.
TAKEN = {
    "fixture traces": json_request([({"service.name": "chatbot"}, 3), ({"service.name": "rag"}, 2)]),
    "every span field": _traces(
        _span(
            parentSpanId="",
            traceState="a=b",
            flags=257,
            endTimeUnixNano=1700000000500000000,
            droppedAttributesCount=2,
            events=[{"timeUnixNano": "1700000000100000000", "name": "gen_ai.content.prompt", "attributes": [], "droppedAttributesCount": 1}],
            droppedEventsCount=3,
            links=[{"traceId": TRACE.upper(), "spanId": "00f067aa0ba902b8", "traceState": "x", "flags": 1}],
            droppedLinksCount=0,
            status={"message": "boom", "code": 2},
        )
    ),
    "snake_case names": {"resource_spans": [{"scope_spans": [{"spans": [{"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "start_time_unix_nano": 5}]}]}]},
    "empty ids, empty messages": _traces(_span(traceId="", spanId="", status={}), resource={}),
    "every value kind": _value(
        {
            "kvlistValue": {
                "values": [
                    {"key": "s", "value": {"stringValue": "Grüße ✓ \U0001f600"}},
                    {"key": "b", "value": {"boolValue": False}},
                    {"key": "i", "value": {"intValue": "-42"}},
                    {"key": "i2", "value": {"intValue": 9007199254740993}},
                    {"key": "d", "value": {"doubleValue": 0.1}},
                    {"key": "d2", "value": {"doubleValue": 3}},
                    {"key": "e", "value": {}},
                    {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": ""}, {"arrayValue": {}}, {"kvlistValue": {"values": []}}]}}},
                ]
            }
        }
    ),
    "empty request": {},
    "empty resources": {"resourceSpans": []},
}

# Values the fast path leaves to json_format (it reads them, or refuses them, its own way).
GIVEN_UP = {
    "unknown field": _traces(_span(futureField={"x": 1})),
    "unknown top-level field": {"resourceSpans": [], "extra": 1},
    "null field": _traces(_span(status=None)),
    "null resource list": {"resourceSpans": None},
    "two oneof members": _value({"stringValue": "a", "intValue": "1"}),
    "same field under both names": _traces(_span(spanId="00f067aa0ba902b7", span_id="00f067aa0ba902b8")),
    "bytes value": _value({"bytesValue": "aGVsbG8="}),
    "lone surrogate": _value({"stringValue": "a\ud800b"}),
    "int out of range": _traces(_span(flags=2**40)),
    "negative unsigned": _traces(_span(startTimeUnixNano="-1")),
    "int with spaces": _traces(_span(startTimeUnixNano=" 5")),
    "float for an int": _traces(_span(startTimeUnixNano=5.0)),
    "bool for an int": _traces(_span(kind=True)),
    "string for a bool": _value({"boolValue": "true"}),
    "string for a double": _value({"doubleValue": "NaN"}),
    "huge int for a double": _value({"doubleValue": 10**400}),
    "unknown enum number": _traces(_span(kind=99)),
    "enum by name": _traces(_span(kind="SPAN_KIND_CLIENT")),
    "id not hex": _traces(_span(traceId="zz" * 16)),
    "id too short": _traces(_span(spanId="abcd")),
    "int id": _traces(_span(spanId=5)),
    "list for a message": _traces(_span(status=[])),
    "dict for a list": {"resourceSpans": {}},
    "string in a list of messages": {"resourceSpans": ["x"]},
    "number for a string": _traces(_span(name=5)),
    "deep nesting": _value(json.loads('{"arrayValue": {"values": [' * 40 + "{}" + "]}}" * 40)),
}


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_fast_path_reads_what_json_format_reads(name: str) -> None:
    document = TAKEN[name]
    before = copy.deepcopy(document)
    fast = otlp.TRACES.request_type()
    assert otlpjson.parse_into(document, fast)
    assert fast == otlp._parse_with_json_format(document, otlp.TRACES)
    assert document == before  # the caller's document is not modified
    assert otlpjson.to_document(fast) == _json_format_document(fast)


@pytest.mark.parametrize("name", sorted(GIVEN_UP))
def test_fast_path_gives_up_and_json_format_decides(name: str) -> None:
    document = GIVEN_UP[name]
    request = otlp.TRACES.request_type()
    assert not otlpjson.parse_into(document, request)
    assert request == otlp.TRACES.request_type()  # left empty
    try:
        expected = otlp._parse_with_json_format(document, otlp.TRACES)
    except InvalidRequest as exc:
        with pytest.raises(InvalidRequest) as raised:
            otlp.request_from_json_document(document)
        assert str(raised.value) == str(exc)
    else:
        assert otlp.request_from_json_document(document) == expected


def test_fixture_logs_and_every_workload_document_read_and_write_the_same() -> None:
    documents = [(json_logs_request([({"service.name": "chatbot"}, 3)]), otlp.LOGS), *_workload_documents()]
    assert len(documents) > 10
    for document, signal in documents:
        fast = signal.request_type()
        assert otlpjson.parse_into(document, fast)
        slow = otlp._parse_with_json_format(document, signal)
        assert fast == slow and fast.SerializeToString() == slow.SerializeToString()
        assert json.dumps(otlp.request_to_json_document(fast), ensure_ascii=False) == json.dumps(_json_format_document(slow), ensure_ascii=False)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e308, -0.0])
def test_doubles_json_cannot_hold_are_written_as_json_format_writes_them(value: float) -> None:
    request = otlp.decode_json_request(json.dumps(_value({"doubleValue": 1.5})))
    request.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.double_value = value
    request.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="raw").value.bytes_value = b"\x00\xff"
    assert otlpjson.to_document(request) == _json_format_document(request)
