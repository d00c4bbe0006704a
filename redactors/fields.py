"""How each field of the OTLP protobuf schema is treated, decided from its descriptor.

The walker visits every field of every message it is given, by its descriptor, so a field that
a later OTLP version adds is examined without a change here: a string field not named below is
content, a bytes field not named below is dropped, and a number not named below is scanned for
PII-shaped digits. Only these fields are trusted, and each only with the shape it should have:

- ids (``trace_id``, ``span_id``, ``parent_span_id``): bytes of their exact length;
- typed numbers: enums, timestamps (``*_unix_nano``), counters (``*_count``) and ``flags``;
- ``trace_state``: W3C ``tracestate`` syntax with token-like values;
- ``schema_url``: a plain URL without user info, query or fragment;
- scope name and version, event names, entity types: tokens;
- ``EntityRef.id_keys`` and ``description_keys``: attribute keys (examined like keys);
- ``KeyValue`` and ``AnyValue`` (attributes, log bodies): the attribute rules of the walker.
"""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor

_P = "opentelemetry.proto."
KEY_VALUE = _P + "common.v1.KeyValue"
ANY_VALUE = _P + "common.v1.AnyValue"
# Messages that carry their own redaction counts (`tracevault.redactions.*` attributes); every
# other message counts into the resource above it.
SPAN_EVENT = _P + "trace.v1.Span.Event"
LOG_RECORD = _P + "logs.v1.LogRecord"
COUNTED_MESSAGES = frozenset({_P + "trace.v1.Span", _P + "logs.v1.LogRecord"})

CONTENT = "content"
TOKEN = "token"
TRACE_STATE = "trace_state"
SCHEMA_URL = "schema_url"
KEY = "key"

_STRING_RULES = {
    _P + "common.v1.InstrumentationScope.name": TOKEN,
    _P + "common.v1.InstrumentationScope.version": TOKEN,
    _P + "common.v1.EntityRef.type": TOKEN,
    _P + "common.v1.EntityRef.id_keys": KEY,
    _P + "common.v1.EntityRef.description_keys": KEY,
    _P + "trace.v1.Span.Event.name": TOKEN,
    _P + "logs.v1.LogRecord.event_name": TOKEN,
    _P + "logs.v1.LogRecord.severity_text": TOKEN,
}
_STRING_RULES_BY_NAME = {"trace_state": TRACE_STATE, "schema_url": SCHEMA_URL}
_ID_LENGTHS = {"trace_id": 16, "span_id": 8, "parent_span_id": 8}
_NUMBER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
    }
)  # fmt: skip


def string_rule(field: FieldDescriptor) -> str:
    """CONTENT, TOKEN, TRACE_STATE, SCHEMA_URL or KEY for a string field."""
    return _STRING_RULES.get(field.full_name) or _STRING_RULES_BY_NAME.get(field.name, CONTENT)


def id_length(field: FieldDescriptor) -> int | None:
    """The exact length of an id bytes field; None for any other bytes field (dropped)."""
    return _ID_LENGTHS.get(field.name)


def is_number(field: FieldDescriptor) -> bool:
    return field.type in _NUMBER_TYPES


def is_typed_number(field: FieldDescriptor) -> bool:
    """Enums, timestamps, counters and flags: numbers the schema itself types, kept as they are."""
    if field.type in (FieldDescriptor.TYPE_ENUM, FieldDescriptor.TYPE_BOOL):
        return True
    name = field.name
    return is_number(field) and (name.endswith("_unix_nano") or name.endswith("_count") or name == "flags")


def counted(descriptor: Descriptor) -> bool:
    return descriptor.full_name in COUNTED_MESSAGES
