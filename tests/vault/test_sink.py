"""The vault end to end: split, spool, flush, read back; both stores; tamper and crash cases."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest

from policies.config import SpoolConfig
from redactors.batch import RedactedBatch
from redactors.engine import Redactor
from tests.redactors.otlp_builders import make_request, make_span
from vault import layout
from vault.keyring import LocalKeyring, LocalKeyWriter
from vault.reader import PayloadUnavailable, VaultReader
from vault.segment import PayloadRef
from vault.sink import VaultSink
from vault.spool import read_spool_file
from vault.store import LocalStore, ObjectStore, S3Store

SECRET = bytes(range(32))
RECEIVED = datetime(2026, 11, 28, 12, 30, tzinfo=timezone.utc)
EMAIL = "maria.gonzalez@example.org"
API_KEY = "sk-" + "proj-" + "Zx8Kq2Lm4Np6Rs8Tv0Wy2Ab4Cd6Ef8Gh0Ij2Kl4"


def spool_config(**overrides: object) -> SpoolConfig:
    values = {"fsync": False, "flush_interval_seconds": 3600.0, **overrides}
    return SpoolConfig.model_validate(values)


def batch(redactor: Redactor, tenant: str, mode: str = "redacted", spans: int = 3, tokens: int = 100) -> RedactedBatch:
    request = make_request(
        [
            make_span(
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": tokens,
                    "gen_ai.usage.output_tokens": 7,
                    "user.id": "customer-8812",
                    "input.value": f"my email is {EMAIL}",
                    "gen_ai.tool.call.arguments": json.dumps({"api_key": API_KEY}),
                }
            )
            for _ in range(spans)
        ]
    )
    escrow = None
    if mode == "original":
        escrow = type(request).FromString(request.SerializeToString())
        redactor.strip_secrets(list(escrow.resource_spans), tenant, "prod")
    redactor.redact_resource_spans(list(request.resource_spans), tenant, "prod")
    return RedactedBatch(tenant, "prod", request, spans, RECEIVED, mode, escrow)


def run(coro):
    return asyncio.run(coro)


async def export_and_flush(sink: VaultSink, *batches: RedactedBatch) -> None:
    for item in batches:
        await sink.export(item)
    await sink.flush()


def test_split_store_and_read_back(redactor: Redactor, store: ObjectStore, tmp_path: Path) -> None:
    keyring = LocalKeyring(tmp_path / "keys", SECRET)
    writer = LocalKeyWriter(tmp_path / "keys", SECRET)
    sink = VaultSink(spool_config(), tmp_path / "spool", writer, store)
    run(export_and_flush(sink, batch(redactor, "acme"), batch(redactor, "globex", tokens=50)))

    keys = [info.key for info in store.list("")]
    # One payload segment and one Parquet file per tenant and flush, in the Hive layout.
    assert len([k for k in keys if k.endswith(".tvseg")]) == 2
    assert len([k for k in keys if k.endswith(".parquet")]) == 2
    assert all(layout.parse_key(k) is not None for k in keys)
    assert any(k.startswith("metrics/tenant=acme/env=prod/date=2026-11-28/") for k in keys)
    assert not list((tmp_path / "spool").glob("*.wal")), "flushed spool files are deleted"

    reader = VaultReader(store, keyring)
    table = reader.read_metrics("acme")
    assert table.num_rows == 3
    rows = table.to_pylist()
    assert {r["input_tokens"] for r in rows} == {100}
    assert all(r["user_hash"] and r["user_hash"].startswith("pn:") for r in rows)
    assert rows[0]["redactions"] and dict(rows[0]["redactions"]).get("EMAIL_ADDRESS") == 1

    payload = reader.payload(rows[0]["payload_ref"])
    text = json.dumps(payload)
    assert EMAIL not in text and API_KEY not in text and "<EMAIL_ADDRESS>" in text
    assert payload["span"]["traceId"] == rows[0]["trace_id"]
    assert reader.payloads_for("acme", rows[1]["trace_id"])[0]["span"]["spanId"] == rows[1]["span_id"]


def test_metrics_are_queryable_with_duckdb(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    sink = VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(export_and_flush(sink, batch(redactor, "acme", tokens=100), batch(redactor, "acme", spans=2, tokens=40), batch(redactor, "globex", tokens=5)))
    result = duckdb.sql(
        f"select tenant, sum(input_tokens), count(*) from read_parquet('{tmp_path}/store/metrics/**/*.parquet', hive_partitioning=true) group by 1 order by 1"
    ).fetchall()
    assert result == [("acme", 380, 5), ("globex", 15, 3)]


@pytest.mark.parametrize(("mode", "has_payload", "email_in_payload"), [("none", False, False), ("redacted", True, False), ("original", True, True)])
def test_payload_modes(redactor: Redactor, tmp_path: Path, mode: str, has_payload: bool, email_in_payload: bool) -> None:
    store = LocalStore(tmp_path / "store")
    sink = VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(export_and_flush(sink, batch(redactor, "acme", mode=mode)))
    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    rows = reader.read_metrics("acme").to_pylist()
    assert len(rows) == 3
    assert bool(rows[0]["payload_ref"]) is has_payload
    assert any(k.endswith(".tvseg") for k in (i.key for i in store.list(""))) is has_payload
    if has_payload:
        text = json.dumps(reader.payload(rows[0]["payload_ref"]))
        assert (EMAIL in text) is email_in_payload
        assert API_KEY not in text, "secrets are stripped in every mode, escrow included"


def _segment_and_ref(store: ObjectStore, reader: VaultReader, tenant: str) -> tuple[str, list[str]]:
    refs = [r["payload_ref"] for r in reader.read_metrics(tenant).to_pylist()]
    return PayloadRef.parse(refs[0]).object_key, refs


def test_tampering_fails_to_decrypt(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    sink = VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(export_and_flush(sink, batch(redactor, "acme"), batch(redactor, "globex")))
    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    key, refs = _segment_and_ref(store, reader, "acme")
    original = store.get(key)
    first, second = PayloadRef.parse(refs[0]), PayloadRef.parse(refs[1])

    # A flipped bit in the ciphertext.
    flipped = bytearray(original)
    flipped[first.offset + first.length - 5] ^= 0x01
    store.put(key, bytes(flipped))
    with pytest.raises(PayloadUnavailable, match="decrypt"):
        reader.payload(refs[0])
    store.put(key, original)
    assert reader.payload(refs[0])

    # Records swapped between positions: the second record's sealed bytes under the first ref.
    swapped = bytearray(original)
    frame_a = original[first.offset : first.offset + first.length]
    frame_b = original[second.offset : second.offset + second.length]
    assert len(frame_a) == len(frame_b)
    # Keep frame A's position field (so the reader finds "position 0") over B's sealed bytes.
    swapped[first.offset : first.offset + first.length] = frame_a[:4] + frame_b[4:]
    store.put(key, bytes(swapped))
    with pytest.raises(PayloadUnavailable):
        reader.payload(refs[0])
    store.put(key, original)

    # The segment copied under another tenant's prefix.
    moved = key.replace("tenant=acme", "tenant=globex")
    store.put(moved, original)
    with pytest.raises(PayloadUnavailable):
        reader.payload(refs[0].replace("tenant=acme", "tenant=globex"))
    # And under another env of the same tenant.
    store.put(key.replace("env=prod", "env=dev"), original)
    with pytest.raises(PayloadUnavailable):
        reader.payload(refs[0].replace("env=prod", "env=dev"))


def test_crash_before_delete_replays_exactly_once(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    spool = tmp_path / "spool"
    writer = LocalKeyWriter(tmp_path / "keys", SECRET)
    sink = VaultSink(spool_config(), spool, writer, store)
    run(sink.export(batch(redactor, "acme")))
    run(sink.export(batch(redactor, "acme", spans=2)))
    # "Crash": the process dies; the spool file stays. Copy it, flush once, then put the copy
    # back as if the delete had not happened, and start a new sink on the same spool.
    sink._writer.seal()
    (wal,) = list(spool.glob("*.wal"))
    saved = wal.read_bytes()
    run(sink.flush())
    wal.write_bytes(saved)
    restarted = VaultSink(spool_config(), spool, writer, store)
    run(restarted.flush())
    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    rows = reader.read_metrics("acme").to_pylist()
    assert len(rows) == 5, "every acknowledged span is in the store exactly once"
    assert len({(r["trace_id"], r["span_id"]) for r in rows}) == 5
    for row in rows:
        assert reader.payload(row["payload_ref"])


def test_corrupt_spool_frame_is_reported_and_skipped(redactor: Redactor, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = LocalStore(tmp_path / "store")
    spool = tmp_path / "spool"
    sink = VaultSink(spool_config(), spool, LocalKeyWriter(tmp_path / "keys", SECRET), store)
    for _ in range(3):
        run(sink.export(batch(redactor, "acme", spans=1)))
    sink._writer.seal()
    (wal,) = list(spool.glob("*.wal"))
    data = bytearray(wal.read_bytes())
    contents = read_spool_file(wal)
    assert contents.records == 3 and contents.corrupt_regions == 0
    # Damage the middle of the file (inside the second record).
    middle = len(data) // 2
    data[middle : middle + 8] = b"\x00" * 8
    wal.write_bytes(bytes(data))
    damaged = read_spool_file(wal)
    assert damaged.corrupt_regions >= 1
    assert damaged.records == 2, "the records around the damage survive"
    run(sink.flush())
    assert "damaged" in caplog.text and EMAIL not in caplog.text
    reader = VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET))
    rows = reader.read_metrics("acme").to_pylist()
    assert len(rows) == 2
    for row in rows:
        assert reader.payload(row["payload_ref"]), "offsets stay true around a lost record"


def test_corrupt_parquet_is_reported_and_skipped(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    sink = VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(export_and_flush(sink, batch(redactor, "acme")))
    store.put(layout.metrics_key("acme", "prod", RECEIVED.date(), "garbage"), b"not parquet at all")
    reader = VaultReader(store)
    assert reader.read_metrics("acme").num_rows == 3
    assert [p.reason for p in reader.problems] == ["unreadable Parquet (ArrowInvalid)"]


def test_store_outage_keeps_the_spool_and_pushes_back(redactor: Redactor, tmp_path: Path, moto_endpoint: str, aws_env: None) -> None:
    store = S3Store("bucket-that-does-not-exist", endpoint_url=moto_endpoint, region="us-east-1", max_attempts=1)
    sink = VaultSink(spool_config(max_bytes=20_000), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(sink.export(batch(redactor, "acme")))
    with pytest.raises(Exception):
        run(sink.flush())
    assert list((tmp_path / "spool").glob("*.wal")), "nothing is lost while the store is down"
    while sink.has_capacity():
        run(sink.export(batch(redactor, "acme", spans=5)))
    assert not sink.has_capacity(), "the spool cap turns into backpressure"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket="bucket-that-does-not-exist")
    run(sink.flush())
    assert sink.has_capacity()
    assert not list((tmp_path / "spool").glob("*.wal"))


def test_payload_read_needs_the_private_key(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    writer = LocalKeyWriter(tmp_path / "keys", SECRET)
    sink = VaultSink(spool_config(), tmp_path / "spool", writer, store)
    run(export_and_flush(sink, batch(redactor, "acme")))
    ref = VaultReader(store).read_metrics("acme").to_pylist()[0]["payload_ref"]
    with pytest.raises(PayloadUnavailable):
        VaultReader(store, writer).payload(ref)
    # The keyring directory of another tenant cannot stand in.
    shutil.copytree(tmp_path / "keys" / "acme", tmp_path / "keys" / "globex")
    with pytest.raises(PayloadUnavailable):
        VaultReader(store, LocalKeyring(tmp_path / "keys", SECRET)).payload(ref.replace("tenant=acme", "tenant=globex"))


def test_parquet_holds_no_content(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    sink = VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(export_and_flush(sink, batch(redactor, "acme", mode="original")))
    for info in store.list("metrics/"):
        table = pq.read_table(io.BytesIO(store.get(info.key)))
        dump = json.dumps(table.to_pylist(), default=str)
        assert EMAIL not in dump and API_KEY not in dump and "customer-8812" not in dump and "my email is" not in dump


def test_a_restart_with_an_empty_spool_never_overwrites_earlier_segments(redactor: Redactor, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    writer = LocalKeyWriter(tmp_path / "keys", SECRET)
    for _ in range(3):  # three process lifetimes, each flushing everything before it ends
        sink = VaultSink(spool_config(), tmp_path / "spool", writer, store)
        run(export_and_flush(sink, batch(redactor, "acme", spans=2)))
    assert VaultReader(store).read_metrics("acme").num_rows == 6
    assert len([i for i in store.list("payloads/") if i.key.endswith(".tvseg")]) == 3
