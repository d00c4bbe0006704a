"""Redaction off the event loop: a pool of worker processes forked from one that loaded the model.

A worker does two kinds of job: `prepare` (inflate, decode, apply the span limits and group a
request body by tenant, sidecar/prepare.py) and `redact` (one tenant group). Work crosses the
process boundary as bytes over one pipe per worker, so nothing but bytes, ids and counts is
pickled. Each worker may allocate `server.worker_memory_bytes` beyond what it holds after
loading the model (RLIMIT_DATA); a job that needs more fails (closed) and the worker is
replaced. With `workers: 0` the same jobs run in a thread of the server process.

Each worker holds at most one request at a time, and a request waits for an idle worker in the
server, never inside a worker's pipe. So when a request passes `redaction_timeout_seconds`,
only the worker that runs it is killed (the request fails closed) and replaced; the requests
queued behind it wait for the next idle worker and are answered normally. A worker that dies
(OOM, crash) costs only its own request a 503 with Retry-After.

The model loads once. The server spawns one *fork server* process (a fresh interpreter: the
server runs gRPC threads, so it never forks itself). That process builds the redactor (spaCy,
Presidio, the gazetteer) with automatic garbage collection off, freezes its heap for the garbage
collector, and then only forks: each worker, and each replacement of a killed one, is a copy of
it that starts in milliseconds and shares the loaded model with its siblings page by page (copy
on write). The fork server holds no request and runs no thread of ours; the caches keyed by a
random per-process key draw a new key in each worker (redactors/processkey.py). A fork server
that dies is spawned again for the next worker.

Workers die with the server: a parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGKILL)` on
Linux) on the fork server and on each worker (whose parent is the fork server), and a check of
the parent pid where that is not available or was too late.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import resource
import select
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TypeVar

from policies.config import Config
from policies.resolve import PolicySet
from redactors.batch import SIGNAL_TRACES
from redactors.identifiers import Pseudonymizer
from sidecar import otlp
from sidecar.errors import InvalidRequest, PayloadTooLarge, Unavailable
from sidecar.prepare import Body, Prepared, prepare
from sidecar.tenancy import group_by_tenant
from sidecar.transform import decode_json_document, redact_json_document

if TYPE_CHECKING:  # loading the engine imports spaCy and Presidio: only where a model is built
    from redactors.engine import Redactor

log = logging.getLogger("tracevault.workers")
T = TypeVar("T")

# Test-only fault injection: a worker whose environment names a marker sleeps on any request
# that contains it, like a detector that hangs. Set only in tests; unset, nothing changes.
STALL_ENV = "TRACEVAULT_TEST_STALL_MARKER"
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_SECONDS = 1.0
_START_TIMEOUT_SECONDS = 300.0
_EXIT_WAIT_SECONDS = 5.0
_RESTART_ATTEMPTS = 2


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


def redact_serialized(
    redactor: Redactor, tenant: str, env: str, payload: bytes, with_escrow: bool = False, signal: str = SIGNAL_TRACES
) -> Redacted:
    """Redact one (tenant, env) group of `signal` ("traces" or "logs"). With `with_escrow` and
    payload mode `original`, also return the escrow copy: the same records with only secrets
    stripped."""
    kind = otlp.SIGNALS[signal]
    mode = redactor.policies.resolve(tenant, env).payload_mode
    hits, misses = redactor.cache.hits, redactor.cache.misses
    escrow = None
    if with_escrow and mode == "original":
        original = kind.request_type.FromString(payload)
        redactor.strip_secrets(list(kind.resources(original)), tenant, env)
        escrow = original.SerializeToString()
    request = kind.request_type.FromString(payload)
    redact = redactor.redact_resource_logs if kind is otlp.LOGS else redactor.redact_resource_spans
    counts = redact(list(kind.resources(request)), tenant, env)
    return Redacted(
        request.SerializeToString(), dict(counts), mode, escrow,
        cache_hits=redactor.cache.hits - hits, cache_misses=redactor.cache.misses - misses,
    )


@dataclass(frozen=True)
class RedactedDocument:
    """One redacted OTLP/JSON document (`tracevault redact`)."""

    text: str
    rejected: int  # spans or log records refused (invalid tenant ids)
    reason: str
    noun: str  # what a record is called: "spans", "log records"
    failed_closed: bool = False  # the deadline or the memory limit passed: every value was masked


# -- inside a worker process -------------------------------------------------------------------


def _arm_parent_death(parent_pid: int) -> None:
    """SIGKILL this process when its parent goes away (Linux); exit now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Make this process die when `parent_pid` goes away, even by SIGKILL."""
    _arm_parent_death(parent_pid)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)


def _limit_memory(budget_bytes: int) -> None:
    """Cap this worker's data segment at what it holds now plus `budget_bytes` (Linux)."""
    try:
        status = open("/proc/self/status", encoding="ascii").read()
        held = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmData:"))
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = held + budget_bytes if hard == resource.RLIM_INFINITY else min(hard, held + budget_bytes)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (OSError, ValueError, StopIteration):
        log.warning("cannot limit the memory of a redaction worker on this platform")


