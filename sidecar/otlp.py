"""OTLP request and response encoding: protobuf, and OTLP/JSON with its differences from proto3 JSON.

Two signals share this code: traces (ExportTraceServiceRequest) and logs
(ExportLogsServiceRequest). `Signal` names what differs between them (message types, field
names, the HTTP path, the gRPC service); every function here takes one (traces by default).

OTLP/JSON writes trace and span ids as lowercase hex (proto3 JSON would use base64), enums as
integers, and 64-bit integers as strings or numbers. Unknown JSON fields are ignored by the
parser (never held). Unknown protobuf fields (a newer OTLP version, a crafted client) would be
kept by parsing and re-serialising: `drop_unknown_fields` counts and drops them before anything
else sees the request.

OTLP/JSON is read and written by `sidecar/otlpjson.py`'s fast path where that is exact (it steps
aside for anything it does not read exactly as json_format does), else by json_format.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, unknown_fields
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES
from sidecar import otlpjson
from sidecar.errors import InvalidRequest

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@dataclass(frozen=True)
class Signal:
    """What differs between the traces and the logs signal, by name; the code is shared."""

    name: str  # redactors.batch.SIGNAL_TRACES or SIGNAL_LOGS (the RedactedBatch and metrics label)
    request_type: type[Message]
    response_type: type[Message]
    resources_field: str  # resource_spans / resource_logs
    scopes_field: str  # scope_spans / scope_logs
    records_field: str  # spans / log_records
    rejected_field: str  # partial_success.rejected_spans / rejected_log_records
    path: str  # the OTLP/HTTP path
    grpc_service: str  # the OTLP/gRPC service
    noun: str  # what a record is called in messages: "spans", "log records"

    @property
    def request_name(self) -> str:
        return self.request_type.DESCRIPTOR.name

    @property
    def json_resources(self) -> str:
        return _camel(self.resources_field)

    def resources(self, request: Message) -> Any:
        """The request's resource spans or resource logs (the repeated field itself)."""
        return getattr(request, self.resources_field)

    def records_in(self, resource: Message) -> int:
        return sum(len(getattr(scope, self.records_field)) for scope in getattr(resource, self.scopes_field))

    def count(self, request: Message) -> int:
        return sum(self.records_in(resource) for resource in self.resources(request))

    def new_request(self, resources: Any = ()) -> Message:
        request = self.request_type()
        self.resources(request).extend(resources)
        return request


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


TRACES = Signal(
    SIGNAL_TRACES, ExportTraceServiceRequest, ExportTraceServiceResponse, "resource_spans", "scope_spans", "spans",
    "rejected_spans", "/v1/traces", "opentelemetry.proto.collector.trace.v1.TraceService", "spans",
)  # fmt: skip
LOGS = Signal(
    SIGNAL_LOGS, ExportLogsServiceRequest, ExportLogsServiceResponse, "resource_logs", "scope_logs", "log_records",
    "rejected_log_records", "/v1/logs", "opentelemetry.proto.collector.logs.v1.LogsService", "log records",
)  # fmt: skip
SIGNALS = {signal.name: signal for signal in (TRACES, LOGS)}

_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
_ID_LENGTHS = {"traceId": 16, "trace_id": 16}
_CONTENT_KEYS = ("attributes", "resource", "body")  # content subtrees: never read as ids


def _ids_hex_to_b64(node: Any, depth: int = 0) -> Any:
    """A copy of `node` with hex ids as base64 (what proto3 JSON parsing expects).

    The caller's document is not modified: it may share sub-objects (a list of links used by two
    spans), and converting a shared id twice would corrupt it. Attribute subtrees and log bodies
    are content, not ids: they are passed through as they are (shared, never modified).
    """
    if depth > 16:
        return node
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                out[key] = _hex_to_b64(key, value)
            elif isinstance(value, (dict, list)) and key not in _CONTENT_KEYS:
                out[key] = _ids_hex_to_b64(value, depth + 1)
            else:
                out[key] = value
        return out
    if isinstance(node, list):
        return [_ids_hex_to_b64(item, depth + 1) for item in node]
    return node


def _hex_to_b64(key: str, value: str) -> str:
    if value == "":
        return ""
    expected = _ID_LENGTHS.get(key, 8)
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise InvalidRequest(f"{key} is not a hex string") from None
    if len(raw) != expected:
        raise InvalidRequest(f"{key} must be {expected * 2} hex characters")
    return base64.b64encode(raw).decode("ascii")


