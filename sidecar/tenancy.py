"""Which tenant and environment each resource's spans belong to.

Order: the request header (default X-Tenant-Id) for the whole request; else the resource
attribute `tenant.id` per resource; else the configured default. An invalid header refuses the
whole request; an invalid resource attribute refuses that resource's spans only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from policies.config import TenancyConfig
from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from sidecar.errors import InvalidRequest


@dataclass
class TenantGroups:
    groups: dict[tuple[str, str], list[ResourceSpans]] = field(default_factory=dict)
    rejected_spans: int = 0
    rejected_indices: list[int] = field(default_factory=list)
    rejection_reasons: set[str] = field(default_factory=set)

    @property
    def error_message(self) -> str:
        return "; ".join(sorted(self.rejection_reasons))


def _resource_string(resource_spans: ResourceSpans, keys: list[str]) -> str | None:
    for key in keys:
        for kv in resource_spans.resource.attributes:
            if kv.key == key and kv.value.WhichOneof("value") == "string_value":
                return kv.value.string_value
    return None


def _spans_in(resource_spans: ResourceSpans) -> int:
    return sum(len(ss.spans) for ss in resource_spans.scope_spans)


def group_by_tenant(
    request: ExportTraceServiceRequest,
    tenancy: TenancyConfig,
    tenant_header: str | None,
    env_header: str | None,
) -> TenantGroups:
    # An empty header (a collector's headers_setter with no value) means "not given".
    tenant_header = tenant_header or None
    env_header = env_header or None
    if tenant_header is not None and not is_valid_id(tenant_header):
        raise InvalidRequest(f"header {tenancy.header}: tenant id must match {ID_PATTERN_TEXT}")
    if env_header is not None:
        # Case-insensitive, as for the resource attribute below ("Prod" and "prod" are one env).
        env_header = env_header.lower()
    if env_header is not None and not is_valid_id(env_header):
        raise InvalidRequest(f"header {tenancy.env_header}: environment must match {ID_PATTERN_TEXT}")
    result = TenantGroups()
    for index, resource_spans in enumerate(request.resource_spans):
        tenant = tenant_header or _resource_string(resource_spans, [tenancy.resource_attribute]) or tenancy.default_tenant
        # Environments are commonly written "Production": compare them case-insensitively.
        env = (env_header or _resource_string(resource_spans, tenancy.env_resource_attributes) or tenancy.default_env).lower()
        if not is_valid_id(tenant):
            result.rejected_indices.append(index)
            result.rejected_spans += _spans_in(resource_spans)
            result.rejection_reasons.add(f"resource attribute {tenancy.resource_attribute}: tenant id must match {ID_PATTERN_TEXT}")
            continue
        if not is_valid_id(env):
            result.rejected_indices.append(index)
            result.rejected_spans += _spans_in(resource_spans)
            result.rejection_reasons.add(f"resource environment attribute: must match {ID_PATTERN_TEXT}")
            continue
        result.groups.setdefault((tenant, env), []).append(resource_spans)
    return result