def run_job(redactor: Redactor, config: Config, kind: str, args: Any) -> tuple[str, Any]:
    """One job: ("prepare", Body), ("redact", (tenant, env, payload, with_escrow, signal)) or
    ("document", (OTLP/JSON text, tenant or None, --signal or None)) for `tracevault redact`.

    Replies ("ok", value), ("refused", (error class name, message)) for bad or oversized
    requests, ("memory", None) past the memory limit, or ("error", exception type name).
    Exception texts may quote content: only refusals, whose messages are fixed, cross over.
    """
    try:
        if kind == "prepare":
            return "ok", prepare(config, args)
        if kind == "document":
            return "ok", redact_json_document(redactor, config, *args)
        return "ok", redact_serialized(redactor, *args)
    except (InvalidRequest, PayloadTooLarge) as exc:
        return "refused", (type(exc).__name__, str(exc))
    except MemoryError:
        return "memory", None
    except Exception as exc:  # noqa: BLE001 (reported by type only; the server answers 503)
        return "error", type(exc).__name__


def _stalls_on(marker: bytes, kind: str, args: Any) -> bool:
    if kind == "redact":
        return marker in args[2]
    return kind == "document" and marker.decode() in args[0]


def _serve_jobs(conn: Connection, redactor: Redactor, config: Config) -> None:
    """A worker's loop: one job at a time until the server closes the pipe."""
    _limit_memory(config.server.worker_memory_bytes)
    stall = os.environ.get(STALL_ENV, "").encode()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            kind, args = conn.recv()
        except EOFError:  # the server closed the pipe: shut down
            return
        if stall and _stalls_on(stall, kind, args):
            time.sleep(3600)
        reply = run_job(redactor, config, kind, args)
        conn.send(reply)
        if reply[0] == "memory":
            return  # a fresh worker replaces this one (its heap may be fragmented)


def _fork_server_main(conn: Connection, config_json: str, master_secret: bytes, parent_pid: int) -> None:
    """The fork server: load the model once, then fork a worker for each request of the server.

    Single-threaded on purpose (a fork copies only the calling thread): the parent is watched
    between requests rather than by a thread. Each fork hands the server its end of a new
    socket pair (SCM_RIGHTS) and the worker's pid. On EOF from the server it waits briefly for
    its workers (their pipes close too), kills what is left and exits."""
    _arm_parent_death(parent_pid)
    # The server process owns shutdown. A SIGINT or SIGTERM sent to the whole process group
    # (Ctrl-C in a terminal, systemd's default KillMode=control-group) must not kill the fork
    # server or (the workers inherit this) a worker in the middle of a redaction while the
    # server drains.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    config = Config.model_validate_json(config_json)
    redactor = build_frozen(lambda: _build_redactor(config, master_secret))
    conn.send(("ready", os.getpid()))
    children: set[int] = set()
    while os.getppid() == parent_pid:
        _reap(children)
        try:
            if not conn.poll(_PARENT_POLL_SECONDS):
                continue
            conn.recv()
        except (EOFError, OSError):  # the server closed the pipe: shut down
            break
        pid, server_end = _fork_worker(conn, redactor, config)
        children.add(pid)
        conn.send(("forked", pid))
        reduction.send_handle(conn, server_end.fileno(), parent_pid)
        server_end.close()  # the server holds the only copy now: the worker sees EOF when it closes it
    _stop_children(children)


