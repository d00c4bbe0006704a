"""The redaction pool with several worker processes: warm-up reaches every worker; the workers are
forked from one fork server that loaded the model; killed workers and a killed fork server are
replaced; the caches' keys differ between a forked child and its parent."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from policies.config import parse_config
from redactors.processkey import new_key
from sidecar.errors import Unavailable
from sidecar.workers import RedactionPool, build_frozen
from tests.procs import alive, children
from tests.redactors.otlp_builders import make_request, make_span

SECRET = bytes(range(32))


@pytest.mark.slow
def test_two_workers_warm_up_and_redact() -> None:
    pool = RedactionPool(parse_config({"server": {"workers": 2}}), SECRET)

    async def run() -> tuple[set[int], bytes]:
        await pool.warm_up(timeout_seconds=120)
        pids = set(pool.worker_pids())
        assert all(os.path.exists(f"/proc/{pid}") for pid in pids)
        request = make_request([make_span(attributes={"input.value": "mail maria@example.org"})])
        redacted, counts = await pool.redact("acme", "prod", request.SerializeToString())
        assert counts["EMAIL_ADDRESS"] == 1
        return pids, redacted.request

    try:
        pids, body = asyncio.run(run())
    finally:
        pool.shutdown()
    assert len(pids) == 2, "both worker processes are up after warm-up"
    assert b"maria@example.org" not in body


def _parent(pid: int) -> int:
    stat = open(f"/proc/{pid}/stat", encoding="ascii").read()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


async def _redacts(pool: RedactionPool) -> bool:
    """One request through the pool, retried while its worker is being replaced."""
    request = make_request([make_span(attributes={"input.value": "mail maria@example.org"})]).SerializeToString()
    for _ in range(20):
        try:
            redacted, counts = await pool.redact("acme", "prod", request)
        except Unavailable:
            await asyncio.sleep(0.5)
            continue
        return counts["EMAIL_ADDRESS"] == 1 and b"maria@example.org" not in redacted.request
    return False


async def _wait_for_workers(pool: RedactionPool, count: int, avoid: set[int]) -> set[int]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pids = set(pool.worker_pids())
        if len(pids) == count and not pids & avoid:
            return pids
        await asyncio.sleep(0.2)
    raise AssertionError(f"the pool did not get back to {count} new workers: {pool.worker_pids()}")


@pytest.mark.slow
def test_workers_are_forked_from_one_fork_server_and_replaced_after_kill_9() -> None:
    """The model loads once, in the fork server; the workers are its children. A worker killed by
    SIGKILL is replaced by a new fork; a killed fork server takes its workers with it (parent-death
    signal), and the pool starts a new one and redacts again."""
    pool = RedactionPool(parse_config({"server": {"workers": 2}}), SECRET)

    async def run() -> None:
        await pool.warm_up(timeout_seconds=120)
        fork_server = pool.fork_server_pid()
        assert fork_server is not None
        first = set(pool.worker_pids())
        assert {_parent(pid) for pid in first} == {fork_server}
        assert set(children(fork_server)) == first
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        assert await _redacts(pool)
        second = await _wait_for_workers(pool, 2, {victim})
        assert {_parent(pid) for pid in second} == {fork_server}, "the replacement is a fork of the same fork server"
        assert pool.fork_server_pid() == fork_server
        os.kill(fork_server, signal.SIGKILL)
        gone = time.monotonic() + 10
        while any(alive(pid) for pid in second) and time.monotonic() < gone:
            await asyncio.sleep(0.1)
        assert not any(alive(pid) for pid in second), "the workers died with their fork server"
        assert await _redacts(pool)
        third = await _wait_for_workers(pool, 2, second)
        assert pool.fork_server_pid() not in (None, fork_server)
        assert {_parent(pid) for pid in third} == {pool.fork_server_pid()}

    try:
        asyncio.run(run())
    finally:
        pool.shutdown()


class _Owner:
    def __init__(self) -> None:
        self.key = new_key(self)

    def renew_key(self) -> None:
        self.key = new_key(self)


def test_a_forked_child_draws_new_cache_keys() -> None:
    """Every registered owner (the redaction caches) gets a key of its own in a forked child."""
    from redactors.textredact import RedactionCache

    owner, cache = _Owner(), RedactionCache()
    cache.put(cache.digest("acme/prod", "hello"), _redacted("hello"))
    before = (owner.key, cache.digest("acme/prod", "hello"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its keys and whether it still holds the parent's entry
        try:
            os.write(write, owner.key + cache.digest("acme/prod", "hello") + bytes([len(cache)]))
        finally:
            os._exit(0)
    os.close(write)
    reported = b""
    while chunk := os.read(read, 100):
        reported += chunk
    os.close(read)
    os.waitpid(pid, 0)
    child_key, child_digest, child_entries = reported[:32], reported[32:64], reported[64]
    assert len(owner.key) == len(child_key) == 32
    assert child_key != before[0] and child_digest != before[1], "the child shares its parent's keys"
    assert child_entries == 0, "the child kept entries made under its parent's key"
    assert (owner.key, cache.digest("acme/prod", "hello")) == before, "the parent's keys changed"
    assert len(cache) == 1


def _redacted(text: str):  # noqa: ANN202 (a RedactedText, imported late)
    from redactors.textredact import RedactedText

    return RedactedText(text, Counter())


@pytest.mark.parametrize(("cpu_max", "cap"), [("max 100000\n", None), ("100000 100000\n", 1), ("250000 100000\n", 2), ("garbage", None)])
def test_available_cpus_honours_a_cgroup_quota(tmp_path, cpu_max: str, cap: int | None) -> None:
    from sidecar.workers import available_cpus

    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    unlimited = available_cpus(str(tmp_path / "missing"))
    assert available_cpus(str(path)) == (min(unlimited, cap) if cap else unlimited)



_FORK_SERVER_PROBE = """
import asyncio, json, sys, threading
from policies.config import parse_config
from sidecar.workers import RedactionPool
from tests.sidecar.test_workers import SECRET, _redacts

