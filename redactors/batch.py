"""What the redaction step hands to every sink, and the contract every sink keeps.

A sink (the vault, the forwarder, the discard sink) implements `Sink`:

- `export(batch) -> ExportOutcome`: `ok` (kept, or counted as dropped by design), `retry`
  (not kept: the client must retry later, 503 / UNAVAILABLE), or `refused` (the next hop refused
  the data for good; counted as dropped, acknowledged, not retried).
- `flush(timeout)` and `shutdown(timeout)` return whether they finished within `timeout`
  seconds (None: no limit). What a sink could not finish stays where it is durable (the vault's
  spool) or is counted as dropped (the forwarder's backlog).

The pipeline (`sidecar/pipeline.py`) calls every sink in order, turns a `retry` into
`sidecar.errors.Unavailable`, and enforces `server.shutdown_grace_seconds` across all sinks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SIGNAL_TRACES = "traces"
SIGNAL_LOGS = "logs"
SIGNALS = (SIGNAL_TRACES, SIGNAL_LOGS)


@dataclass(frozen=True)
class RedactedBatch:
    """One (tenant, env) group of one request, after redaction.

    `signal` says what `request` holds: `traces` (an ExportTraceServiceRequest) or `logs` (an
    ExportLogsServiceRequest). `span_count` counts the request's records: spans for traces, log
    records for logs.

    `escrow` is the same records with only secrets stripped, present when the policy's payload
    mode is `original`; it has the same resources, scopes and records in the same order.
    """

    tenant: str
    env: str
    request: ExportTraceServiceRequest | ExportLogsServiceRequest
    span_count: int
    received_at: datetime
    payload_mode: str
    escrow: ExportTraceServiceRequest | ExportLogsServiceRequest | None = None
    signal: str = SIGNAL_TRACES

    def __post_init__(self) -> None:
        if self.signal not in SIGNALS:
            raise ValueError(f"unknown signal {self.signal!r}")


class Outcome(Enum):
    OK = "ok"
    RETRY = "retry"
    REFUSED = "refused"


@dataclass(frozen=True)
class ExportOutcome:
    """A sink's answer to one batch. `reason` is a fixed string, never span content."""

    status: Outcome
    reason: str = ""

    @classmethod
    def ok(cls) -> ExportOutcome:
        return _OK

    @classmethod
    def retry(cls, reason: str) -> ExportOutcome:
        return cls(Outcome.RETRY, reason)

    @classmethod
    def refused(cls, reason: str) -> ExportOutcome:
        return cls(Outcome.REFUSED, reason)


_OK = ExportOutcome(Outcome.OK)


class Sink(Protocol):
    stores_payloads: bool  # wants the escrow copy for payload mode `original`

    async def start(self) -> None: ...
    def has_capacity(self) -> bool: ...
    async def export(self, batch: RedactedBatch) -> ExportOutcome: ...
    async def flush(self, timeout: float | None = None) -> bool: ...
    async def shutdown(self, timeout: float | None = None) -> bool: ...
