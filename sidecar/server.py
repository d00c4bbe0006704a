"""The service: HTTP and gRPC receivers on one event loop, a redaction pool, and the sinks.

SIGTERM (or SIGINT) stops the listeners, waits for requests in flight, flushes the sinks, stops
the workers and returns, so that `tracevault serve` exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from policies.config import Config
from policies.keys import load_master_secret
from sidecar import logfilter
from sidecar.grpc_receiver import make_grpc_server
from sidecar.http_receiver import make_app
from sidecar.metrics import Metrics
from sidecar.pipeline import Pipeline, build_sinks
from sidecar.workers import RedactionPool
from vault.keyring import build_key_writer
from vault.metrics import MetricsMapping
from vault.prices import Pricer
from vault.sink import VaultSink
from vault.store import open_store

log = logging.getLogger("tracevault.server")


@dataclass
class Running:
    """What a started server exposes: bound ports, and an event that stops it."""

    http_port: int = 0
    grpc_port: int = 0
    admin_port: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def serve(config: Config, running: Running | None = None, install_signals: bool = True) -> None:
    running = running or Running()
    # Before any listener starts: aiohttp's parser errors would otherwise log request bytes.
    logfilter.install()
    secret = load_master_secret(config.keys.master_key_env, config.master_key_path())
    metrics = Metrics()
    vault = build_vault(config, secret)
    if vault is not None:
        metrics.watch_vault(vault.stats)
    pool = RedactionPool(config, secret)
    pipeline = Pipeline(config, pool, build_sinks(config, metrics, vault), metrics)
    if config.forward is None and vault is None:
        log.warning("no vault and no forward endpoint: spans and log records are redacted, acknowledged and discarded (counted in tracevault_spans_dropped_total)")

    runner = _http_runner(config, pipeline, running, vault)
    await runner.setup()
    listeners = _Listeners()
    # Everything after setup is inside the try: when a later step fails (the gRPC port is taken),
    # the HTTP listener and the pool are released too.
    try:
        await _start(config, pipeline, pool, runner, running, secret, listeners, install_signals)
        await running.stop.wait()
    finally:
        await _drain_and_stop(config, pipeline, runner, running, listeners)


@dataclass
class _Listeners:
    """The listeners started so far (for the stop path, whichever step failed)."""

    grpc_server: Any = None
    admin_runner: web.AppRunner | None = None


async def _start(
    config: Config, pipeline: Pipeline, pool: RedactionPool, runner: web.AppRunner, running: Running, secret: bytes,
    listeners: _Listeners, install_signals: bool,
) -> None:
    site = web.TCPSite(runner, config.server.http_host, config.server.http_port)
    await site.start()
    running.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    if config.server.grpc_enabled:
        listeners.grpc_server, running.grpc_port = make_grpc_server(config, pipeline)
        await listeners.grpc_server.start()
    if config.access.admin_enabled:
        # Off by default: the admin listener needs a reader keyring (it can decrypt).
        from sidecar.admin import start_admin

        listeners.admin_runner = await start_admin(config, secret, metrics=pipeline.metrics)
        running.admin_port = listeners.admin_runner.addresses[0][1]
    if install_signals:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, running.stop.set)
    await pool.warm_up()
    await pipeline.start()
    running.ready.set()
    log.info(
        "tracevault serving OTLP/HTTP on %s:%d and OTLP/gRPC on %s:%s",
        config.server.http_host, running.http_port, config.server.grpc_host,
        running.grpc_port if listeners.grpc_server else "off",
    )


async def _drain_and_stop(config: Config, pipeline: Pipeline, runner: web.AppRunner, running: Running, listeners: _Listeners) -> None:
    running.ready.clear()
    log.info("draining: %d requests in flight", pipeline.inflight)
    pipeline.stop_accepting()
    if listeners.grpc_server is not None:
        await listeners.grpc_server.stop(config.server.shutdown_grace_seconds)
    if listeners.admin_runner is not None:
        await listeners.admin_runner.cleanup()
    await _wait_drained(pipeline, config.server.shutdown_grace_seconds)
    await runner.cleanup()
    await pipeline.shutdown()
    log.info("stopped")


def _http_runner(config: Config, pipeline: Pipeline, running: Running, vault: VaultSink | None) -> web.AppRunner:
    def is_ready() -> bool:
        # Model loaded (set after warm-up), store reachable, spool below its cap.
        return running.ready.is_set() and all(sink.has_capacity() for sink in pipeline.sinks) and (
            vault is None or vault.stats.store_reachable
        )

    def is_alive() -> bool:
        # Unhealthy only when the process cannot recover by itself: a failed spool write that
        # could not be cut off its file. A full disk alone is retried (503) until space is back.
        return vault is None or vault.healthy

    # auto_decompress=False: aiohttp would otherwise inflate gzip (and deflate, br) request bodies
    # itself, before our bounded decompress_gzip and wire limit ever see them.
    return web.AppRunner(
        make_app(config, pipeline, is_ready, is_alive),
        access_log=None,
        handle_signals=False,
        auto_decompress=False,
        shutdown_timeout=config.server.shutdown_grace_seconds,
        # aiohttp arms this timer when a connection opens and after each response: a client
        # that has not sent complete headers by then is disconnected (slow-loris headers).
        keepalive_timeout=config.server.header_timeout_seconds,
    )


def build_vault(config: Config, master_secret: bytes) -> VaultSink | None:
    """The vault sink, with a writer-only keyring: the sidecar can seal but never unseal."""
    if not config.vault_enabled:
        return None
    return VaultSink(
        config.spool,
        config.spool_dir(),
        build_key_writer(config, master_secret),
        open_store(config),
        MetricsMapping.with_overrides(config.metrics_columns),
        Pricer(config.prices),
    )


async def _wait_drained(pipeline: Pipeline, grace: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while pipeline.inflight and loop.time() < deadline:
        await asyncio.sleep(0.05)
