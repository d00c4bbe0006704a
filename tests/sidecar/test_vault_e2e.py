"""The sidecar with its vault: OTLP in through the SDK exporter, metrics and encrypted payloads out.

- every acknowledged span reaches the store, and the redacted copy reaches the next hop;
- a leak scan over every byte written (spool, store, Parquet cells, logs);
- kill -9 right after a 200, restart: every acknowledged span is stored exactly once;
- a store outage fills the spool and turns into 503 + Retry-After, then recovers.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest
import requests
import yaml
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from policies.config import parse_config
from sidecar import otlp
from tests.sidecar.conftest import (
    EMAIL,
    MASTER_SECRET,
    OPENAI_KEY,
    PERSON,
    USER_ID,
    WAIT_SECONDS,
    NextHop,
    free_port,
    genai_spans,
    json_document,
    json_request,
    sidecar_document,
    start_sidecar,
)
from vault.keyring import LocalKeyring
from vault.reader import VaultReader
from vault.store import LocalStore

ROOT = Path(__file__).resolve().parents[2]
TRACEVAULT = ROOT / ".venv" / "bin" / "tracevault"
PLANTED = [EMAIL, OPENAI_KEY, PERSON, USER_ID]
# Benign content is forwarded in clear (redacted), but at rest it exists only encrypted.
CONTENT_PHRASE = "Mail me at"


def vault_document(data_dir: Path, hop: NextHop | None, **spool: object) -> dict:
    document = sidecar_document(data_dir, hop, {"vault_enabled": True, "spool": {"fsync": True, "flush_interval_seconds": 0.2, **spool}})
    return document


def wait_until(predicate, what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def reader_for(data_dir: Path) -> VaultReader:
    config = parse_config({"data_dir": str(data_dir)})
    return VaultReader(LocalStore(data_dir / "store"), LocalKeyring(config.keyring_dir(), MASTER_SECRET))


def test_spans_reach_the_vault_and_the_next_hop(tmp_path: Path, next_hop: NextHop, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    server = start_sidecar(parse_config(vault_document(data_dir, next_hop)))
    exporter = OTLPSpanExporter(endpoint=server.traces_url, compression=Compression.Gzip, headers={"X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
    try:
        for _ in range(3):
            assert exporter.export(genai_spans()) == SpanExportResult.SUCCESS
        wait_until(lambda: len(next_hop.received) == 3, "the background forward")
    finally:
        exporter.shutdown()
        server.stop()  # SIGTERM path: drains and flushes the spool

    assert not list((data_dir / "spool").glob("*.wal")), "the spool is flushed on shutdown"
    reader = reader_for(data_dir)
    rows = reader.read_metrics("acme").to_pylist()
    assert len(rows) == 6
    chats = [r for r in rows if r["operation"] == "chat"]
    assert len(chats) == 3 and all(r["input_tokens"] == 57 and r["request_model"] == "gpt-4o" for r in chats)
    assert all(r["user_hash"] and r["user_hash"].startswith("pn:") for r in chats)
    payload = json.dumps(reader.payload(chats[0]["payload_ref"]))
    assert "<EMAIL_ADDRESS>" in payload and EMAIL not in payload and OPENAI_KEY not in payload
    total = duckdb.sql(
        f"select tenant, sum(input_tokens) from read_parquet('{data_dir}/store/metrics/**/*.parquet', hive_partitioning=true) group by 1"
    ).fetchall()
    assert total == [("acme", 171)]

    # Leak scan: every byte the sidecar wrote, Parquet cells read back, and the logs.
    written = b""
    for path in data_dir.rglob("*"):
        if path.is_file():
            written += path.read_bytes()
            if path.suffix == ".parquet":
                written += json.dumps(pq.read_table(io.BytesIO(path.read_bytes())).to_pylist(), default=str).encode()
    for planted in [*PLANTED, CONTENT_PHRASE]:
        assert planted.encode() not in written, "a planted value or content was written in clear"
        assert planted not in caplog.text
    forwarded = b"".join(r.request.SerializeToString() for r in next_hop.received)
    for planted in PLANTED:
        assert planted.encode() not in forwarded


def test_store_outage_pushes_back_then_recovers(tmp_path: Path, moto_endpoint: str, aws_env: None) -> None:
    bucket = "tv-outage"
    document = vault_document(tmp_path / "data", None, max_bytes=30_000)
    document["storage"] = {"url": f"s3://{bucket}/vault", "endpoint_url": moto_endpoint, "region": "us-east-1", "max_attempts": 1}
    server = start_sidecar(parse_config(document))
    body = json.dumps(json_request([({"service.name": "chatbot"}, 5)]))
    headers = {"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}
    statuses = []
    try:
        for _ in range(60):  # bounded: the cap is a few requests away
            response = requests.post(server.traces_url, data=body, headers=headers, timeout=WAIT_SECONDS)
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "3"
                break
        assert statuses[0] == 200 and statuses[-1] == 503, statuses
        accepted = statuses.count(200) * 5
        boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        wait_until(lambda: requests.post(server.traces_url, data=body, headers=headers, timeout=WAIT_SECONDS).status_code == 200, "recovery")
        accepted += 5
    finally:
        server.stop()
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="vault/metrics/").get("Contents", [])]
    rows = 0
    for key in keys:
        rows += pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).num_rows
    assert rows == accepted, "nothing acknowledged was lost during the outage"


@pytest.mark.slow
@pytest.mark.parametrize("otlp_signal", [otlp.TRACES, otlp.LOGS], ids=lambda each: each.name)
def test_kill_9_after_200_then_restart_stores_each_span_exactly_once(tmp_path: Path, otlp_signal: otlp.Signal) -> None:
    """For spans and for log records alike (their rows go to metrics and log_metrics)."""
    data_dir = tmp_path / "data"
    http_port = free_port()
    config = tmp_path / "serve.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(data_dir),
                "server": {"http_port": http_port, "grpc_port": free_port(), "workers": 0},
                # Long flush interval: the acknowledged spans are only in the spool when killed.
                "spool": {"flush_interval_seconds": 3600},
            }
        )
    )
    env = {**os.environ}

    def start() -> subprocess.Popen:
        process = subprocess.Popen([str(TRACEVAULT), "serve", "--config", str(config)], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: _ready(http_port) or process.poll() is not None, "readiness")
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        return process

    headers = {"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}
    process = start()
    sent = set()
    try:
        for index in range(4):
            trace_id = f"{index + 1:032x}"
            document = json_document(otlp_signal, [({"service.name": "s"}, 3)], trace_id=trace_id)
            response = requests.post(f"http://127.0.0.1:{http_port}{otlp_signal.path}", data=json.dumps(document), headers=headers, timeout=WAIT_SECONDS)
            assert response.status_code == 200
            sent.update((trace_id, f"{n:016x}") for n in range(1, 4))
        process.kill()  # SIGKILL right after the last 200: no flush, no goodbye
        process.wait(timeout=WAIT_SECONDS)
        assert list((data_dir / "spool").glob("*.wal")), "the acknowledged spans wait in the spool"
        process = start()  # replays the spool
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_SECONDS * 2) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_SECONDS)
    rows = reader_for(data_dir).read_metrics("acme", table="log_metrics" if otlp_signal is otlp.LOGS else "metrics").to_pylist()
    stored = [(r["trace_id"], r["span_id"]) for r in rows]
    assert sorted(stored) == sorted(sent), "every acknowledged record, exactly once"


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
