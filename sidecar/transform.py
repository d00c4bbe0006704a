"""The service's transform on one decoded request, shared by `tracevault redact` and the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import Config
from sidecar.tenancy import group_by_tenant

if TYPE_CHECKING:
    from redactors.engine import Redactor


def redact_request(redactor: Redactor, config: Config, request: ExportTraceServiceRequest, tenant: str | None) -> tuple[int, str]:
    """The service's transform, in place: group by tenant, redact each group; drop refused resources.

    Returns (rejected spans, reason).
    """
    groups = group_by_tenant(request, config.tenancy, tenant, None)
    for (group_tenant, env), resource_spans in groups.groups.items():
        redactor.redact_resource_spans(resource_spans, group_tenant, env)
    for index in reversed(groups.rejected_indices):
        del request.resource_spans[index]
    return groups.rejected, groups.error_message
