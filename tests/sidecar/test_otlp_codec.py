"""sidecar.otlp: the OTLP/JSON codec (hex ids, 64-bit ints, unknown fields) and protobuf decoding."""

from __future__ import annotations

import copy
import json

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from sidecar import otlp
from sidecar.errors import InvalidRequest

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
PARENT_ID = "eee19b7ec3c1b173"
LINK_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
LINK_SPAN_ID = "b7ad6b7169203331"
BIG = 1_700_000_000_123_456_789  # > 2**53: a JSON number that a double would corrupt


def _document(**span_overrides: object) -> dict:
    span = {
        "traceId": TRACE_ID,
        "spanId": SPAN_ID,
        "parentSpanId": PARENT_ID,
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": str(BIG),
        "endTimeUnixNano": str(BIG + 1000),
        "attributes": [
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
        ],
        "links": [{"traceId": LINK_TRACE_ID, "spanId": LINK_SPAN_ID}],
        "status": {"code": 2, "message": "boom"},
    }
    span.update(span_overrides)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [{"scope": {"name": "lib"}, "spans": [span]}],
            }
        ]
    }


def _only_span(request: ExportTraceServiceRequest) -> Span:
    return request.resource_spans[0].scope_spans[0].spans[0]


def test_hex_ids_decode_to_raw_bytes() -> None:
    span = _only_span(otlp.request_from_json_document(_document()))
    assert span.trace_id == bytes.fromhex(TRACE_ID)
    assert span.span_id == bytes.fromhex(SPAN_ID)
    assert span.parent_span_id == bytes.fromhex(PARENT_ID)
    assert span.links[0].trace_id == bytes.fromhex(LINK_TRACE_ID)
    assert span.links[0].span_id == bytes.fromhex(LINK_SPAN_ID)


