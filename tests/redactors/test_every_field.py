"""The spec of issue 11, at the redactor: a marker planted in every field does not survive.

Requests are built from the protobuf descriptors (`tests/redactors/planted.py`): every string
and bytes field holds a marker (an email, a GitHub token, base64 or hex of an email sentence, a
card number, a JSON document holding them), every number field the schema does not type holds a
PII-shaped number, and every message an unknown field with a marker. The end-to-end version
(forwarded bytes, stored objects, Parquet, decrypted payloads, the log) is
`tests/sidecar/test_every_field_e2e.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from redactors import fields
from redactors.engine import Redactor
from tests.redactors.planted import CORE, REQUEST_TYPES, Plants, build, planted_requests, rotation

# How each request type is redacted, as the sidecar does it: the walker gets the resource-level
# items (request-level fields are rebuilt by the pipeline).
REDACT: dict[type[Message], Callable[[Redactor, Message], Message]] = {
    ExportTraceServiceRequest: lambda redactor, request: _redact_traces(redactor, request),
    ExportLogsServiceRequest: lambda redactor, request: _redact_logs(redactor, request),
}


def _redact_traces(redactor: Redactor, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    items = list(request.resource_spans)
    redactor.redact_resource_spans(items, "acme", "prod")
    return ExportTraceServiceRequest(resource_spans=items)


def _redact_logs(redactor: Redactor, request: ExportLogsServiceRequest) -> ExportLogsServiceRequest:
    items = list(request.resource_logs)
    redactor.redact_resource_logs(items, "acme", "prod")
    return ExportLogsServiceRequest(resource_logs=items)


def test_every_signal_has_a_redaction() -> None:
    assert set(REQUEST_TYPES) == set(REDACT) == {ExportTraceServiceRequest, ExportLogsServiceRequest}


def untyped_numbers(message: Message) -> Iterator[int | float]:
    """Every number in fields the schema does not type (AnyValue ints and doubles, indexes)."""
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in value if field.is_repeated else [value]:
                yield from untyped_numbers(item)
        elif fields.is_number(field) and not fields.is_typed_number(field):
            yield from (value if field.is_repeated else [value])


def assert_no_marker(output: Message, plants: Plants) -> None:
    wire = output.SerializeToString()
    assert CORE.encode() not in wire, "a planted marker survived"
    for planted in plants.strings:
        assert planted.encode() not in wire, "a planted value survived"
    for number in plants.numbers:
        assert str(number).encode() not in wire, "a planted number survived as text"
    assert not plants.numbers & {int(n) for n in untyped_numbers(output)}, "a planted number survived"


def _schema_fields(descriptor: Descriptor, seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    found: set[str] = set()
    if descriptor.full_name in seen:
        return found
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        found.add(field.full_name)
        if field.message_type is not None:
            found |= _schema_fields(field.message_type, seen)
    return found


def _set_fields(message: Message) -> set[str]:
    found: set[str] = set()
    for field, value in message.ListFields():
        found.add(field.full_name)
        if field.message_type is not None:
            for item in value if field.is_repeated else [value]:
                found |= _set_fields(item)
    return found


def test_the_planted_request_sets_every_field_of_the_schema() -> None:
    for request_type in REQUEST_TYPES:
        request, plants = build(request_type, rotation())
        assert _set_fields(request) == _schema_fields(request_type.DESCRIPTOR)
        assert plants.strings and plants.numbers


def test_every_field_is_examined_deterministic(redactor: Redactor) -> None:
    for request_type in REQUEST_TYPES:
        request, plants = build(request_type, rotation())
        assert_no_marker(REDACT[request_type](redactor, request), plants)


@pytest.mark.parametrize("request_type", REQUEST_TYPES, ids=lambda t: t.__name__)
def test_no_marker_survives_redaction(redactor: Redactor, request_type: type[Message]) -> None:
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(planted=planted_requests(request_type))
    def check(planted: tuple[Message, Plants]) -> None:
        request, plants = planted
        assert_no_marker(REDACT[type(request)](redactor, request), plants)

    check()


def test_typed_numbers_are_only_enums_timestamps_counters_and_flags() -> None:
    """The numbers kept without a scan are a closed, named set; any other number is scanned."""
    descriptors = [f for t in REQUEST_TYPES for f in _all_field_descriptors(t.DESCRIPTOR)]
    kept = {f.full_name for f in descriptors if fields.is_typed_number(f)}
    for name in kept:
        short = name.rpartition(".")[2]
        assert short.endswith(("_unix_nano", "_count")) or short in ("flags", "kind", "code", "bool_value", "severity_number"), name
    scanned = {f.full_name for f in descriptors if fields.is_number(f) and not fields.is_typed_number(f)}
    assert {"opentelemetry.proto.common.v1.AnyValue.int_value", "opentelemetry.proto.common.v1.AnyValue.double_value"} <= scanned


def _all_field_descriptors(descriptor: Descriptor, seen: set[str] | None = None) -> list[FieldDescriptor]:
    seen = set() if seen is None else seen
    if descriptor.full_name in seen:
        return []
    seen.add(descriptor.full_name)
    found = list(descriptor.fields)
    for field in descriptor.fields:
        if field.message_type is not None:
            found += _all_field_descriptors(field.message_type, seen)
    return found