may_fork, other_thread = json.loads(sys.argv[1])
pool = RedactionPool(parse_config({"server": {"workers": 1}}), SECRET, may_fork=may_fork)
release = threading.Event()
if other_thread:
    threading.Thread(target=release.wait, daemon=True).start()

async def run():
    await pool.warm_up(timeout_seconds=120)
    return await _redacts(pool)

try:
    redacted = asyncio.run(run())
    process = pool._fork_server.process
finally:
    release.set()
    pool.shutdown()
print(json.dumps([redacted, type(process).__name__, process.exitcode]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("may_fork", "other_thread", "started_as"),
    [
        (True, False, "ForkProcess"),  # `tracevault redact`: one thread when the pool starts
        (True, True, "SpawnProcess"),  # a thread is running: a fork would copy its locks mid-use
        (False, False, "SpawnProcess"),  # the service (gRPC threads): never forked
    ],
)
def test_fork_server_forked_only_from_a_single_threaded_process_and_exits_on_eof(
    may_fork: bool, other_thread: bool, started_as: str
) -> None:
    """A forked fork server closes the copy of the server's end of its pipe that it inherited, so
    it sees EOF at shutdown and exits by itself (exit code 0, not killed). Run in a fresh
    interpreter: this process's thread count depends on the tests before."""
    probe = subprocess.run(
        [sys.executable, "-c", _FORK_SERVER_PROBE, json.dumps([may_fork, other_thread])],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    redacted, process_class, exit_code = json.loads(probe.stdout.splitlines()[-1])
    assert redacted
    assert process_class == started_as
    assert exit_code == 0, "the fork server exited on EOF instead of being killed"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _cycles() -> list[_Cycle]:
    return [_Cycle() for _ in range(20_000)]


@pytest.mark.parametrize(
    ("reenable", "fails"),
    [
        (False, False),
        (True, False),  # a library's own gc.enable() (srsly does one around each msgpack read) does not restart collection
        (True, True),  # the thresholds come back when the build fails
    ],
)
def test_build_frozen_collects_nothing_during_the_build(reenable: bool, fails: bool) -> None:
    collections: list[int] = []
    seen_in_build: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    def build() -> list[_Cycle]:
        if reenable:
            gc.enable()
        built = _cycles()
        seen_in_build.extend(collections)
        if fails:
            raise RuntimeError("the build failed")
        return built

    thresholds = gc.get_threshold()
    gc.callbacks.append(count)
    try:
        if fails:
            with pytest.raises(RuntimeError):
                build_frozen(build)
        else:
            built = build_frozen(build)
            assert collections == []  # none during the build, and no full one before the freeze
            assert len(built) == 20_000
            assert gc.get_freeze_count() >= 20_000  # the build's objects are frozen
        after_build = len(collections)
        _cycles()  # the twin: after the build, the same allocations set off collections again
        assert len(collections) > after_build
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()
    assert seen_in_build == []  # 20,000 cycles and no automatic collection during the build
    assert gc.get_threshold() == thresholds
    assert gc.isenabled()
