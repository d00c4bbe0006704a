"""The sink contract (redactors/batch.py): outcomes, flush/shutdown that say whether they
finished, and one shutdown deadline the pipeline enforces across all sinks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from policies.config import ForwardConfig, SpoolConfig, parse_config
from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES, ExportOutcome, Outcome, RedactedBatch
from redactors.engine import Redactor
from sidecar.metrics import Metrics
from sidecar.pipeline import Pipeline
from sidecar.sinks import DiscardSink, ForwarderSink
from sidecar.workers import RedactionPool
from tests.redactors.otlp_builders import make_log_record, make_log_request, make_request, make_span
from vault.keyring import LocalKeyWriter
from vault.reader import VaultReader
from vault.sink import VaultSink
from vault.store import LocalStore

SECRET = bytes(range(32))


def _batch(spans: int = 2) -> RedactedBatch:
    return RedactedBatch("acme", "prod", make_request([make_span() for _ in range(spans)]), spans, datetime.now(UTC), "redacted")


def _logs_batch(records: int = 2) -> RedactedBatch:
    request = make_log_request([make_log_record("redacted text") for _ in range(records)])
    return RedactedBatch("acme", "prod", request, records, datetime.now(UTC), "redacted", signal=SIGNAL_LOGS)


def _dropped(metrics: Metrics, reason: str, signal: str = SIGNAL_TRACES) -> float:
    return metrics.spans_dropped.labels(reason=reason, signal=signal)._value.get()


async def _next_hop(status: int) -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/v1/traces", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/v1/traces"


def _forward(endpoint: str) -> ForwardConfig:
    return ForwardConfig(endpoint=endpoint, max_attempts=2, initial_backoff_seconds=0.01, max_backoff_seconds=0.01, timeout_seconds=2)


def test_forwarder_outcomes_from_a_real_next_hop() -> None:
    async def run() -> dict[int, tuple[ExportOutcome, float]]:
        answers = {}
        for status in (200, 400, 503):
            runner, url = await _next_hop(status)
            metrics = Metrics()
            sink = ForwarderSink(_forward(url), metrics)
            try:
                answers[status] = (await sink.export(_batch()), _dropped(metrics, "forward_refused"))
                assert await sink.shutdown(1.0)
            finally:
                await runner.cleanup()
        return answers

    answers = asyncio.run(run())
    assert answers[200] == (ExportOutcome.ok(), 0)
    assert answers[400][0] == ExportOutcome(Outcome.REFUSED, "status_400") and answers[400][1] == 2
    assert answers[503][0] == ExportOutcome(Outcome.RETRY, "next hop unavailable") and answers[503][1] == 0


def test_forwarder_sends_logs_to_the_logs_endpoint_with_the_same_retries() -> None:
    """A local aiohttp next hop: /v1/logs answers 503 once, then takes the logs batch; traces
    still go to /v1/traces. The refused logs batch is counted under signal="logs"."""
    seen: list[tuple[str, bytes]] = []
    answers = {"/v1/logs": [503, 200, 400], "/v1/traces": [200]}

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.path, await request.read()))  # aiohttp inflates the gzip body
        return web.Response(status=answers[request.path].pop(0))

    async def run() -> tuple[ExportOutcome, ExportOutcome, ExportOutcome, Metrics]:
        app = web.Application()
        app.router.add_post("/v1/logs", handle)
        app.router.add_post("/v1/traces", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        metrics = Metrics()
        sink = ForwarderSink(_forward(f"http://127.0.0.1:{port}/v1/traces"), metrics)
        try:
            logs, traces, refused = await sink.export(_logs_batch(3)), await sink.export(_batch(1)), await sink.export(_logs_batch(2))
            assert await sink.shutdown(1.0)
        finally:
            await runner.cleanup()
        return logs, traces, refused, metrics

    logs, traces, refused, metrics = asyncio.run(run())
    assert logs == ExportOutcome.ok() and traces == ExportOutcome.ok()
    assert refused == ExportOutcome(Outcome.REFUSED, "status_400")
    assert [path for path, _ in seen] == ["/v1/logs", "/v1/logs", "/v1/traces", "/v1/logs"]
    sent = ExportLogsServiceRequest.FromString(seen[1][1])
    assert len(sent.resource_logs[0].scope_logs[0].log_records) == 3
    assert metrics.forward_failures.labels(reason="status_503")._value.get() == 1
    assert _dropped(metrics, "forward_refused", SIGNAL_LOGS) == 2 and _dropped(metrics, "forward_refused") == 0


def test_vault_sink_stores_a_logs_batch(tmp_path: Path) -> None:
    """A logs batch is kept (ok once spooled) and flushed as log_metrics rows."""

    async def run() -> tuple[ExportOutcome, VaultSink, int]:
        sink = VaultSink(SpoolConfig(fsync=False), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), LocalStore(tmp_path / "store"))
        outcome = await sink.export(_logs_batch(4))
        spooled = sink.stats.spool_bytes
        assert await sink.shutdown(5.0)
        return outcome, sink, spooled

    outcome, sink, spooled = asyncio.run(run())
    assert outcome.status is Outcome.OK and spooled > 0
    assert sink.stats.flushed_spans == 4
    assert VaultReader(LocalStore(tmp_path / "store")).read_metrics("acme", table="log_metrics").num_rows == 4


def test_background_forwarder_counts_what_shutdown_cuts_off() -> None:
    async def run() -> tuple[ExportOutcome, bool, float]:
        release = asyncio.Event()

        async def stall(request: web.Request) -> web.Response:
            await release.wait()
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/v1/traces", stall)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        metrics = Metrics()
        sink = ForwarderSink(_forward(f"http://127.0.0.1:{port}/v1/traces"), metrics, background=True)
        try:
            outcome = await sink.export(_batch(3))
            finished = await sink.shutdown(0.05)
        finally:
            release.set()
            await runner.cleanup()
        return outcome, finished, _dropped(metrics, "forward_shutdown")

    outcome, finished, dropped = asyncio.run(run())
    assert outcome == ExportOutcome.ok()
    assert finished is False and dropped == 3, "cut off at shutdown: not finished, and counted"


def test_vault_sink_flush_and_shutdown_report_that_they_finished(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")

    async def run() -> tuple[ExportOutcome, bool, bool]:
        sink = VaultSink(SpoolConfig(fsync=False, flush_interval_seconds=3600), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
        outcome = await sink.export(_batch())
        flushed = await sink.flush(10.0)
        await sink.export(_batch())
        return outcome, flushed, await sink.shutdown(10.0)

    outcome, flushed, stopped = asyncio.run(run())
    assert outcome == ExportOutcome.ok() and flushed and stopped
    assert len(list(store.list("metrics/"))) == 2
    assert not list((tmp_path / "spool").glob("*.wal"))


class SlowSink:
    """A sink that never finishes: it uses all the time it is given, and says so."""

    stores_payloads = False

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    async def start(self) -> None:
        return None

    def has_capacity(self) -> bool:
        return True

    async def export(self, batch: RedactedBatch) -> ExportOutcome:
        return ExportOutcome.ok()

    async def flush(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.timeouts.append(timeout)
        await asyncio.sleep(timeout)
        return False

    async def shutdown(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.timeouts.append(timeout)
        return timeout > 0


def test_the_pipeline_shares_one_grace_period_across_all_sinks(redactor: Redactor) -> None:
    grace = 0.3
    config = parse_config({"server": {"workers": 0, "shutdown_grace_seconds": grace}})
    first, second = SlowSink(), SlowSink()
    metrics = Metrics()
    pipeline = Pipeline(config, RedactionPool(config, SECRET, local_redactor=redactor), [first, second, DiscardSink(metrics)], metrics)

    finished = asyncio.run(pipeline.shutdown())

    assert finished is False
    assert first.timeouts[0] <= grace
    # Whatever the first sink used is gone for the others: one deadline, not one per sink.
    assert second.timeouts[0] < first.timeouts[0] and second.timeouts[1] <= second.timeouts[0]
    assert all(t >= 0 for t in first.timeouts + second.timeouts)