def test_enums_are_integers_and_round_trip() -> None:
    request = otlp.request_from_json_document(_document())
    span = _only_span(request)
    assert span.kind == Span.SPAN_KIND_CLIENT
    assert span.status.code == Status.STATUS_CODE_ERROR
    out = otlp.request_to_json_document(request)
    out_span = out["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert out_span["kind"] == 3
    assert out_span["status"]["code"] == 2


def test_json_round_trip_keeps_hex_ids() -> None:
    document = _document()
    request = otlp.decode_json_request(json.dumps(document).encode())
    again = json.loads(otlp.encode_json_request(request))
    span = again["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == TRACE_ID
    assert span["spanId"] == SPAN_ID
    assert span["parentSpanId"] == PARENT_ID
    assert span["links"][0] == {"traceId": LINK_TRACE_ID, "spanId": LINK_SPAN_ID}
    # and the whole thing decodes to the same message a second time
    assert otlp.decode_json_request(json.dumps(again)) == request


def test_uppercase_hex_is_accepted_and_written_lowercase() -> None:
    request = otlp.request_from_json_document(_document(traceId=TRACE_ID.upper(), spanId=SPAN_ID.upper()))
    span = json.loads(otlp.encode_json_request(request))["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert (span["traceId"], span["spanId"]) == (TRACE_ID, SPAN_ID)


def test_snake_case_field_names_are_accepted() -> None:
    document = {
        "resource_spans": [
            {"scope_spans": [{"spans": [{"trace_id": TRACE_ID, "span_id": SPAN_ID, "parent_span_id": PARENT_ID}]}]}
        ]
    }
    span = _only_span(otlp.request_from_json_document(document))
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_ID


def test_empty_parent_span_id_means_root() -> None:
    span = _only_span(otlp.request_from_json_document(_document(parentSpanId="")))
    assert span.parent_span_id == b""


@pytest.mark.parametrize(
    "start",
    [pytest.param(str(BIG), id="string"), pytest.param(BIG, id="number")],
)
@pytest.mark.parametrize(
    "tokens",
    [pytest.param("9007199254740993", id="string"), pytest.param(9007199254740993, id="number")],
)
def test_64_bit_integers_as_strings_and_numbers(start: object, tokens: object) -> None:
    document = _document(
        startTimeUnixNano=start,
        attributes=[{"key": "gen_ai.usage.input_tokens", "value": {"intValue": tokens}}],
    )
    span = _only_span(otlp.decode_json_request(json.dumps(document)))
    assert span.start_time_unix_nano == BIG
    assert span.attributes[0].value.int_value == 9007199254740993  # 2**53 + 1: exact


def test_unknown_fields_are_ignored_at_every_level() -> None:
    document = _document(futureSpanField={"nested": [1, 2]}, anotherOne="x")
    document["someNewTopLevel"] = True
    document["resourceSpans"][0]["unknownResourceSpansField"] = 7
    document["resourceSpans"][0]["resource"]["unknownResourceField"] = "y"
    document["resourceSpans"][0]["scopeSpans"][0]["unknownScopeSpansField"] = []
    request = otlp.decode_json_request(json.dumps(document))
    assert request == otlp.request_from_json_document(_document())


def test_ids_inside_attributes_are_not_rewritten() -> None:
    # An attribute that happens to be named traceId is content, not an OTLP id field.
    document = _document(
        attributes=[
            {"key": "traceId", "value": {"stringValue": "not-hex-at-all"}},
            {
                "key": "nested",
                "value": {"kvlistValue": {"values": [{"key": "spanId", "value": {"stringValue": "xyz"}}]}},
            },
        ]
    )
    span = _only_span(otlp.request_from_json_document(document))
    assert span.attributes[0].value.string_value == "not-hex-at-all"
    assert span.attributes[1].value.kvlist_value.values[0].value.string_value == "xyz"


def test_decoding_does_not_mutate_the_callers_document() -> None:
    document = _document()
    before = copy.deepcopy(document)
    first = otlp.request_from_json_document(document)
    assert document == before
    assert otlp.request_from_json_document(document) == first


def test_shared_sub_objects_are_converted_once() -> None:
    # Two spans built in Python sharing one links list: each must decode to the same link ids.
    document = _document()
    scope = document["resourceSpans"][0]["scopeSpans"][0]
    scope["spans"].append(dict(scope["spans"][0], spanId="0000000000000001"))  # shallow: links shared
    request = otlp.request_from_json_document(document)
    spans = request.resource_spans[0].scope_spans[0].spans
    assert [s.links[0].span_id.hex() for s in spans] == [LINK_SPAN_ID, LINK_SPAN_ID]


CONTENT = "jane.doe@example.com"  # stands for span content that must never reach an error message

BAD_ID_ROWS = [
    ("trace-id-not-hex", {"traceId": CONTENT}),
    ("trace-id-too-short", {"traceId": TRACE_ID[:-2]}),
    ("trace-id-too-long", {"traceId": TRACE_ID + "00"}),
    ("trace-id-odd-length", {"traceId": TRACE_ID[:-1]}),
    ("trace-id-base64", {"traceId": "W47/95gDgQPSabYzgT/GDA=="}),
    ("span-id-16-bytes", {"spanId": TRACE_ID}),
    ("span-id-not-hex", {"spanId": "zzzzzzzzzzzzzzzz"}),
    ("parent-id-wrong-length", {"parentSpanId": "abcd"}),
    ("link-span-id-wrong", {"links": [{"traceId": LINK_TRACE_ID, "spanId": CONTENT}]}),
]


@pytest.mark.parametrize("override", [r[1] for r in BAD_ID_ROWS], ids=[r[0] for r in BAD_ID_ROWS])
def test_bad_ids_are_invalid_requests(override: dict) -> None:
    with pytest.raises(InvalidRequest) as caught:
        otlp.decode_json_request(json.dumps(_document(**override)))
    message = str(caught.value)
    assert "jane" not in message and "example.com" not in message
    assert "Id" in message or "_id" in message  # names the field


# Values of the wrong JSON type, carrying content; the error must name the field, not the value.
BAD_VALUE_ROWS = [
    ("int-from-text", {"attributes": [{"key": "k", "value": {"intValue": CONTENT}}]}),
    ("double-from-text", {"attributes": [{"key": "k", "value": {"doubleValue": CONTENT + " said hi"}}]}),
    ("bool-from-text", {"attributes": [{"key": "k", "value": {"boolValue": CONTENT}}]}),
    ("bytes-from-text", {"attributes": [{"key": "k", "value": {"bytesValue": CONTENT + "!"}}]}),
    ("time-from-text", {"startTimeUnixNano": CONTENT}),
    ("attributes-as-object", {"attributes": {CONTENT: 1}}),
    ("array-values-as-string", {"attributes": [{"key": "k", "value": {"arrayValue": {"values": CONTENT}}}]}),
    ("string-value-as-list", {"attributes": [{"key": "k", "value": {"stringValue": [CONTENT]}}]}),
    ("two-oneof-values", {"attributes": [{"key": CONTENT, "value": {"stringValue": CONTENT, "intValue": 5}}]}),
]


@pytest.mark.parametrize("override", [r[1] for r in BAD_VALUE_ROWS], ids=[r[0] for r in BAD_VALUE_ROWS])
def test_bad_values_are_invalid_requests_without_content(override: dict) -> None:
    with pytest.raises(InvalidRequest) as caught:
        otlp.decode_json_request(json.dumps(_document(**override)))
    message = str(caught.value)
    assert "jane" not in message and "example.com" not in message and "said hi" not in message
    assert message.startswith("not a valid OTLP/JSON ExportTraceServiceRequest")


def test_resource_attribute_values_of_the_wrong_type_do_not_leak() -> None:
    # Shallow nesting: the protobuf error text would quote the value within its first 200 chars.
    document = _document()
    document["resourceSpans"][0]["resource"]["attributes"] = [{"key": "k", "value": {"doubleValue": CONTENT}}]
    with pytest.raises(InvalidRequest) as caught:
        otlp.request_from_json_document(document)
    assert "jane" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="syntax"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(b"[1, 2, 3]", id="array-top-level"),
        pytest.param(b'"a string"', id="string-top-level"),
        pytest.param(b'{"resourceSpans": ["x"]}', id="entry-not-object"),
        pytest.param(b'{"resourceSpans": "abc"}', id="resource-spans-not-list"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
    ],
)
def test_malformed_json_is_invalid_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        otlp.decode_json_request(body)


def test_deeply_nested_attribute_values_do_not_crash_the_decoder() -> None:
    value: dict = {"stringValue": "leaf"}
    for _ in range(200):
        value = {"arrayValue": {"values": [value]}}
    document = _document(attributes=[{"key": "deep", "value": value}])
    try:
        otlp.decode_json_request(json.dumps(document))
    except InvalidRequest:
        pass  # refusing is fine; crashing with anything else is not


def test_empty_object_is_an_empty_request() -> None:
    assert otlp.decode_json_request(b"{}") == ExportTraceServiceRequest()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", id="bad-varint"),
        pytest.param(b"\x0a\x64abc", id="length-past-end"),
        pytest.param(b"\x0a\x03\x0a\x01", id="truncated-nested"),
        pytest.param(b"\x0f", id="bad-wire-type"),
    ],
)
def test_malformed_protobuf_is_invalid_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        otlp.decode_protobuf_request(body)


