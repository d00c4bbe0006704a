"""Request limits: a cap on the wire and a cap after decompression, enforced while inflating;
then span limits (attribute counts, value lengths, nesting depth) on the decoded request, spans
and log records alike (a log record's body is limited like an attribute value).

A compression bomb is refused as soon as the output passes the cap: the decompressor is asked
for at most cap + 1 bytes, so memory never grows past the limit.

The input is fed to each gzip member in slices that start small and grow: zlib copies whatever
follows the end of a member into `unused_data`, so feeding the whole body to every member of a
body made of thousands of tiny members would copy the body once per member (quadratic time).
"""

from __future__ import annotations

import zlib
from collections import Counter
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from policies.config import LimitsConfig
from sidecar.errors import InvalidRequest, PayloadTooLarge
from sidecar.otlp import LOGS, TRACES, Signal

SUPPORTED_ENCODINGS = ("identity", "gzip")
_FIRST_SLICE = 256  # a gzip header and a small deflate stream fit; grows x2 per slice
_MAX_SLICE = 256 * 1024


def decompress_gzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body (one or more members) without ever producing more than `limit` bytes."""
    out = bytearray()
    view = memoryview(body)
    position = 0
    while position < len(view):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        size = _FIRST_SLICE
        while True:
            piece = view[position : position + size]
            try:
                chunk = inflater.decompress(piece, limit - len(out) + 1)
            except zlib.error:
                raise InvalidRequest("body is not valid gzip") from None
            out += chunk
            if len(out) > limit or inflater.unconsumed_tail:
                raise PayloadTooLarge(f"decompressed body exceeds {limit} bytes")
            position += len(piece) - len(inflater.unused_data)
            if inflater.eof:
                break
            if position >= len(view):
                raise InvalidRequest("gzip body is truncated")
            size = min(size * 2, _MAX_SLICE)
    return bytes(out)


def decode_body(body: bytes, content_encoding: str, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        return decompress_gzip(body, limit)
    if encoding == "identity":
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
        return body
    raise ValueError("unsupported content encoding")


# -- span limits (OTel SDK style), applied to every decoded request ----------------------------

TRUNCATED = "<TRUNCATED>"
TOO_DEEP = "<TOO_DEEP>"


class _Limiter:
    """Applies LimitsConfig to a request in place and counts what it dropped or cut."""

    def __init__(self, limits: LimitsConfig) -> None:
        self._limits = limits
        self.counts: Counter[str] = Counter()

    def text(self, value: str) -> str:
        limit = self._limits.max_value_chars
        if len(value) <= limit:
            return value
        self.counts["truncated_values"] += 1
        return value[: max(0, limit - len(TRUNCATED))] + TRUNCATED

    def attributes(self, attributes: Any) -> int:
        """Keep the first max_attributes; limit each value. Returns how many were dropped."""
        dropped = max(0, len(attributes) - self._limits.max_attributes)
        if dropped:
            del attributes[self._limits.max_attributes :]
            self.counts["dropped_attributes"] += dropped
        for kv in attributes:
            if len(kv.key) > self._limits.max_value_chars:
                kv.key = self.text(kv.key)
            self.value(kv.value, 1)
        return dropped

    def value(self, value: AnyValue, depth: int) -> None:
        kind = value.WhichOneof("value")
        if kind == "string_value":
            if len(value.string_value) > self._limits.max_value_chars:
                value.string_value = self.text(value.string_value)
        elif kind == "bytes_value":
            if len(value.bytes_value) > self._limits.max_value_chars:
                self.counts["truncated_values"] += 1
                value.bytes_value = value.bytes_value[: self._limits.max_value_chars]
        elif kind in ("array_value", "kvlist_value"):
            if depth >= self._limits.max_value_depth:
                self.counts["too_deep_values"] += 1
                value.string_value = TOO_DEEP
            elif kind == "array_value":
                self._entries(value.array_value.values)
                for item in value.array_value.values:
                    self.value(item, depth + 1)
            else:
                self.attributes_nested(value.kvlist_value.values, depth)

    def attributes_nested(self, entries: Any, depth: int) -> None:
        self._entries(entries)
        for kv in entries:
            if len(kv.key) > self._limits.max_value_chars:
                kv.key = self.text(kv.key)
            self.value(kv.value, depth + 1)

    def _entries(self, entries: Any) -> None:
        extra = len(entries) - self._limits.max_attributes
        if extra > 0:
            del entries[self._limits.max_attributes :]
            self.counts["dropped_attributes"] += extra

    def repeated(self, items: Any, limit: int, counter: str) -> int:
        dropped = max(0, len(items) - limit)
        if dropped:
            del items[limit:]
            self.counts[counter] += dropped
        return dropped

    def span(self, span: Span) -> None:
        span.name = self.text(span.name)
        span.status.message = self.text(span.status.message)
        span.dropped_attributes_count += self.attributes(span.attributes)
        span.dropped_events_count += self.repeated(span.events, self._limits.max_events_per_span, "dropped_events")
        span.dropped_links_count += self.repeated(span.links, self._limits.max_links_per_span, "dropped_links")
        for event in span.events:
            event.name = self.text(event.name)
            event.dropped_attributes_count += self.attributes(event.attributes)
        for link in span.links:
            link.trace_state = self.text(link.trace_state)
            link.dropped_attributes_count += self.attributes(link.attributes)


    def log_record(self, record: LogRecord) -> None:
        record.event_name = self.text(record.event_name)
        record.severity_text = self.text(record.severity_text)
        record.dropped_attributes_count += self.attributes(record.attributes)
        if record.HasField("body"):
            self.value(record.body, 1)


def apply_span_limits(request: Message, limits: LimitsConfig, signal: Signal = TRACES) -> Counter[str]:
    """Cut a request to the span limits, in place, as the OTel SDK would have on the client.

    The same limits hold for log records: attributes, the body (as an attribute value), the
    event name and the severity text. Dropped attributes, events and links are counted in the
    OTLP `dropped_*_count` fields. Returns the counts per kind (dropped_attributes,
    dropped_events, dropped_links, truncated_values, too_deep_values).
    """
    limiter = _Limiter(limits)
    limit_record = limiter.log_record if signal is LOGS else limiter.span
    for resource_item in signal.resources(request):
        resource = resource_item.resource
        resource.dropped_attributes_count += limiter.attributes(resource.attributes)
        for scope_item in getattr(resource_item, signal.scopes_field):
            scope = scope_item.scope
            scope.name = limiter.text(scope.name)
            scope.dropped_attributes_count += limiter.attributes(scope.attributes)
            for record in getattr(scope_item, signal.records_field):
                limit_record(record)
    return limiter.counts
