"""The pipeline the receivers share: admission, tenant resolution, redaction, sinks.

Admission comes first: a receiver asks for a slot before it reads, inflates or decodes a body,
so that overload costs nothing but a 503 and memory stays bounded by the in-flight limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import Config
from redactors.batch import Outcome, RedactedBatch
from sidecar import otlp
from sidecar.errors import Overloaded, Unavailable
from sidecar.metrics import Metrics
from sidecar.sinks import DiscardSink, ForwarderSink, Sink
from sidecar.tenancy import group_by_tenant
from sidecar.workers import RedactionPool

log = logging.getLogger("tracevault.pipeline")


@dataclass(frozen=True)
class ExportResult:
    accepted_spans: int
    rejected_spans: int
    error_message: str


def build_sinks(config: Config, metrics: Metrics, vault: Sink | None = None) -> list[Sink]:
    """The vault (durable) first; the forwarder runs in the background behind it."""
    sinks: list[Sink] = []
    if vault is not None:
        sinks.append(vault)
    if config.forward is not None:
        sinks.append(ForwarderSink(config.forward, metrics, background=vault is not None))
    if not sinks:
        sinks.append(DiscardSink(metrics))
    return sinks


class Pipeline:
    def __init__(self, config: Config, pool: RedactionPool, sinks: list[Sink], metrics: Metrics) -> None:
        self._config = config
        self._pool = pool
        self._sinks = sinks
        self.metrics = metrics
        self._inflight = 0
        self._accepting = True
        self._wants_escrow = any(sink.stores_payloads for sink in sinks)

    @property
    def inflight(self) -> int:
        return self._inflight

    @property
    def sinks(self) -> list[Sink]:
        return self._sinks

    def stop_accepting(self) -> None:
        self._accepting = False

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold one in-flight slot, or refuse at once with a retry hint."""
        retry_after = self._config.server.retry_after_seconds
        if not self._accepting:
            raise Overloaded("shutting down", retry_after)
        if self._inflight >= self._config.server.max_inflight_requests:
            raise Overloaded("too many requests in flight", retry_after)
        if not all(sink.has_capacity() for sink in self._sinks):
            raise Overloaded("spool is full; the store is behind", retry_after)
        self._inflight += 1
        self.metrics.inflight.set(self._inflight)
        try:
            yield
        finally:
            self._inflight -= 1
            self.metrics.inflight.set(self._inflight)

    async def export(
        self,
        request: ExportTraceServiceRequest,
        tenant_header: str | None,
        env_header: str | None,
    ) -> ExportResult:
        """Redact and hand on every span, or raise; never acknowledge what no sink took.

        Called inside `admit()`.
        """
        # Fields outside the schema are never redacted, stored or forwarded: dropped, counted.
        self.metrics.unknown_fields_dropped.inc(otlp.drop_unknown_fields(request))
        groups = group_by_tenant(request, self._config.tenancy, tenant_header, env_header)
        received_at = datetime.now(timezone.utc)
        accepted = 0
        for (tenant, env), resource_spans in groups.groups.items():
            accepted += await self._export_group(tenant, env, resource_spans, received_at)
        if groups.rejected_spans:
            self.metrics.spans_rejected.labels(reason="invalid_tenant").inc(groups.rejected_spans)
        self.metrics.spans_accepted.inc(accepted)
        return ExportResult(accepted, groups.rejected_spans, groups.error_message)

    async def _export_group(self, tenant: str, env: str, resource_spans: list, received_at: datetime) -> int:
        group = ExportTraceServiceRequest(resource_spans=resource_spans)
        spans = sum(len(ss.spans) for rs in resource_spans for ss in rs.scope_spans)
        started = time.perf_counter()
        redacted, counts = await self._pool.redact(tenant, env, group.SerializeToString(), self._wants_escrow)
        if redacted.failed_closed:
            self.metrics.spans_failed_closed.inc(spans)
            log.warning("redaction of %d spans (tenant=%s) passed its deadline; every value was masked", spans, tenant)
        self.metrics.redaction_seconds.observe(time.perf_counter() - started)
        self._count_redactions(counts)
        self.metrics.cache_hits.inc(redacted.cache_hits)
        self.metrics.cache_misses.inc(redacted.cache_misses)
        batch = RedactedBatch(
            tenant=tenant,
            env=env,
            request=ExportTraceServiceRequest.FromString(redacted.request),
            span_count=spans,
            received_at=received_at,
            payload_mode=redacted.payload_mode,
            escrow=ExportTraceServiceRequest.FromString(redacted.escrow) if redacted.escrow is not None else None,
        )
        for sink in self._sinks:
            outcome = await sink.export(batch)
            if outcome.status is Outcome.RETRY:
                # Not kept: the client retries later (503 / UNAVAILABLE); nothing is acknowledged.
                raise Unavailable(outcome.reason, self._config.server.retry_after_seconds)
            # REFUSED: the sink refused the spans for good and counted them as dropped.
        return spans

    def _count_redactions(self, counts: Counter[str]) -> None:
        for entity, count in counts.items():
            self.metrics.redactions.labels(entity=entity).inc(count)

    async def start(self) -> None:
        for sink in self._sinks:
            await sink.start()

    async def shutdown(self, grace_seconds: float | None = None) -> bool:
        """Flush and stop every sink within one deadline (default `server.shutdown_grace_seconds`
        for all of them together); True when every sink finished in time."""
        loop = asyncio.get_running_loop()
        grace = self._config.server.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        deadline = loop.time() + grace
        finished = True
        for sink in self._sinks:
            flushed = await sink.flush(max(0.0, deadline - loop.time()))
            stopped = await sink.shutdown(max(0.0, deadline - loop.time()))
            finished = finished and flushed and stopped
        self._pool.shutdown()
        if not finished:
            log.warning("sinks did not finish within %.1fs; unflushed spool files stay for the next start", grace)
        return finished