def test_protobuf_round_trip() -> None:
    request = otlp.request_from_json_document(_document())
    assert otlp.decode_protobuf_request(request.SerializeToString()) == request
    assert otlp.span_count(request) == 1


def test_span_count_over_resources_and_scopes() -> None:
    document = _document()
    scope = document["resourceSpans"][0]["scopeSpans"][0]
    scope["spans"].append(dict(scope["spans"][0], spanId="0000000000000001"))
    document["resourceSpans"].append(copy.deepcopy(document["resourceSpans"][0]))
    document["resourceSpans"][1]["scopeSpans"].append({"spans": []})
    assert otlp.span_count(otlp.request_from_json_document(document)) == 4


@pytest.mark.parametrize("content_type", [otlp.PROTOBUF, otlp.JSON])
def test_encode_response(content_type: str) -> None:
    ok = otlp.encode_response(0, "", content_type)
    partial = otlp.encode_response(3, "tenant id must match", content_type)
    if content_type == otlp.JSON:
        ok_message = json_format.Parse(ok, ExportTraceServiceResponse())
        partial_message = json_format.Parse(partial, ExportTraceServiceResponse())
        assert json.loads(partial)["partialSuccess"]["rejectedSpans"] in ("3", 3)
    else:
        ok_message = ExportTraceServiceResponse.FromString(ok)
        partial_message = ExportTraceServiceResponse.FromString(partial)
    assert not ok_message.HasField("partial_success")
    assert partial_message.partial_success.rejected_spans == 3
    assert partial_message.partial_success.error_message == "tenant id must match"
