"""sidecar.limits: bounded gzip inflation, the identity limit and the span limits, table-driven."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from policies.config import LimitsConfig
from sidecar.errors import InvalidRequest, PayloadTooLarge
from sidecar.limits import (
    SUPPORTED_ENCODINGS,
    TOO_DEEP,
    TRUNCATED,
    apply_span_limits,
    decode_body,
    decompress_gzip,
)
from sidecar.otlp import LOGS

KIB = 1024
MIB = 1024 * 1024


def _gzip_zeros(total: int, chunk: int = MIB) -> bytes:
    """A gzip member inflating to `total` zero bytes, built without holding `total` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(chunk)
    parts = [compressor.compress(zeros) for _ in range(total // chunk)]
    parts.append(compressor.compress(bytes(total % chunk)))
    parts.append(compressor.flush())
    return b"".join(parts)


PAYLOAD = b"tracevault " * 1000  # 11,000 bytes
GZ = gzip.compress(PAYLOAD)

# (id, body, limit, expected bytes | exception type)
GZIP_ROWS = [
    ("small-ok", GZ, 1 * MIB, PAYLOAD),
    ("exactly-at-limit", GZ, len(PAYLOAD), PAYLOAD),
    ("one-over-limit", GZ, len(PAYLOAD) - 1, PayloadTooLarge),
    ("empty-body", b"", 10, b""),
    ("empty-member", gzip.compress(b""), 10, b""),
    ("two-members", gzip.compress(b"abc") + gzip.compress(b"def"), 10, b"abcdef"),
    ("three-members-at-limit", gzip.compress(b"aa") * 3, 6, b"aaaaaa"),
    ("members-each-under-but-sum-over", gzip.compress(bytes(600 * KIB)) * 2, 1 * MIB, PayloadTooLarge),
    ("truncated-trailer", GZ[:-4], 1 * MIB, InvalidRequest),
    ("truncated-mid-stream", GZ[: len(GZ) // 2], 1 * MIB, InvalidRequest),
    ("header-only", GZ[:10], 1 * MIB, InvalidRequest),
    ("second-member-truncated", gzip.compress(b"abc") + gzip.compress(b"def")[:-3], 10, InvalidRequest),
    ("not-gzip", b"this is not gzip at all", 1 * MIB, InvalidRequest),
    ("trailing-garbage", gzip.compress(b"abc") + b"garbage!", 1 * MIB, InvalidRequest),
    ("corrupt-deflate", GZ[:12] + bytes(b ^ 0xFF for b in GZ[12:40]) + GZ[40:], 1 * MIB, InvalidRequest),
    ("raw-zlib-not-gzip", zlib.compress(PAYLOAD), 1 * MIB, InvalidRequest),
]


@pytest.mark.parametrize(("body", "limit", "expected"), [r[1:] for r in GZIP_ROWS], ids=[r[0] for r in GZIP_ROWS])
def test_decompress_gzip(body: bytes, limit: int, expected: bytes | type[Exception]) -> None:
    if isinstance(expected, bytes):
        assert decompress_gzip(body, limit) == expected
    else:
        with pytest.raises(expected):
            decompress_gzip(body, limit)


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = _gzip_zeros(50 * MIB)
    assert len(bomb) < 200 * KIB  # it really is a bomb: > 250x expansion
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with pytest.raises(PayloadTooLarge):
            decompress_gzip(bomb, 1 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The limit is 1 MiB: memory must stay near it, never near the 50 MiB the bomb would produce.
    assert peak < 4 * MIB


def test_bomb_split_over_many_members_is_refused() -> None:
    member = _gzip_zeros(256 * KIB)
    with pytest.raises(PayloadTooLarge):
        decompress_gzip(member * 8, 1 * MIB)  # 2 MiB in total, 256 KiB per member


def test_error_messages_quote_no_body_content() -> None:
    secret_body = gzip.compress(b"jane@example.com sk-proj-abcdefghijklmnopqrstuvwx")[:-6]
    with pytest.raises(InvalidRequest) as truncated:
        decompress_gzip(secret_body, MIB)
    with pytest.raises(InvalidRequest) as garbage:
        decompress_gzip(b"jane@example.com", MIB)
    with pytest.raises(PayloadTooLarge) as big:
        decompress_gzip(gzip.compress(b"jane@example.com" * 100), 10)
    for exc in (truncated.value, garbage.value, big.value):
        assert "jane" not in str(exc)
        assert "sk-proj" not in str(exc)


# (id, body, encoding, limit, expected bytes | exception type)
DECODE_ROWS = [
    ("identity-under", b"x" * 100, "identity", 100, b"x" * 100),
    ("identity-over", b"x" * 101, "identity", 100, PayloadTooLarge),
    ("empty-encoding-is-identity", b"abc", "", 10, b"abc"),
    ("identity-uppercase", b"abc", "IDENTITY", 10, b"abc"),
    ("gzip", gzip.compress(b"abc"), "gzip", 10, b"abc"),
    ("gzip-mixed-case-spaces", gzip.compress(b"abc"), " GZip ", 10, b"abc"),
    ("gzip-over", gzip.compress(b"a" * 11), "gzip", 10, PayloadTooLarge),
    ("gzip-bad", b"abc", "gzip", 10, InvalidRequest),
    ("deflate-unsupported", zlib.compress(b"abc"), "deflate", 10, ValueError),
    ("br-unsupported", b"abc", "br", 10, ValueError),
]


@pytest.mark.parametrize(
    ("body", "encoding", "limit", "expected"), [r[1:] for r in DECODE_ROWS], ids=[r[0] for r in DECODE_ROWS]
)
def test_decode_body(body: bytes, encoding: str, limit: int, expected: bytes | type[Exception]) -> None:
    if isinstance(expected, bytes):
        assert decode_body(body, encoding, limit) == expected
    else:
        with pytest.raises(expected):
            decode_body(body, encoding, limit)


def test_supported_encodings_are_exactly_gzip_and_identity() -> None:
    assert set(SUPPORTED_ENCODINGS) == {"gzip", "identity"}


def test_many_tiny_members_cost_work_linear_in_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body of thousands of empty members must not be re-fed (copied) once per member.

    Measured as input bytes handed to zlib, not as time: quadratic re-feeding of a 4 MiB body
    of 20-byte members blocked the event loop for seconds.
    """
    fed: list[int] = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, *args: int) -> None:
            self._inner = real(*args)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            fed.append(len(data))
            return self._inner.decompress(data, max_length)

        def __getattr__(self, name: str) -> object:
            return getattr(self._inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Spy)
    member = gzip.compress(b"")
    body = member * 5000
    assert decompress_gzip(body, 10) == b""
    assert len(fed) >= 5000
    assert sum(fed) < 20 * len(body)


def test_large_single_member_round_trips() -> None:
    data = bytes(range(256)) * 40_000  # ~10 MB, compressible, fed in growing slices
    assert decompress_gzip(gzip.compress(data, compresslevel=1), len(data)) == data


# -- span limits --------------------------------------------------------------------------------

SMALL = LimitsConfig(max_attributes=3, max_events_per_span=2, max_links_per_span=1, max_value_chars=20, max_value_depth=3)


def _span_request(attributes: int = 0, events: int = 0, links: int = 0, value: str = "v", depth: int = 0):
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    span = resource_spans.scope_spans.add().spans.add()
    for i in range(attributes):
        kv = span.attributes.add()
        kv.key, kv.value.string_value = f"k{i}", value
    for i in range(events):
        span.events.add().name = f"e{i}"
    for _ in range(links):
        span.links.add().trace_id = b"\x01" * 16
    if depth:
        node = span.attributes.add()
        node.key = "nested"
        current = node.value
        for _ in range(depth):
            current = current.kvlist_value.values.add().value
        current.string_value = "leaf"
    return request, span


@pytest.mark.parametrize(
    ("shape", "kept", "counts"),
    [
        ({"attributes": 3}, {"attributes": 3}, {}),  # benign twin: at the limit, untouched
        ({"attributes": 10}, {"attributes": 3, "dropped_attributes_count": 7}, {"dropped_attributes": 7}),
        ({"events": 5}, {"events": 2, "dropped_events_count": 3}, {"dropped_events": 3}),
        ({"links": 4}, {"links": 1, "dropped_links_count": 3}, {"dropped_links": 3}),
        ({"attributes": 1, "value": "x" * 20}, {"attributes": 1}, {}),
        ({"attributes": 1, "value": "x" * 21}, {"attributes": 1}, {"truncated_values": 1}),
        ({"depth": 2}, {"attributes": 1}, {}),
        ({"depth": 6}, {"attributes": 1}, {"too_deep_values": 1}),
    ],
)
def test_span_limits(shape: dict, kept: dict, counts: dict) -> None:
    request, span = _span_request(**shape)
    assert dict(apply_span_limits(request, SMALL)) == counts
    assert len(span.attributes) == kept.get("attributes", 0)
    assert len(span.events) == kept.get("events", 0)
    assert len(span.links) == kept.get("links", 0)
    for field in ("dropped_attributes_count", "dropped_events_count", "dropped_links_count"):
        assert getattr(span, field) == kept.get(field, 0)


def test_a_cut_value_ends_with_the_marker_and_keeps_the_limit() -> None:
    request, span = _span_request(attributes=1, value="my name is Sarah Connor and this goes on")
    apply_span_limits(request, SMALL)
    value = span.attributes[0].value.string_value
    assert value.endswith(TRUNCATED) and len(value) == 20


def test_a_too_deep_value_is_replaced_not_kept() -> None:
    request, span = _span_request(depth=6)
    apply_span_limits(request, SMALL)
    assert TOO_DEEP.encode() in span.SerializeToString() and b"leaf" not in span.SerializeToString()


def _log_request(attributes: int = 0, body: str | None = None, depth: int = 0, event_name: str = "") -> tuple:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.event_name = event_name
    for i in range(attributes):
        kv = record.attributes.add()
        kv.key, kv.value.string_value = f"k{i}", "v"
    if body is not None:
        record.body.string_value = body
    if depth:
        current = record.body
        for _ in range(depth):
            current = current.kvlist_value.values.add().value
        current.string_value = "leaf"
    return request, record


@pytest.mark.parametrize(
    ("shape", "attributes", "counts"),
    [
        ({"attributes": 3, "body": "x" * 20}, 3, {}),  # benign twin: at the limits, untouched
        ({"attributes": 10}, 3, {"dropped_attributes": 7}),
        ({"body": "x" * 21}, 0, {"truncated_values": 1}),
        ({"event_name": "e" * 21}, 0, {"truncated_values": 1}),
        ({"depth": 2}, 0, {}),
        ({"depth": 6}, 0, {"too_deep_values": 1}),
    ],
)
def test_log_record_limits(shape: dict, attributes: int, counts: dict) -> None:
    """The span limits hold for log records: attributes, the body (as an attribute value) and
    the event name."""
    request, record = _log_request(**shape)
    assert dict(apply_span_limits(request, SMALL, LOGS)) == counts
    assert len(record.attributes) == attributes
    assert record.dropped_attributes_count == counts.get("dropped_attributes", 0)
    if "body" in shape:
        assert len(record.body.string_value) == 20
        assert record.body.string_value.endswith(TRUNCATED) is ("truncated_values" in counts)
    if shape.get("depth", 0) > 3:
        assert TOO_DEEP.encode() in record.SerializeToString() and b"leaf" not in record.SerializeToString()
