"""OTLP requests with a marker planted in every field, built from the protobuf descriptors.

`build(request_type, draw)` walks the request type's descriptor: every string field gets a
marker string, every bytes field marker bytes, every number field that the schema does not type
(see `redactors.fields.is_typed_number`) a PII-shaped number, and every message an unknown
field holding a marker. A field added to OTLP later gets a marker without a change here. For
oneofs (AnyValue) and nested values, one instance is built per variant, so every variant of
every field is covered in one request. To cover another signal (logs), add its request type to
`REQUEST_TYPES`.

`Plants` records what was planted, so that a test can look for every marker in what came out.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from redactors import fields

REQUEST_TYPES: tuple[type[Message], ...] = (ExportTraceServiceRequest, ExportLogsServiceRequest)
CORE = "zqxmarker"
SECRET_BODY = "Zq7XmK2pL9vR4sT8wY1bN6cD3fG5hJ"  # with ghp_ and a 6-digit index: 36 characters
CARD_SPACED = "4111 1111 1111 1111"
PII_NUMBERS = (4111111111111111, 123456789, 2125550147, 447911123456)
INT32_PII_NUMBERS = (123456789, 2125550147)  # fit an int32
MAX_VALUE_DEPTH = 3  # AnyValue nesting (kvlist/array) planted below an attribute
# Keys a planted attribute may carry besides a marker key: known keys, so that the value is
# classified as structure, identifier, URL or content. No key that holds numbers by design is
# used with a number (a token count keeps its number).
KNOWN_KEYS = (
    "service.name", "gen_ai.request.model", "gen_ai.tool.name", "gen_ai.operation.name", "error.type",
    "otel.status_description", "code.stacktrace", "rpc.method", "tracevault.note", "user.id", "url.full",
    "gen_ai.input.messages", "gen_ai.tool.call.arguments", "app.note",
)  # fmt: skip
NUMBER_KEYS_FOR_STRINGS = ("gen_ai.usage.input_tokens", "llm.token_count.prompt")
STRING_KINDS = ("email", "secret", "base64", "card", "json", "hex")


@dataclass
class Plants:
    """Every marker planted: strings (and bytes) to search for, and numbers."""

    strings: list[str] = field(default_factory=list)
    numbers: set[int] = field(default_factory=set)
    count: int = 0

    def next_index(self) -> int:
        self.count += 1
        return self.count


def _email(index: int) -> str:
    return f"{CORE}{index}@example.com"


def _secret(index: int) -> str:
    return f"ghp_{index:06d}{SECRET_BODY}"


class Planter:
    """Builds one request; `choose(n)` picks among n options (a hypothesis draw, or rotation)."""

    def __init__(self, choose: Callable[[int], int]) -> None:
        self.choose = choose
        self.plants = Plants()

    # -- markers ----------------------------------------------------------------------------

    def string_marker(self) -> str:
        index = self.plants.next_index()
        kind = STRING_KINDS[self.choose(len(STRING_KINDS))]
        email, secret = _email(index), _secret(index)
        self.plants.strings.append(email if kind != "secret" else secret)
        if kind == "email":
            return email
        if kind == "secret":
            return secret
        if kind == "base64":
            return base64.b64encode(f"contact {email} now".encode()).decode()
        if kind == "hex":
            return f"write to {email}".encode().hex()
        if kind == "card":
            self.plants.strings.append(CARD_SPACED)
            return f"{CARD_SPACED} {email}"
        self.plants.numbers.add(PII_NUMBERS[0])
        return json.dumps({"role": email, "id": _secret(index), "amount": PII_NUMBERS[0], "nested": {"user": email}})

    def bytes_marker(self) -> bytes:
        index = self.plants.next_index()
        self.plants.strings.append(_email(index))
        return f"{_email(index)} {_secret(index)}".encode()

    def number_marker(self, field_descriptor: FieldDescriptor) -> int | float:
        small = field_descriptor.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32)
        options = INT32_PII_NUMBERS if small else PII_NUMBERS
        number = options[self.choose(len(options))]
        self.plants.numbers.add(number)
        if field_descriptor.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return float(number)
        return number

    def unknown_field(self, message: Message) -> None:
        index = self.plants.next_index()
        self.plants.strings.append(_email(index))
        payload = _email(index).encode()
        message.MergeFromString(b"\xa2\x06" + bytes([len(payload)]) + payload)  # field 100, length-delimited

    # -- messages -----------------------------------------------------------------------------

    def instances(self, descriptor: Descriptor, depth: int = 0) -> list[Message]:
        """Instances of `descriptor` that together set every field and every oneof variant."""
        variants = self._variant_count(descriptor, depth)
        return [self._instance(descriptor, depth, index) for index in range(variants)]

    def _variant_count(self, descriptor: Descriptor, depth: int) -> int:
        counts = [len(self._oneof_choices(oneof, depth)) for oneof in descriptor.oneofs]
        if descriptor.full_name == fields.KEY_VALUE:
            counts.append(self._variant_count(descriptor.fields_by_name["value"].message_type, depth))
        return max([1, *counts])

    def _oneof_choices(self, oneof: Any, depth: int) -> list[FieldDescriptor]:
        if depth >= MAX_VALUE_DEPTH:
            return [f for f in oneof.fields if f.message_type is None]
        return list(oneof.fields)

    def _instance(self, descriptor: Descriptor, depth: int, variant: int) -> Message:
        message = _message_class(descriptor)()
        chosen = {oneof.full_name: self._oneof_choices(oneof, depth) for oneof in descriptor.oneofs}
        for field_descriptor in descriptor.fields:
            oneof = field_descriptor.containing_oneof
            if oneof is not None and chosen[oneof.full_name][variant % len(chosen[oneof.full_name])].full_name != field_descriptor.full_name:
                continue
            self._set(message, field_descriptor, depth, variant)
        self.unknown_field(message)
        return message

    def _set(self, message: Message, field_descriptor: FieldDescriptor, depth: int, variant: int) -> None:
        name = field_descriptor.name
        if message.DESCRIPTOR.full_name == fields.KEY_VALUE and name == "key":
            message.key = self._key(message, variant, depth)
            return
        if field_descriptor.message_type is not None:
            sub_depth = depth + 1 if field_descriptor.message_type.full_name in (fields.KEY_VALUE, fields.ANY_VALUE) else depth
            if message.DESCRIPTOR.full_name == fields.KEY_VALUE:
                sub_depth = depth  # KeyValue.value is at the KeyValue's own depth
            sub = field_descriptor.message_type
            if field_descriptor.is_repeated:
                getattr(message, name).extend(self.instances(sub, sub_depth))
            else:
                count = self._variant_count(sub, sub_depth)
                getattr(message, name).CopyFrom(self._instance(sub, sub_depth, variant % count))
            return
        value = self._scalar(field_descriptor)
        if field_descriptor.is_repeated:
            getattr(message, name).append(value)
        else:
            setattr(message, name, value)

    def _key(self, message: Message, variant: int, depth: int) -> str:
        value_kinds = [f.name for f in self._oneof_choices(message.DESCRIPTOR.fields_by_name["value"].message_type.oneofs[0], depth)]
        numeric = value_kinds[variant % len(value_kinds)] in ("int_value", "double_value", "string_value_strindex")
        keys = list(KNOWN_KEYS) + ([] if numeric else list(NUMBER_KEYS_FOR_STRINGS))
        pick = self.choose(len(keys) + 1)
        return self.string_marker() if pick == len(keys) else keys[pick]

    def _scalar(self, field_descriptor: FieldDescriptor) -> Any:
        if field_descriptor.type == FieldDescriptor.TYPE_STRING:
            return self.string_marker()
        if field_descriptor.type == FieldDescriptor.TYPE_BYTES:
            return self.bytes_marker()
        if fields.is_typed_number(field_descriptor):
            return _typed_value(field_descriptor)
        return self.number_marker(field_descriptor)


def _typed_value(field_descriptor: FieldDescriptor) -> Any:
    """Typed numbers are kept by design: plant plausible values (a timestamp, a count, a flag)."""
    if field_descriptor.type == FieldDescriptor.TYPE_ENUM:
        return field_descriptor.enum_type.values[-1].number
    if field_descriptor.type == FieldDescriptor.TYPE_BOOL:
        return True
    if field_descriptor.name.endswith("_unix_nano"):
        return 1_764_000_000_000_000_000
    return 1


_CLASSES: dict[str, type[Message]] = {}


def _message_class(descriptor: Descriptor) -> type[Message]:
    found = _CLASSES.get(descriptor.full_name)
    if found is None:
        from google.protobuf import message_factory

        found = message_factory.GetMessageClass(descriptor)
        _CLASSES[descriptor.full_name] = found
    return found


def build(request_type: type[Message], choose: Callable[[int], int]) -> tuple[Message, Plants]:
    planter = Planter(choose)
    (request,) = planter.instances(request_type.DESCRIPTOR)
    return request, planter.plants


def rotation() -> Callable[[int], int]:
    """A deterministic chooser: 0, 1, 2, ... modulo each choice's size."""
    state = {"n": 0}

    def choose(options: int) -> int:
        state["n"] += 1
        return state["n"] % options

    return choose


@st.composite
def planted_requests(draw: Any, request_type: type[Message] = ExportTraceServiceRequest) -> tuple[Message, Plants]:
    """Hypothesis draws one seed; a random source seeded with it makes the many small choices."""
    source = random.Random(draw(st.integers(min_value=0, max_value=2**32)))
    return build(request_type, source.randrange)
