"""The service's transform on one decoded request, shared by `tracevault redact` and the demo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.protobuf.message import Message

from policies.config import Config
from sidecar import otlp
from sidecar.tenancy import group_by_tenant

if TYPE_CHECKING:
    from redactors.engine import Redactor


def redact_request(
    redactor: Redactor, config: Config, request: Message, tenant: str | None, signal: otlp.Signal = otlp.TRACES
) -> tuple[int, str]:
    """The service's transform, in place: group by tenant, redact each group; drop refused resources.

    `request` is an ExportTraceServiceRequest or, with `signal` LOGS, an ExportLogsServiceRequest.
    Returns (rejected spans or log records, reason).
    """
    groups = group_by_tenant(request, config.tenancy, tenant, None, signal)
    redact = redactor.redact_resource_logs if signal is otlp.LOGS else redactor.redact_resource_spans
    for (group_tenant, env), resources in groups.groups.items():
        redact(resources, group_tenant, env)
    for index in reversed(groups.rejected_indices):
        del signal.resources(request)[index]
    return groups.rejected, groups.error_message
