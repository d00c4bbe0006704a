"""Where redacted spans and log records go: the forwarder and the discard sink; the vault (`vault/sink.py`) plugs
in beside them. The contract (`Sink`, `ExportOutcome`) is in `redactors/batch.py`: `export`
answers ok / retry / refused, and `flush(timeout)` / `shutdown(timeout)` say whether they
finished. Nothing is acknowledged that no sink took, and nothing is dropped without a count.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import random
from typing import Any

import aiohttp

from policies.config import ForwardConfig
from policies.resolve import PolicySet
from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES, ExportOutcome, Outcome, RedactedBatch, Sink
from redactors.references import logs_view, traces_view
from sidecar.metrics import Metrics

__all__ = ["DiscardSink", "ForwarderSink", "Sink"]

log = logging.getLogger("tracevault.sink")
_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class DiscardSink:
    """No next hop and no store configured: spans are redacted, counted as dropped, and acknowledged."""

    stores_payloads = False

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def start(self) -> None:
        return None

    def has_capacity(self) -> bool:
        return True

    async def export(self, batch: RedactedBatch) -> ExportOutcome:
        self._metrics.spans_dropped.labels(reason="no_sink", signal=batch.signal).inc(batch.span_count)
        return ExportOutcome.ok()

    async def flush(self, timeout: float | None = None) -> bool:
        return True

    async def shutdown(self, timeout: float | None = None) -> bool:
        return True


class ForwarderSink:
    """OTLP/HTTP protobuf to the next hop, with retries, backoff and Retry-After: traces to
    `forward.endpoint`, logs to `forward.logs_endpoint`, by the same send path.

    Synchronous by default: the client's request waits for the next hop, and a next hop that
    stays down turns into 503 / UNAVAILABLE, so the collector's own queue keeps the data.
    Behind the vault it runs in the background instead (`background=True`): the spans are
    already durable, and failing the request would make the client resend them into the vault
    a second time. Background failures and a full backlog are counted as drops.
    """

    MAX_BACKLOG = 256
    stores_payloads = False

    def __init__(self, config: ForwardConfig, metrics: Metrics, background: bool = False, policies: PolicySet | None = None) -> None:
        self._config = config
        self._policies = policies
        self._metrics = metrics
        self._background = background
        self._pending: dict[asyncio.Task[None], RedactedBatch] = {}  # background sends
        self._session: aiohttp.ClientSession | None = None
        self._random = random.Random()

    async def start(self) -> None:
        return None

    def has_capacity(self) -> bool:
        return True

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._config.timeout_seconds))
        return self._session

    def _dropped(self, reason: str, batch: RedactedBatch) -> None:
        self._metrics.spans_dropped.labels(reason=reason, signal=batch.signal).inc(batch.span_count)

    async def export(self, batch: RedactedBatch) -> ExportOutcome:
        if not self._background:
            outcome = await self._send(batch)
            if outcome.status is Outcome.REFUSED:
                self._dropped("forward_refused", batch)
            return outcome
        if len(self._pending) >= self.MAX_BACKLOG:
            self._dropped("forward_backlog_full", batch)
            return ExportOutcome.refused("forward backlog full")
        task = asyncio.create_task(self._send_in_background(batch))
        self._pending[task] = batch
        task.add_done_callback(lambda done: self._pending.pop(done, None))
        return ExportOutcome.ok()

    async def _send_in_background(self, batch: RedactedBatch) -> None:
        outcome = await self._send(batch)
        if outcome.status is Outcome.RETRY:
            self._dropped("forward_failed", batch)
        elif outcome.status is Outcome.REFUSED:
            self._dropped("forward_refused", batch)

    def endpoint(self, batch: RedactedBatch) -> str:
        """The next hop's URL for the batch's signal."""
        if batch.signal == SIGNAL_LOGS:
            assert self._config.logs_endpoint is not None  # derived or required by the config
            return self._config.logs_endpoint
        return self._config.endpoint

    def payload(self, batch: RedactedBatch) -> bytes:
        """What goes to the next hop for a batch: its redacted request, as the policy's
        `content_in_forward` has it leave, serialized. The one place that decides the forwarded
        content."""
        return self._forwarded(batch).SerializeToString()

    async def _send(self, batch: RedactedBatch) -> ExportOutcome:
        tenant, records, signal = batch.tenant, batch.span_count, batch.signal
        url = self.endpoint(batch)
        body = self.payload(batch)
        headers = {**self._config.headers, "Content-Type": "application/x-protobuf"}
        if self._config.compression == "gzip":
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        if self._config.tenant_header:
            headers[self._config.tenant_header] = tenant
        delay = self._config.initial_backoff_seconds
        for attempt in range(1, self._config.max_attempts + 1):
            reason, retry_after = await self._attempt(url, body, headers)
            if reason is None:
                return ExportOutcome.ok()
            self._metrics.forward_failures.labels(reason=reason).inc()
            if reason.startswith("status_4") and reason != "status_429":
                # The next hop refused the data itself: neither we nor the client can fix that
                # by retrying. Counted as dropped and acknowledged; the client is not looped.
                log.warning("next hop refused a batch (tenant=%s, %s: %d, %s)", tenant, signal, records, reason)
                return ExportOutcome.refused(reason)
            if attempt == self._config.max_attempts:
                break
            wait = retry_after if retry_after is not None else delay * (0.5 + self._random.random())
            await asyncio.sleep(min(wait, self._config.max_backoff_seconds))
            delay = min(delay * 2, self._config.max_backoff_seconds)
        log.warning("forwarding failed after retries (tenant=%s, %s: %d, last=%s)", tenant, signal, records, reason)
        return ExportOutcome.retry("next hop unavailable")

    def _forwarded(self, batch: RedactedBatch) -> Any:
        """The request as the policy's `content_in_forward` has it leave (a copy unless redacted)."""
        if self._policies is None:
            return batch.request
        mode = self._policies.resolve(batch.tenant, batch.env).content_in_forward
        view = traces_view if batch.signal == SIGNAL_TRACES else logs_view
        return view(batch.request, mode, batch.tenant, batch.env)  # type: ignore[arg-type]

    async def _attempt(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[str | None, float | None]:
        try:
            async with self._client().post(url, data=body, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None, None
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))
                if response.status in _RETRYABLE_STATUS:
                    return f"status_{response.status}", retry_after
                return f"status_{response.status}", None
        except asyncio.TimeoutError:
            return "timeout", None
        except aiohttp.ClientError:
            return "connection", None

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait for the background sends; True when none is left."""
        if not self._pending:
            return True
        limit = self._config.timeout_seconds * self._config.max_attempts
        _, left = await asyncio.wait(set(self._pending), timeout=limit if timeout is None else min(timeout, limit))
        return not left

    async def shutdown(self, timeout: float | None = None) -> bool:
        finished = await self.flush(timeout)
        for task, batch in list(self._pending.items()):
            task.cancel()
            self._dropped("forward_shutdown", batch)
        if self._session is not None:
            await self._session.close()
            self._session = None
        return finished


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
