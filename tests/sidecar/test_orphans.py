"""Workers die with their server: after kill -9 of a real `serve` process, its redaction workers,
the fork server they were forked from and multiprocessing's resource tracker are gone within
seconds, not left as orphans."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.procs import alive, command_line, descendants, redaction_workers
from tests.sidecar.conftest import MASTER_SECRET, WAIT_SECONDS, free_port

ROOT = Path(__file__).resolve().parents[2]
SERVE = "import asyncio, sys\nfrom policies.config import load_config\nfrom sidecar.server import serve\nasyncio.run(serve(load_config(sys.argv[1])))\n"


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.mark.slow
def test_kill_9_of_the_server_takes_its_workers_with_it(tmp_path: Path) -> None:
    http_port = free_port()
    config = tmp_path / "serve.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "vault_enabled": False,
                "server": {"http_port": http_port, "grpc_port": free_port(), "workers": 2},
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACEVAULT_MASTER_KEY": base64.b64encode(MASTER_SECRET).decode()}
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(config)], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    spawned: list[int] = []
    try:
        deadline = time.monotonic() + WAIT_SECONDS * 4
        while not _ready(http_port):
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        spawned = descendants(server.pid)
        workers = redaction_workers(server.pid)
        assert len(workers) == 2 and len(spawned) == 4, [command_line(pid) for pid in spawned]  # + fork server, resource tracker
        print(f"server children: {[command_line(pid)[-60:] for pid in spawned]}")  # noqa: T201 (test report)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(WAIT_SECONDS)
        killed = time.monotonic()
        while any(alive(pid) for pid in spawned) and time.monotonic() - killed < WAIT_SECONDS:
            time.sleep(0.1)
        survivors = [command_line(pid) for pid in spawned if alive(pid)]
        gone_after = time.monotonic() - killed
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(WAIT_SECONDS)
        for pid in spawned:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)  # clean up after a failure: never leave orphans behind
    assert survivors == [], f"orphans survived kill -9 of the server: {survivors}"
    assert gone_after < 5, gone_after
    print(f"workers, fork server and resource tracker gone {gone_after * 1000:.0f} ms after kill -9")  # noqa: T201 (test report)