def _ids_b64_to_hex(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            elif isinstance(value, (dict, list)) and key not in _CONTENT_KEYS:
                _ids_b64_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            _ids_b64_to_hex(item)


def decode_json_request(body: bytes | str, signal: Signal = TRACES) -> Message:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidRequest("body is not valid JSON") from None
    return request_from_json_document(document, signal)


def request_from_json_document(document: Any, signal: Signal = TRACES) -> Message:
    if isinstance(document, dict):
        request = signal.request_type()
        if otlpjson.parse_into(document, request):  # exact, or it gives up and json_format reads it
            return request
    return _parse_with_json_format(document, signal)


def _parse_with_json_format(document: Any, signal: Signal) -> Message:
    name = signal.request_name
    if not isinstance(document, dict):
        raise InvalidRequest(f"an {name} must be a JSON object")
    document = dict(document)
    for field_name in (signal.json_resources, signal.resources_field):
        entries = document.get(field_name)
        if not entries:
            continue
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise InvalidRequest(f"{signal.json_resources} entries must be objects")
        document[field_name] = [_ids_hex_to_b64(entry) for entry in entries]
    request = signal.request_type()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, OverflowError, RecursionError) as exc:  # OverflowError: an int too large for a double
        # ParseError texts quote the offending value (span content): keep the field path only.
        raise InvalidRequest(f"not a valid OTLP/JSON {name}: " + _field_only(str(exc))) from None
    return request


_FIELD_PREFIX = re.compile(r"Failed to parse ([A-Za-z_][A-Za-z0-9_]*) field: ")


def _field_only(message: str) -> str:
    """The field path of a protobuf JSON parse error, and nothing else.

    json_format's messages quote the offending value after the field prefixes ("Couldn't parse
    float: <value>", "... must be in [] which is <value>"), quoted or not. Only the leading
    run of "Failed to parse <field> field: " prefixes is schema text: keep those field names.
    """
    fields = []
    position = 0
    while (match := _FIELD_PREFIX.match(message, position)) is not None:
        fields.append(match.group(1))
        position = match.end()
    if not fields:
        return "wrong structure or value type"
    return "wrong value type in field " + ".".join(fields)


def decode_protobuf_request(body: bytes, signal: Signal = TRACES) -> Message:
    request = signal.request_type()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError):
        raise InvalidRequest(f"body is not a valid protobuf {signal.request_name}") from None
    return request


def _count_unknown(message: Message) -> int:
    count = len(unknown_fields.UnknownFieldSet(message))
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in value if field.is_repeated else [value]:
                count += _count_unknown(item)
    return count


def drop_unknown_fields(message: Message) -> int:
    """Drop every field outside the schema, at any depth, in place; return how many there were."""
    count = _count_unknown(message)
    if count:
        message.DiscardUnknownFields()
    return count


def request_to_json_document(request: Message) -> dict[str, Any]:
    """Either signal's request as OTLP/JSON (hex ids); the signal is the request's own type."""
    fast = otlpjson.to_document(request)
    if fast is not None:
        return fast
    document = json_format.MessageToDict(request, preserving_proto_field_name=False, use_integers_for_enums=True)
    for key in ("resourceSpans", "resourceLogs"):
        for resource in document.get(key, []):
            _ids_b64_to_hex(resource)
    return document


def encode_json_request(request: Message) -> str:
    return json.dumps(request_to_json_document(request), ensure_ascii=False)


def encode_response(rejected: int, error_message: str, content_type: str, signal: Signal = TRACES) -> bytes:
    response = signal.response_type()
    if rejected or error_message:
        setattr(response.partial_success, signal.rejected_field, rejected)
        response.partial_success.error_message = error_message
    if content_type == JSON:
        return json.dumps(json_format.MessageToDict(response)).encode()
    return response.SerializeToString()


def span_count(request: ExportTraceServiceRequest) -> int:
    return TRACES.count(request)


def signals_in_document(document: Any) -> list[Signal]:
    """The signals whose top-level key (resourceSpans, resourceLogs) an OTLP/JSON document has."""
    if not isinstance(document, dict):
        return []
    return [s for s in SIGNALS.values() if s.json_resources in document or s.resources_field in document]