def _build_redactor(config: Config, master_secret: bytes) -> Redactor:
    from redactors.engine import Redactor

    return Redactor.build(config, master_secret)


def build_frozen(build: Callable[[], T]) -> T:
    """`build()` with no automatic garbage collection, then `gc.freeze()`.

    Loading the model (the engine's imports, spaCy, Presidio, the gazetteer) makes about 200,000
    tracked containers (the gazetteer's sets among them, about half a million entries together)
    that all live on: every full collection during the load walks that growing heap for nothing. A
    zero threshold stops automatic collection even where a library calls `gc.enable()` itself
    (srsly does around each msgpack read). After the load the heap is frozen (the model leaves the
    collector's reach: its pages stay shared in the workers) and the thresholds are restored for
    the workers. No collection runs before the freeze: one walked the whole loaded heap for about
    0.3 s of every start-up and found some 5,000 unreachable objects of the load, which left the
    resident size unchanged; they stay frozen with the rest."""
    thresholds = gc.get_threshold()
    gc.set_threshold(0)
    try:
        built = build()
        gc.freeze()
    finally:
        gc.set_threshold(*thresholds)
    return built


def _forked_fork_server_main(server_end: Connection, *args: Any) -> None:
    """`_fork_server_main` in a process forked from the server's. First close the server's end of
    the pipe, and drop the logging set up there: a spawned fork server starts with none (WARNING
    and above to stderr, through logging's last resort), and so does this one."""
    server_end.close()
    for handler in list(logging.root.handlers):
        logging.root.removeHandler(handler)
    logging.root.setLevel(logging.WARNING)
    _fork_server_main(*args)


def _fork_worker(conn: Connection, redactor: Redactor, config: Config) -> tuple[int, socket.socket]:
    """Fork one worker that serves jobs on a new socket pair: (its pid, the server's end)."""
    ours, theirs = socket.socketpair()
    fork_server = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker: it never returns into the fork server's loop
        try:
            ours.close()
            conn.close()
            die_with_parent(fork_server)
            _serve_jobs(Connection(theirs.detach()), redactor, config)
        finally:
            os._exit(0)
    theirs.close()
    return pid, ours


def _reap(children: set[int]) -> None:
    """Collect the workers that exited or were killed (no zombies left behind)."""
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        children.discard(pid)


def _stop_children(children: set[int], grace_seconds: float = 5.0) -> None:
    deadline = time.monotonic() + grace_seconds
    while children and time.monotonic() < deadline:
        _reap(children)
        time.sleep(0.05)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


# -- in the server process ---------------------------------------------------------------------


class _Deadline(Exception):
    """The request passed its deadline on a worker."""


class _WorkerGone(Exception):
    """The worker died while it held the request."""


