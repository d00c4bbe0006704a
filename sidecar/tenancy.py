"""Which tenant and environment each resource's spans (or log records) belong to.

Order: the request header (default X-Tenant-Id) for the whole request; else the resource
attribute `tenant.id` per resource; else the configured default. An invalid header refuses the
whole request; an invalid resource attribute refuses that resource's spans (log records) only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from policies.config import TenancyConfig
from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from sidecar.errors import InvalidRequest
from sidecar.otlp import TRACES, Signal


@dataclass
class TenantGroups:
    groups: dict[tuple[str, str], list[Message]] = field(default_factory=dict)  # ResourceSpans or ResourceLogs
    rejected: int = 0  # records refused: spans, or log records
    rejected_indices: list[int] = field(default_factory=list)
    rejection_reasons: set[str] = field(default_factory=set)

    @property
    def error_message(self) -> str:
        return "; ".join(sorted(self.rejection_reasons))


def _resource_string(resource_item: Message, keys: list[str]) -> str | None:
    for key in keys:
        for kv in resource_item.resource.attributes:
            if kv.key == key and kv.value.WhichOneof("value") == "string_value":
                return kv.value.string_value
    return None


def group_by_tenant(
    request: Message,
    tenancy: TenancyConfig,
    tenant_header: str | None,
    env_header: str | None,
    signal: Signal = TRACES,
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
    for index, resource_item in enumerate(signal.resources(request)):
        tenant = tenant_header or _resource_string(resource_item, [tenancy.resource_attribute]) or tenancy.default_tenant
        # Environments are commonly written "Production": compare them case-insensitively.
        env = (env_header or _resource_string(resource_item, tenancy.env_resource_attributes) or tenancy.default_env).lower()
        if not is_valid_id(tenant):
            result.rejected_indices.append(index)
            result.rejected += signal.records_in(resource_item)
            result.rejection_reasons.add(f"resource attribute {tenancy.resource_attribute}: tenant id must match {ID_PATTERN_TEXT}")
            continue
        if not is_valid_id(env):
            result.rejected_indices.append(index)
            result.rejected += signal.records_in(resource_item)
            result.rejection_reasons.add(f"resource environment attribute: must match {ID_PATTERN_TEXT}")
            continue
        result.groups.setdefault((tenant, env), []).append(resource_item)
    return result
