"""The service's transform on one decoded request, shared by `tracevault redact` and the demo."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from google.protobuf.message import Message

from policies.config import Config
from sidecar import otlp
from sidecar.errors import InvalidRequest
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


def select_signal(document: object, chosen: str | None) -> otlp.Signal:
    """The signal of a document: its top-level key (resourceSpans or resourceLogs), which
    `chosen` (`--signal`) must agree with; a document with neither is of `chosen`, else traces."""
    present = otlp.signals_in_document(document)
    if len(present) > 1:
        raise InvalidRequest("the request holds both resourceSpans and resourceLogs; send one signal per request")
    if chosen is None:
        return present[0] if present else otlp.TRACES
    if present and present[0].name != chosen:
        raise InvalidRequest(f"the request holds {present[0].json_resources}, not the {chosen} that --signal names")
    return otlp.SIGNALS[chosen]


def decode_json_document(text: str, chosen: str | None) -> tuple[Message, otlp.Signal]:
    """An OTLP/JSON document as a request of its signal; InvalidRequest (fixed messages) when it is not one."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidRequest("body is not valid JSON") from None
    signal = select_signal(document, chosen)
    return otlp.request_from_json_document(document, signal), signal


def redact_json_document(redactor: Redactor, config: Config, text: str, tenant: str | None, chosen: str | None = None) -> tuple[str, int, str, str]:
    """One OTLP/JSON document through `redact_request`: (redacted JSON, rejected records, reason,
    what a record is called). Raises InvalidRequest for a document that is not OTLP/JSON."""
    request, signal = decode_json_document(text, chosen)
    rejected, reason = redact_request(redactor, config, request, tenant, signal)
    return otlp.encode_json_request(request), rejected, reason, signal.noun
