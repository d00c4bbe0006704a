"""A fast path between OTLP/JSON documents and protobuf messages, exact or not taken.

`json_format.ParseDict` and `MessageToDict` are pure Python and read every field through several
layers of checks: about 4% of `tracevault redact --jsonl`'s CPU. The fast path here walks the
message descriptors directly, and accepts only what it reads exactly as json_format does: known
fields with values of the plain JSON type (a string for a string, an int or a decimal string for
an integer, a finite number for a double, a known number for an enum, lowercase-or-not hex of the
right length for an id). Anything else (an unknown or null field, a second member of a oneof, a
bytes value that is not an id, a lone surrogate, a value out of range, deep nesting) makes it give
up, and the caller runs json_format on the original document instead, so errors, their messages
and the ignored unknown fields stay exactly json_format's. Tests compare both paths on every
document the test suite and the benchmark workloads produce.
"""

from __future__ import annotations

import base64
import math
import re
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_ID_FIELDS = frozenset(("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"))
_ID_LENGTHS = {"traceId": 16, "trace_id": 16}
_MAX_DEPTH = 64  # json_format allows 100 levels; deeper documents take its path
_DOUBLE_INTS = 2**53  # larger ints as a double take json_format's path (float() may round or overflow)
# json_format's own test for strings (a lone surrogate is refused).
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_DIGITS = re.compile(r"-?[0-9]+")

# How a field is read and written.
_MESSAGE, _REPEATED_MESSAGE, _STRING, _BYTES, _BOOL, _INT, _INT64, _DOUBLE, _ENUM, _OTHER = range(10)
_INT_TYPES = {FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32}
_INT64_TYPES = {FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64}


class _GiveUp(Exception):
    """The document holds something the fast path does not read exactly as json_format."""


def _kind(field: FieldDescriptor) -> int:
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_MESSAGE:
        message = field.message_type
        if message.GetOptions().map_entry or message.full_name.startswith("google.protobuf."):
            return _OTHER  # maps and well-known types: json_format's own rules
        return _REPEATED_MESSAGE if field.is_repeated else _MESSAGE
    if field.is_repeated:
        return _OTHER
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        return _BYTES if field.type == FieldDescriptor.TYPE_BYTES else _STRING
    kinds = {FieldDescriptor.CPPTYPE_BOOL: _BOOL, FieldDescriptor.CPPTYPE_DOUBLE: _DOUBLE, FieldDescriptor.CPPTYPE_ENUM: _ENUM}
    if cpp in _INT_TYPES:
        return _INT
    if cpp in _INT64_TYPES:
        return _INT64
    return kinds.get(cpp, _OTHER)  # float (32 bits): json_format's range checks


@cache
def _fields(descriptor: Descriptor) -> dict[str, tuple[FieldDescriptor, int]]:
    """A message's fields by JSON name and by proto name, each with how it is read."""
    table: dict[str, tuple[FieldDescriptor, int]] = {}
    for field in descriptor.fields:
        table[field.name] = table[field.json_name] = (field, _kind(field))
    return table


def parse_into(document: dict[str, Any], message: Message) -> bool:
    """Fill the empty `message` from an OTLP/JSON `document` (hex ids); False, with `message`
    left empty, when the fast path gives up (the caller then runs json_format)."""
    try:
        _fill(message, document, 0)
    except (_GiveUp, ValueError, TypeError, OverflowError):
        message.Clear()
        return False
    return True


def _fill(message: Message, document: dict[str, Any], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _GiveUp()
    table = _fields(message.DESCRIPTOR)
    seen: set[int] = set()
    for key, value in document.items():
        field, kind = table.get(key, (None, _OTHER))
        if field is None or kind == _OTHER or value is None or field.number in seen:
            raise _GiveUp()  # unknown (json_format ignores it), null, or given twice
        seen.add(field.number)
        oneof = field.containing_oneof
        if oneof is not None:
            if -oneof.index - 1 in seen:
                raise _GiveUp()
            seen.add(-oneof.index - 1)
        if kind == _REPEATED_MESSAGE:
            if type(value) is not list:
                raise _GiveUp()
            items = getattr(message, field.name)
            for item in value:
                if type(item) is not dict:
                    raise _GiveUp()
                _fill(items.add(), item, depth + 1)
        elif kind == _MESSAGE:
            if type(value) is not dict:
                raise _GiveUp()
            child = getattr(message, field.name)
            child.SetInParent()
            _fill(child, value, depth + 1)
        else:
            setattr(message, field.name, _scalar(kind, field, key, value))


def _scalar(kind: int, field: FieldDescriptor, key: str, value: Any) -> Any:
    kind_of = type(value)
    if kind == _STRING and kind_of is str:
        if not value.isascii() and _UNPAIRED_SURROGATE.search(value):
            raise _GiveUp()
        return value
    if kind in (_INT, _INT64):
        if kind_of is int:
            return value
        if kind_of is str and _DIGITS.fullmatch(value):
            return int(value)
    elif kind == _BYTES and kind_of is str and key in _ID_FIELDS:
        return _id(key, value)
    elif kind == _BOOL and kind_of is bool:
        return value
    elif kind == _DOUBLE and (kind_of is float and math.isfinite(value) or kind_of is int and -_DOUBLE_INTS <= value <= _DOUBLE_INTS):
        return float(value)
    elif kind == _ENUM and kind_of is int and value in field.enum_type.values_by_number:
        return value
    raise _GiveUp()


def _id(key: str, value: str) -> bytes:
    if value == "":
        return b""
    raw = bytes.fromhex(value)  # ValueError: not hex (json_format's path reports it)
    if len(raw) != _ID_LENGTHS.get(key, 8):
        raise _GiveUp()
    return raw


def to_document(message: Message) -> dict[str, Any] | None:
    """`message` as OTLP/JSON, as `json_format.MessageToDict` (camelCase names, integer enums,
    64-bit integers as strings) followed by the ids' base64 -> hex gives it; None when it holds a
    field the fast path does not write (the caller then runs json_format)."""
    try:
        return _document(message)
    except _GiveUp:
        return None


def _document(message: Message) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for field, value in message.ListFields():
        kind = _fields(message.DESCRIPTOR)[field.name][1]
        if kind == _REPEATED_MESSAGE:
            document[field.json_name] = [_document(item) for item in value]
        elif kind == _MESSAGE:
            document[field.json_name] = _document(value)
        else:
            document[field.json_name] = _json_scalar(kind, field, value)
    return document


def _json_scalar(kind: int, field: FieldDescriptor, value: Any) -> Any:
    if kind == _INT64:
        return str(value)
    if kind == _BYTES:
        return value.hex() if field.json_name in _ID_FIELDS else base64.b64encode(value).decode("utf-8")
    if kind == _DOUBLE and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if kind == _OTHER:
        raise _GiveUp()  # maps, well-known types, floats, repeated scalars: json_format's rules
    return value
