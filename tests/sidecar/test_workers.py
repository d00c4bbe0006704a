"""The redaction pool with several worker processes: warm-up reaches every worker."""

from __future__ import annotations

import asyncio
import os

import pytest

from policies.config import parse_config
from sidecar.workers import RedactionPool
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


@pytest.mark.parametrize(("cpu_max", "cap"), [("max 100000\n", None), ("100000 100000\n", 1), ("250000 100000\n", 2), ("garbage", None)])
def test_available_cpus_honours_a_cgroup_quota(tmp_path, cpu_max: str, cap: int | None) -> None:
    from sidecar.workers import available_cpus

    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    unlimited = available_cpus(str(tmp_path / "missing"))
    assert available_cpus(str(path)) == (min(unlimited, cap) if cap else unlimited)
