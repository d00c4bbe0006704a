"""From request body to per-tenant groups: inflate, decode, drop fields outside the schema,
apply the span limits, group. Traces and logs alike: the body says which signal it holds.

This runs in a redaction worker, not in the server process: decoding a 20 MiB body of a
million tiny attributes holds the interpreter for seconds and takes hundreds of MiB. In the
worker it is bounded by the worker's memory limit and never stalls the event loop. Only bytes,
ids and counts come back: one serialized request per (tenant, env) group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.config import Config
from redactors.batch import SIGNAL_TRACES
from sidecar import otlp
from sidecar.limits import apply_span_limits, decode_body
from sidecar.tenancy import group_by_tenant


@dataclass(frozen=True)
class PreparedGroup:
    tenant: str
    env: str
    request: bytes  # serialized request (of the body's signal) of this group's resources
    records: int  # spans, or log records


@dataclass(frozen=True)
class Prepared:
    groups: list[PreparedGroup]
    received: int  # records in the decoded request
    rejected: int = 0  # records refused (invalid tenant or env)
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
    signal: str = SIGNAL_TRACES  # "traces" or "logs": which request type `data` holds


def prepare(config: Config, body: Body) -> Prepared:
    """Raises InvalidRequest (bad data) or PayloadTooLarge (over a size limit)."""
    signal = otlp.SIGNALS[body.signal]
    raw = decode_body(body.data, body.encoding, config.server.max_decompressed_bytes)
    if body.content_type == otlp.JSON:
        request = otlp.decode_json_request(raw, signal)
    else:
        request = otlp.decode_protobuf_request(raw, signal)
    del raw
    unknown_fields = otlp.drop_unknown_fields(request)
    limited = apply_span_limits(request, config.limits, signal)
    grouped = group_by_tenant(request, config.tenancy, body.tenant_header, body.env_header, signal)
    groups = []
    for (tenant, env), resources in grouped.groups.items():
        group = signal.new_request(resources)
        groups.append(PreparedGroup(tenant, env, group.SerializeToString(), signal.count(group)))
    return Prepared(groups, signal.count(request), grouped.rejected, grouped.error_message, dict(limited), unknown_fields)