class _ForkServer:
    """The server's side of the fork server: spawned once, asked for one worker at a time."""

    def __init__(self, context: Any, config_json: str, master_secret: bytes) -> None:
        self.conn, child = context.Pipe(duplex=True)
        args: tuple[Any, ...] = (child, config_json, master_secret, os.getpid())
        target: Any = _fork_server_main
        if context.get_start_method() == "fork":  # it inherits our end of the pipe too: it must close it to see EOF
            target, args = _forked_fork_server_main, (self.conn, *args)
        self.process = context.Process(target=target, args=args, name="tracevault-fork-server", daemon=True)
        self.process.start()
        child.close()
        self._lock = threading.Lock()  # one fork request on the pipe at a time
        self._loaded = False

    def alive(self) -> bool:
        return self.process.is_alive()

    def fork(self, timeout: float) -> tuple[int, Connection]:
        """A new worker: (pid, the server's end of its pipe). Waits for the model to load first."""
        with self._lock:
            try:
                if not self._loaded:
                    if not self.conn.poll(timeout):
                        raise TimeoutError("the redaction fork server did not load the model in time")
                    if self.conn.recv()[0] != "ready":
                        raise RuntimeError("the redaction fork server sent an unexpected start message")
                    self._loaded = True
                self.conn.send("fork")
                if not self.conn.poll(timeout):
                    raise TimeoutError("the redaction fork server did not fork a worker in time")
                _, pid = self.conn.recv()
                return pid, Connection(reduction.recv_handle(self.conn))
            except (EOFError, OSError):
                raise RuntimeError("the redaction fork server is gone") from None

    def stop(self) -> None:
        self.conn.close()  # it sees EOF, stops its workers and exits
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


