"""From request body to per-tenant groups: inflate, decode, drop fields outside the schema,
apply the span limits, group.

This runs in a redaction worker, not in the server process: decoding a 20 MiB body of a
million tiny attributes holds the interpreter for seconds and takes hundreds of MiB. In the
worker it is bounded by the worker's memory limit and never stalls the event loop. Only bytes,
ids and counts come back: one serialized request per (tenant, env) group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from policies.config import Config
from sidecar import otlp
from sidecar.limits import apply_span_limits, decode_body
from sidecar.tenancy import group_by_tenant


@dataclass(frozen=True)
class PreparedGroup:
    tenant: str
    env: str
    request: bytes  # serialized ExportTraceServiceRequest of this group's resource spans
    spans: int


@dataclass(frozen=True)
class Prepared:
    groups: list[PreparedGroup]
    received_spans: int
    rejected_spans: int = 0
    error_message: str = ""
    limited: dict[str, int] = field(default_factory=dict)  # what the span limits dropped or cut
    unknown_fields: int = 0  # fields outside the OTLP schema, dropped


@dataclass(frozen=True)
class Body:
    """A request as the receivers got it: the body bytes and the headers that matter."""

    data: bytes
    content_type: str = otlp.PROTOBUF  # otlp.PROTOBUF or otlp.JSON
    encoding: str = "identity"  # "identity" or "gzip"
    tenant_header: str | None = None
    env_header: str | None = None


def prepare(config: Config, body: Body) -> Prepared:
    """Raises InvalidRequest (bad data) or PayloadTooLarge (over a size limit)."""
    raw = decode_body(body.data, body.encoding, config.server.max_decompressed_bytes)
    request = otlp.decode_json_request(raw) if body.content_type == otlp.JSON else otlp.decode_protobuf_request(raw)
    del raw
    unknown_fields = otlp.drop_unknown_fields(request)
    limited = apply_span_limits(request, config.limits)
    grouped = group_by_tenant(request, config.tenancy, body.tenant_header, body.env_header)
    groups = []
    for (tenant, env), resource_spans in grouped.groups.items():
        group = ExportTraceServiceRequest(resource_spans=resource_spans)
        spans = sum(len(ss.spans) for rs in resource_spans for ss in rs.scope_spans)
        groups.append(PreparedGroup(tenant, env, group.SerializeToString(), spans))
    return Prepared(groups, otlp.span_count(request), grouped.rejected_spans, grouped.error_message, dict(limited), unknown_fields)
