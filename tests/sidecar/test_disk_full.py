"""The sidecar on a really full spool disk (a small tmpfs): it refuses with 503 + Retry-After,
stays alive, recovers by itself once space is back, and stores every acknowledged span once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from policies.config import parse_config
from sidecar import otlp
from tests.diskfull import fill, small_disk
from tests.sidecar.conftest import WAIT_SECONDS, json_request, start_sidecar
from tests.sidecar.test_vault_e2e import reader_for, vault_document

HEADERS = {"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}


def test_full_spool_disk_refuses_then_recovers_by_itself(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with small_disk(tmp_path / "disk", size_kib=512) as disk:
        document = vault_document(data_dir, None, dir=str(disk / "spool"), flush_interval_seconds=3600)
        server = start_sidecar(parse_config(document))
        first = json.dumps(json_request([({"service.name": "chatbot"}, 1)], trace_id="1" * 32))
        retried = json.dumps(json_request([({"service.name": "chatbot"}, 20)], trace_id="2" * 32))
        try:
            assert requests.post(server.traces_url, data=first, headers=HEADERS, timeout=WAIT_SECONDS).status_code == 200
            filler = fill(disk)
            statuses = []
            for _ in range(10):  # the first may still fit in the spool file's last page
                response = requests.post(server.traces_url, data=retried, headers=HEADERS, timeout=WAIT_SECONDS)
                statuses.append(response.status_code)
                if response.status_code == 503:
                    assert response.headers["Retry-After"] == "3"
                    break
            assert statuses[-1] == 503, statuses
            assert requests.get(f"{server.base_url}/healthz", timeout=WAIT_SECONDS).status_code == 200, "a full disk is not fatal"
            assert server.metric("tracevault_spool_write_failures") >= 1

            filler.unlink()
            freed = time.monotonic()
            while requests.post(server.traces_url, data=retried, headers=HEADERS, timeout=WAIT_SECONDS).status_code != 200:
                assert time.monotonic() - freed < WAIT_SECONDS, "no recovery after space came back"
                time.sleep(0.05)
            recovered_after = time.monotonic() - freed
            statuses.append(200)
            assert requests.get(f"{server.base_url}/readyz", timeout=WAIT_SECONDS).status_code == 200
        finally:
            server.stop()  # flushes the spool (the seal after the failure included)
    print(f"recovered {recovered_after * 1000:.0f} ms after space came back")  # noqa: T201 (test report)
    rows = reader_for(data_dir).read_metrics("acme").to_pylist()
    stored = [(r["trace_id"], r["span_id"]) for r in rows]
    assert stored.count(("1" * 32, f"{1:016x}")) == 1
    for n in range(1, 21):
        assert stored.count(("2" * 32, f"{n:016x}")) == statuses.count(200), "each acknowledged export is stored exactly once"