class _ProcessSlot:
    """One worker process (forked by the fork server) and the pipe to it. Its blocking methods
    run in a helper thread."""

    def __init__(self, fork_server: _ForkServer) -> None:
        self._fork_server = fork_server
        self.lane = 0  # which jobs it takes (RedactionPool's lanes)
        self.conn: Connection | None = None
        self.pid: int | None = None
        self._pidfd: int | None = None

    def wait_ready(self, timeout: float) -> None:
        self.pid, self.conn = self._fork_server.fork(timeout)
        with contextlib.suppress(OSError, AttributeError):  # pidfds: Linux 5.3+; else signal by pid
            self._pidfd = os.pidfd_open(self.pid)
        if not self.conn.poll(timeout):
            raise TimeoutError("a redaction worker did not start in time")
        kind, _ = self.conn.recv()
        if kind != "ready":
            raise RuntimeError("a redaction worker sent an unexpected start message")

    def gone(self) -> bool:
        """True when this idle worker has died: an idle worker sends nothing, so a readable pipe
        is its end of file."""
        assert self.conn is not None
        try:
            return self.conn.poll(0)
        except OSError:
            return True

    def wait_exit(self, timeout: float) -> None:
        """Kill it and wait until it has exited (a pidfd reads ready then), at most `timeout`."""
        self.stop(kill=True, close=False)
        if self._pidfd is not None:
            with contextlib.suppress(OSError, ValueError):
                select.select([self._pidfd], [], [], timeout)

    def call(self, job: tuple[str, Any], timeout: float) -> tuple[str, Any]:
        assert self.conn is not None
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                raise _Deadline()
            return self.conn.recv()
        except (EOFError, OSError):
            raise _WorkerGone() from None

    def stop(self, kill: bool, close: bool = True) -> None:
        """Kill (the fork server reaps it) or let it exit on EOF; never waits on the worker."""
        if kill and self.pid is not None:
            with contextlib.suppress(ProcessLookupError, OSError):
                if self._pidfd is not None:  # the very process, even if its pid were reused
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
        if not close:
            return
        if self.conn is not None:
            self.conn.close()  # a live worker sees EOF and returns
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class _ThreadSlot:
    """`workers: 0`: redaction in one thread of this process. A stuck thread cannot be killed:
    it is abandoned (it finishes on its own) and a fresh thread takes its place."""

    def __init__(self, redactor: Redactor, config: Config) -> None:
        self._redactor = redactor
        self._config = config
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redact")
        self.pid = os.getpid()
        self.lane = 0

    def wait_ready(self, timeout: float) -> None:
        return None

    def gone(self) -> bool:
        return False

    def wait_exit(self, timeout: float) -> None:
        return None

    def call(self, job: tuple[str, Any], timeout: float) -> tuple[str, Any]:
        future = self._thread.submit(run_job, self._redactor, self._config, *job)
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise _Deadline() from None

    def stop(self, kill: bool) -> None:
        self._thread.shutdown(wait=not kill, cancel_futures=False)


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
    """Runs `redact_serialized` in worker processes (or one thread when workers is 0).

    By default a job goes to whichever worker is idle first. With `lanes`, worker i serves only
    the jobs given lane i (modulo the pool's size), and its replacement takes over its lane: the
    sequence of jobs each worker sees, and so what its caches hold when it redacts one, then
    depends only on the jobs and their lanes, never on timing. `tracevault redact` gives line n
    lane n, so that its output is the same on every run (a cached NER answer depends on the
    context a sentence was first seen in)."""

    def __init__(
        self, config: Config, master_secret: bytes, local_redactor: Redactor | None = None, lanes: bool = False, may_fork: bool = False
    ) -> None:
        self._config = config
        self._secret = master_secret
        self._workers = worker_count(config)
        # With workers: 0, an already built redactor may be handed in (it shares a loaded model);
        # else the model loads here, before any listener is up (never on the running loop).
        self._local: Redactor | None = None
        if self._workers == 0:
            from redactors.engine import Redactor

            self._local = local_redactor or Redactor.build(config, master_secret)
        # For the fail-closed path only: policies and keyed pseudonyms, no model.
        self._policies = PolicySet(config)
        self._pseudonymizer = Pseudonymizer(master_secret)
        # Blocking pipe calls and start-ups; one thread per slot for each.
        self._io = ThreadPoolExecutor(max_workers=2 * self.size, thread_name_prefix="redact-io")
        self._lanes = self.size if lanes else 1
        self._idle: list[asyncio.Queue[_ProcessSlot | _ThreadSlot]] | None = None  # idle workers, per lane
        self._slots: set[_ProcessSlot | _ThreadSlot] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._context = multiprocessing.get_context("spawn")  # the server runs gRPC threads: no fork
        # `tracevault redact` (may_fork) forks its first fork server instead, while this process
        # still runs one thread: the fork copies the imports made here rather than running them
        # again in a fresh interpreter (multiprocessing flushes stdout and stderr before it forks).
        self._may_fork = may_fork and "fork" in multiprocessing.get_all_start_methods()
        self._fork_server: _ForkServer | None = None
        self._closed = False

    @property
    def size(self) -> int:
        return max(1, self._workers)

    def worker_pids(self) -> list[int]:
        """Pids of the worker processes (empty with workers: 0)."""
        return sorted(slot.pid for slot in self._slots if isinstance(slot, _ProcessSlot) and slot.pid is not None)

    def fork_server_pid(self) -> int | None:
        """Pid of the process that loaded the model and forks the workers (None with workers: 0)."""
        return self._fork_server.process.pid if self._fork_server is not None else None

    def _new_slot(self) -> _ProcessSlot | _ThreadSlot:
        # Called on the event loop's thread, which lives as long as the server: the fork server's
        # parent-death signal fires when the thread that started it ends.
        if self._local is not None:
            slot: _ProcessSlot | _ThreadSlot = _ThreadSlot(self._local, self._config)
        else:
            if self._fork_server is None or not self._fork_server.alive():
                if self._fork_server is not None:
                    log.warning("the redaction fork server exited; starting another")
                    self._fork_server.stop()
                self._fork_server = _ForkServer(self._start_context(), self._config.model_dump_json(), self._secret)
            slot = _ProcessSlot(self._fork_server)
        self._slots.add(slot)
        return slot

    def _start_context(self) -> Any:
        """How the next fork server starts: forked, for the first one of a pool that may fork while
        this process runs one thread; else spawned (a fresh interpreter)."""
        if self._may_fork and self._fork_server is None and threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        return self._context

    async def _start_slot(self, timeout: float, lane: int) -> None:
        slot = self._new_slot()
        slot.lane = lane
        try:
            await asyncio.get_running_loop().run_in_executor(self._io, slot.wait_ready, timeout)
        except BaseException:
            self._slots.discard(slot)
            slot.stop(kill=True)
            raise
        assert self._idle is not None
        self._idle[lane].put_nowait(slot)

    async def _ensure_started(self, timeout: float = _START_TIMEOUT_SECONDS) -> list[asyncio.Queue]:
        if self._idle is None:
            self._idle = [asyncio.Queue() for _ in range(self._lanes)]
            await asyncio.gather(*(self._start_slot(timeout, index % self._lanes) for index in range(self.size)))
        return self._idle

    async def warm_up(self, timeout_seconds: float = _START_TIMEOUT_SECONDS) -> None:
        """Start every worker and wait until each has loaded the model."""
        await self._ensure_started(timeout_seconds)

    def _replace(self, slot: _ProcessSlot | _ThreadSlot, kill: bool) -> None:
        """Stop one worker and start another in the background; it joins the idle queue once ready."""
        self._slots.discard(slot)
        slot.stop(kill=kill)
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._restart(slot.lane))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _restart(self, lane: int) -> None:
        # A second try covers a fork server that died while this replacement asked it for a
        # fork (the next try spawns a new one); past that, the next failure retries the start.
        for attempt in range(_RESTART_ATTEMPTS):
            if self._closed:
                return
            if attempt:
                await asyncio.sleep(1.0)
            try:
                await self._start_slot(_START_TIMEOUT_SECONDS, lane)
                return
            except Exception as exc:  # noqa: BLE001 (logged; see above)
                log.error("a replacement redaction worker did not start (%s)", type(exc).__name__)

    async def _run(self, job: tuple[str, Any], queue_seconds: float | None = None, lane: int = 0) -> tuple[str, Any]:
        """Run one job on the next idle worker (of `lane`, with lanes); 503 when none frees up
        within `queue_seconds` (default: the deadline) or the worker dies. Raises _Deadline
        (after killing that worker) past the deadline."""
        timeout = self._config.server.redaction_timeout_seconds
        retry_after = self._config.server.retry_after_seconds
        idle = (await self._ensure_started())[lane % self._lanes]
        slot = await self._next_idle(idle, queue_seconds or timeout, retry_after)
        try:
            reply = await asyncio.get_running_loop().run_in_executor(self._io, slot.call, job, timeout)
        except _WorkerGone:
            # Wait until it has fully exited: workers killed together (OOM killer, kill -9 of the
            # group) close their pipes only at the end of their exit; by then the next idle one
            # shows whether it died too (_next_idle), and a retry does not land on it.
            await asyncio.get_running_loop().run_in_executor(self._io, slot.wait_exit, _EXIT_WAIT_SECONDS)
            self._replace(slot, kill=True)
            raise Unavailable("redaction worker restarted", retry_after) from None
        except BaseException:
            # Past the deadline (a detector hangs: kill this worker only; requests queued behind
            # it go to the others), or cancelled while the worker held the job (its answer would
            # reach the next job on this pipe): replace the worker rather than reuse it.
            self._replace(slot, kill=True)
            raise
        if reply[0] == "memory":
            self._replace(slot, kill=True)  # it exits by itself after this reply
        else:
            idle.put_nowait(slot)
        return reply

    async def _next_idle(self, idle: asyncio.Queue, wait_seconds: float, retry_after: float) -> _ProcessSlot | _ThreadSlot:
        """The next idle worker that is still alive; one that died while idle (it held no job) is
        replaced, and the wait goes on for another. Unavailable when none comes in time."""
        waited_until = time.monotonic() + wait_seconds
        while True:
            try:
                slot = await asyncio.wait_for(idle.get(), max(0.0, waited_until - time.monotonic()))
            except TimeoutError:
                raise Unavailable("no redaction worker is free", retry_after) from None
            if not slot.gone():
                return slot
            self._replace(slot, kill=True)

    async def prepare(self, body: Body) -> Prepared:
        """Inflate, decode, limit and group a request body in a worker."""
        try:
            kind, value = await self._run(("prepare", body))
        except _Deadline:
            raise PayloadTooLarge("decoding the request passed its deadline") from None
        if kind == "ok":
            return value
        if kind == "refused":
            name, message = value
            raise (InvalidRequest if name == InvalidRequest.__name__ else PayloadTooLarge)(message)
        if kind == "memory":
            raise PayloadTooLarge("decoding the request needs more memory than a worker may use")
        raise RuntimeError(f"decoding failed in a worker ({value})")

    async def redact(
        self, tenant: str, env: str, payload: bytes, with_escrow: bool = False, signal: str = SIGNAL_TRACES
    ) -> tuple[Redacted, Counter[str]]:
        """Redact on the next idle worker; fails closed past the deadline or the memory limit."""
        try:
            kind, value = await self._run(("redact", (tenant, env, payload, with_escrow, signal)))
        except _Deadline:
            kind, value = "deadline", None
        if kind in ("deadline", "memory"):
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._io, self._fail_closed, tenant, env, payload, signal)
        elif kind == "ok":
            result = value
        else:
            raise RuntimeError(f"redaction failed in a worker ({value})")
        return result, Counter(result.counts)

    async def redact_document(self, text: str, tenant: str | None, chosen: str | None = None, lane: int = 0) -> RedactedDocument:
        """`tracevault redact`: one OTLP/JSON document (traces or logs, `chosen` as `--signal`),
        grouped by tenant and redacted on the next idle worker (of `lane`, in a pool with lanes); fails closed (every value masked)
        past the deadline or the memory limit. A batch waits for a worker as long as one may take
        to start (replacements load the model). Raises InvalidRequest for a bad document,
        Unavailable when the worker died."""
        try:
            kind, value = await self._run(("document", (text, tenant, chosen)), queue_seconds=_START_TIMEOUT_SECONDS, lane=lane)
        except _Deadline:
            kind, value = "deadline", None
        if kind == "ok":
            return RedactedDocument(*value)
        if kind == "refused":
            name, message = value
            raise (InvalidRequest if name == InvalidRequest.__name__ else PayloadTooLarge)(message)
        if kind in ("deadline", "memory"):
            return await asyncio.get_running_loop().run_in_executor(self._io, self._fail_closed_document, text, tenant, chosen)
        raise RuntimeError(f"redaction failed in a worker ({value})")

    def _fail_closed_document(self, text: str, tenant: str | None, chosen: str | None) -> RedactedDocument:
        from redactors.walker import fail_closed

        request, signal = decode_json_document(text, chosen)
        groups = group_by_tenant(request, self._config.tenancy, tenant, None, signal)
        for (group_tenant, env), resources in groups.groups.items():
            fail_closed(resources, self._policies.resolve(group_tenant, env), self._pseudonymizer.for_tenant(group_tenant))
        for index in reversed(groups.rejected_indices):
            del signal.resources(request)[index]
        return RedactedDocument(otlp.encode_json_request(request), groups.rejected, groups.error_message, signal.noun, failed_closed=True)

    def _fail_closed(self, tenant: str, env: str, payload: bytes, signal: str) -> Redacted:
        """Every string value masked, no detector run; stored as a redacted payload."""
        from redactors.walker import fail_closed

        kind = otlp.SIGNALS[signal]
        request = kind.request_type.FromString(payload)
        resources = list(kind.resources(request))
        counts = fail_closed(resources, self._policies.resolve(tenant, env), self._pseudonymizer.for_tenant(tenant))
        return Redacted(request.SerializeToString(), dict(counts), "redacted", None, failed_closed=True)

    def shutdown(self) -> None:
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        for slot in list(self._slots):
            slot.stop(kill=False)
        self._slots.clear()
        if self._fork_server is not None:
            self._fork_server.stop()
            self._fork_server = None
        self._io.shutdown(wait=False, cancel_futures=True)

