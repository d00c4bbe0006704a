"""The service's transform on one decoded request, shared by `tracevault redact` and the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import Config
from sidecar import otlp
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
    return groups.rejected_spans, groups.error_message


def redact_json_document(redactor: Redactor, config: Config, text: str, tenant: str | None) -> tuple[str, int, str]:
    """One OTLP/JSON document through `redact_request`: (redacted JSON, rejected spans, reason).

    Raises InvalidRequest for a document that is not OTLP/JSON (fixed messages, no content)."""
    request = otlp.decode_json_request(text)
    rejected, reason = redact_request(redactor, config, request, tenant)
    return otlp.encode_json_request(request), rejected, reason
