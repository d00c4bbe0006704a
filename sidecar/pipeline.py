"""The pipeline the receivers share: tenant resolution, backpressure, redaction, sinks."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import Config
from sidecar.errors import Overloaded
from sidecar.metrics import Metrics
from sidecar.sinks import DiscardSink, ForwarderSink, Sink
from sidecar.tenancy import group_by_tenant
from sidecar.workers import RedactionPool


@dataclass(frozen=True)
class ExportResult:
    accepted_spans: int
    rejected_spans: int
    error_message: str


def build_sinks(config: Config, metrics: Metrics) -> list[Sink]:
    sinks: list[Sink] = []
    if config.forward is not None:
        sinks.append(ForwarderSink(config.forward, metrics, config.server.retry_after_seconds))
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

    @property
    def inflight(self) -> int:
        return self._inflight

    def stop_accepting(self) -> None:
        self._accepting = False

    async def export(
        self,
        request: ExportTraceServiceRequest,
        tenant_header: str | None,
        env_header: str | None,
    ) -> ExportResult:
        """Redact and hand on every span, or raise; never acknowledge what no sink took."""
        retry_after = self._config.server.retry_after_seconds
        if not self._accepting:
            raise Overloaded("shutting down", retry_after)
        if self._inflight >= self._config.server.max_inflight_requests:
            raise Overloaded("too many requests in flight", retry_after)
        groups = group_by_tenant(request, self._config.tenancy, tenant_header, env_header)
        self._inflight += 1
        self.metrics.inflight.set(self._inflight)
        try:
            accepted = 0
            for (tenant, env), resource_spans in groups.groups.items():
                accepted += await self._export_group(tenant, env, resource_spans)
        finally:
            self._inflight -= 1
            self.metrics.inflight.set(self._inflight)
        if groups.rejected_spans:
            self.metrics.spans_rejected.labels(reason="invalid_tenant").inc(groups.rejected_spans)
        self.metrics.spans_accepted.inc(accepted)
        return ExportResult(accepted, groups.rejected_spans, groups.error_message)

    async def _export_group(self, tenant: str, env: str, resource_spans: list) -> int:
        group = ExportTraceServiceRequest(resource_spans=resource_spans)
        spans = sum(len(ss.spans) for rs in resource_spans for ss in rs.scope_spans)
        started = time.perf_counter()
        redacted_bytes, counts = await self._pool.redact(tenant, env, group.SerializeToString())
        self.metrics.redaction_seconds.observe(time.perf_counter() - started)
        self._count_redactions(counts)
        redacted = ExportTraceServiceRequest.FromString(redacted_bytes)
        for sink in self._sinks:
            await sink.export(tenant, env, redacted, spans)
        return spans

    def _count_redactions(self, counts: Counter[str]) -> None:
        for entity, count in counts.items():
            self.metrics.redactions.labels(entity=entity).inc(count)

    async def shutdown(self) -> None:
        for sink in self._sinks:
            await sink.flush()
            await sink.shutdown()
        self._pool.shutdown()
