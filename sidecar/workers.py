"""Redaction off the event loop: a pool of worker processes, each loading the model once.

Work crosses the process boundary as serialized protobuf bytes, so nothing but bytes, ids and
counts is pickled. With `workers: 0` the same function runs in one thread of the server process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import Config
from policies.resolve import PolicySet
from redactors.engine import Redactor
from redactors.identifiers import Pseudonymizer
from redactors.walker import fail_closed
from sidecar.errors import Unavailable

# One redactor per worker process, set by the pool initializer. A process-pool worker has no
# other place to keep what it loaded once; the server process itself never reads this.
_worker_redactor: Redactor | None = None


def _init_worker(config_json: str, master_secret: bytes) -> None:
    global _worker_redactor
    # The server process owns shutdown. A SIGINT or SIGTERM sent to the whole process group
    # (Ctrl-C in a terminal, systemd's default KillMode=control-group) must not kill a worker in
    # the middle of a redaction while the server drains. A worker still exits when the server
    # process goes away: its call queue breaks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _worker_redactor = Redactor.build(Config.model_validate_json(config_json), master_secret)


@dataclass(frozen=True)
class Redacted:
    """What a worker sends back: only bytes, counts and the policy's payload mode."""

    request: bytes
    counts: dict[str, int]
    payload_mode: str
    escrow: bytes | None  # secrets-stripped original, for payload mode `original`
    cache_hits: int = 0
    cache_misses: int = 0
    failed_closed: bool = False  # the deadline passed: every value was masked, nothing scanned


def _redact_in_worker(tenant: str, env: str, payload: bytes, with_escrow: bool) -> Redacted:
    assert _worker_redactor is not None, "worker not initialised"
    return redact_serialized(_worker_redactor, tenant, env, payload, with_escrow)


def _ready_in_worker(hold_seconds: float = 0.0) -> int:
    if _worker_redactor is None:
        raise RuntimeError("worker not initialised")
    # Held briefly, so that one fast worker cannot answer every probe of a round alone.
    time.sleep(hold_seconds)
    return os.getpid()


def redact_serialized(redactor: Redactor, tenant: str, env: str, payload: bytes, with_escrow: bool = False) -> Redacted:
    """Redact one (tenant, env) group. With `with_escrow` and payload mode `original`, also
    return the escrow copy: the same spans with only secrets stripped."""
    mode = redactor.policies.resolve(tenant, env).payload_mode
    hits, misses = redactor.cache.hits, redactor.cache.misses
    escrow = None
    if with_escrow and mode == "original":
        original = ExportTraceServiceRequest.FromString(payload)
        redactor.strip_secrets(list(original.resource_spans), tenant, env)
        escrow = original.SerializeToString()
    request = ExportTraceServiceRequest.FromString(payload)
    counts = redactor.redact_resource_spans(list(request.resource_spans), tenant, env)
    return Redacted(
        request.SerializeToString(), dict(counts), mode, escrow,
        cache_hits=redactor.cache.hits - hits, cache_misses=redactor.cache.misses - misses,
    )


def available_cpus(cgroup_cpu_max: str = "/sys/fs/cgroup/cpu.max") -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (containers)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open(cgroup_cpu_max, encoding="ascii").read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def worker_count(config: Config) -> int:
    setting = config.server.workers
    if setting == "auto":
        return available_cpus()
    return int(setting)


class RedactionPool:
    """Runs `redact_serialized` in worker processes (or one thread when workers is 0)."""

    def __init__(self, config: Config, master_secret: bytes, local_redactor: Redactor | None = None) -> None:
        self._config = config
        self._secret = master_secret
        self._workers = worker_count(config)
        # With workers: 0, an already built redactor may be handed in (it shares a loaded model).
        self._local: Redactor | None = local_redactor if self._workers == 0 else None
        # For the fail-closed path only: policies and keyed pseudonyms, no model.
        self._policies = PolicySet(config)
        self._pseudonymizer = Pseudonymizer(master_secret)
        self._executor: Executor = self._new_executor()

    @property
    def size(self) -> int:
        return max(1, self._workers)

    def _new_executor(self) -> Executor:
        if self._workers == 0:
            if self._local is None:
                self._local = Redactor.build(self._config, self._secret)
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="redact")
        # spawn, not fork: the server process runs gRPC threads that must not be forked.
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._config.model_dump_json(), self._secret),
        )

    async def warm_up(self, timeout_seconds: float = 300.0) -> None:
        """Start every worker and wait until each has loaded the model.

        One probe per worker is not enough: a worker that is ready first can answer several
        probes while another is still loading. Probe in rounds, each probe held briefly, until
        every worker process has answered once (bounded in time).
        """
        if self._local is not None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        seen: set[int] = set()
        while loop.time() < deadline:
            probes = (loop.run_in_executor(self._executor, _ready_in_worker, 0.2) for _ in range(self._workers))
            seen.update(await asyncio.gather(*probes))
            if len(seen) >= self._workers:
                return
        raise RuntimeError(f"only {len(seen)} of {self._workers} redaction workers started in {timeout_seconds:.0f} s")

    async def redact(self, tenant: str, env: str, payload: bytes, with_escrow: bool = False) -> tuple[Redacted, Counter[str]]:
        loop = asyncio.get_running_loop()
        try:
            if self._local is not None:
                future = loop.run_in_executor(self._executor, redact_serialized, self._local, tenant, env, payload, with_escrow)
            else:
                future = loop.run_in_executor(self._executor, _redact_in_worker, tenant, env, payload, with_escrow)
            result = await asyncio.wait_for(future, self._config.server.redaction_timeout_seconds)
        except asyncio.TimeoutError:
            # A detector hangs (a pathological regex, a huge value): fail closed, and replace the
            # stuck worker so that it does not hold a slot for ever.
            self._replace_executor(kill=True)
            result = self._fail_closed(tenant, env, payload)
        except BrokenProcessPool:
            # A worker died (OOM, crash): start a fresh pool, and let the client retry.
            self._replace_executor(kill=False)
            raise Unavailable("redaction worker restarted", self._config.server.retry_after_seconds) from None
        return result, Counter(result.counts)

    def _replace_executor(self, kill: bool) -> None:
        old = self._executor
        if kill and isinstance(old, ProcessPoolExecutor):
            for process in list(getattr(old, "_processes", {}).values()):
                process.kill()
        old.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()

    def _fail_closed(self, tenant: str, env: str, payload: bytes) -> Redacted:
        """Every string value masked, no detector run; stored as a redacted payload."""
        request = ExportTraceServiceRequest.FromString(payload)
        counts = fail_closed(list(request.resource_spans), self._policies.resolve(tenant, env), self._pseudonymizer.for_tenant(tenant))
        return Redacted(request.SerializeToString(), dict(counts), "redacted", None, failed_closed=True)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
