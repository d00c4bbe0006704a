"""The pipeline the receivers share: admission, tenant resolution, redaction, sinks.

One code path for both signals: the body names its signal (traces or logs), and everything
below takes it from there (decoding, limits, tenants, redaction, the batch the sinks get).

A receiver checks admission before it reads a body (overload costs nothing but a 503), reads
the body without holding a slot (a slow client holds no slot), then holds one in-flight slot
while the body is inflated, decoded, limited and redacted in the workers.
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

from policies.config import Config
from policies.resolve import PolicySet
from redactors.batch import Outcome, RedactedBatch
from sidecar import otlp
from sidecar.errors import Overloaded, Unavailable
from sidecar.metrics import Metrics
from sidecar.prepare import Body, PreparedGroup
from sidecar.sinks import DiscardSink, ForwarderSink, Sink
from sidecar.workers import Redacted, RedactionPool

log = logging.getLogger("tracevault.pipeline")


@dataclass(frozen=True)
class ExportResult:
    accepted: int  # spans, or log records
    rejected: int
    error_message: str


def _batch(group: PreparedGroup, redacted: Redacted, received_at: datetime, signal: str) -> RedactedBatch:
    parse = otlp.SIGNALS[signal].request_type.FromString
    return RedactedBatch(
        tenant=group.tenant,
        env=group.env,
        request=parse(redacted.request),
        span_count=group.records,
        received_at=received_at,
        payload_mode=redacted.payload_mode,
        escrow=parse(redacted.escrow) if redacted.escrow is not None else None,
        signal=signal,
    )


def build_sinks(config: Config, metrics: Metrics, vault: Sink | None = None) -> list[Sink]:
    """The vault (durable) first; the forwarder runs in the background behind it."""
    sinks: list[Sink] = []
    if vault is not None:
        sinks.append(vault)
    if config.forward is not None:
        policies = PolicySet(config)  # content_in_forward per (tenant, env); refuses bad policies
        sinks.append(ForwarderSink(config.forward, metrics, background=vault is not None, policies=policies))
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

    def check_admission(self) -> None:
        """Refuse at once, with a retry hint, when a request would not get a slot now."""
        retry_after = self._config.server.retry_after_seconds
        if not self._accepting:
            raise Overloaded("shutting down", retry_after)
        if self._inflight >= self._config.server.max_inflight_requests:
            raise Overloaded("too many requests in flight", retry_after)
        if not all(sink.has_capacity() for sink in self._sinks):
            raise Overloaded("spool is full; the store is behind", retry_after)

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold one in-flight slot, or refuse at once with a retry hint."""
        self.check_admission()
        self._inflight += 1
        self.metrics.inflight.set(self._inflight)
        try:
            yield
        finally:
            self._inflight -= 1
            self.metrics.inflight.set(self._inflight)

    async def export(self, body: Body) -> ExportResult:
        """Decode, redact and hand on every record, or raise; never acknowledge what no sink took.

        Called inside `admit()`. Decoding and redaction run in the workers; what is left for
        the event loop is bookkeeping on bytes and counts.
        """
        signal = body.signal
        prepared = await self._pool.prepare(body)
        self.metrics.spans_received.labels(signal=signal).inc(prepared.received)
        # Fields outside the schema were dropped in `prepare` (never redacted, stored or
        # forwarded): counted here.
        self.metrics.unknown_fields_dropped.inc(prepared.unknown_fields)
        for kind, count in prepared.limited.items():
            self.metrics.limited.labels(kind=kind).inc(count)
        received_at = datetime.now(timezone.utc)
        accepted = 0
        for group in prepared.groups:
            accepted += await self._export_group(group, received_at, signal)
        if prepared.rejected:
            self.metrics.spans_rejected.labels(reason="invalid_tenant", signal=signal).inc(prepared.rejected)
        self.metrics.spans_accepted.labels(signal=signal).inc(accepted)
        return ExportResult(accepted, prepared.rejected, prepared.error_message)

    async def _export_group(self, group: PreparedGroup, received_at: datetime, signal: str) -> int:
        tenant, records = group.tenant, group.records
        started = time.perf_counter()
        redacted, counts = await self._pool.redact(tenant, group.env, group.request, self._wants_escrow, signal)
        if redacted.failed_closed:
            self.metrics.spans_failed_closed.labels(signal=signal).inc(records)
            noun = otlp.SIGNALS[signal].noun
            log.warning("redaction of %d %s (tenant=%s) passed its deadline; every value was masked", records, noun, tenant)
        self.metrics.redaction_seconds.observe(time.perf_counter() - started)
        self._count_redactions(counts)
        self.metrics.cache_hits.inc(redacted.cache_hits)
        self.metrics.cache_misses.inc(redacted.cache_misses)
        # Parsing the redacted bytes holds the interpreter: off the event loop.
        batch = await asyncio.to_thread(_batch, group, redacted, received_at, signal)
        for sink in self._sinks:
            outcome = await sink.export(batch)
            if outcome.status is Outcome.RETRY:
                # Not kept: the client retries later (503 / UNAVAILABLE); nothing is acknowledged.
                raise Unavailable(outcome.reason, self._config.server.retry_after_seconds)
            # REFUSED: the sink refused the records for good and counted them as dropped.
        return records

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
