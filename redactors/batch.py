"""What the redaction step hands to every sink."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class RedactedBatch:
    """One (tenant, env) group of one request, after redaction.

    `escrow` is the same spans with only secrets stripped, present when the policy's payload
    mode is `original`; it has the same resources, scopes and spans in the same order.
    """

    tenant: str
    env: str
    request: ExportTraceServiceRequest
    span_count: int
    received_at: datetime
    payload_mode: str
    escrow: ExportTraceServiceRequest | None = None
