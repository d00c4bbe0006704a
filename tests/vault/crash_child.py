"""A process that runs the vault sink alone, for the kill -9 tests (tests/vault/test_crash.py).

    python -m tests.vault.crash_child ingest DATA_DIR SIGNAL BATCHES
        exports BATCHES batches of SIGNAL (traces or logs), each of RECORDS records with fresh
        trace and span ids (a logs batch also holds one record without a trace id), while the
        flush loop runs; after each export returns ok it prints ``ack <trace:span> ...`` and
        flushes stdout. The parent kills it with SIGKILL at any moment.
    python -m tests.vault.crash_child replay DATA_DIR
        starts the sink (it replays the spool) and shuts it down, flushing everything.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from policies.config import SpoolConfig
from redactors.batch import SIGNAL_LOGS, RedactedBatch
from tests.redactors.otlp_builders import make_request, make_span
from tests.vault.logs_builders import genai_log, logs_batch, make_log
from vault.keyring import LocalKeyWriter
from vault.sink import VaultSink
from vault.store import LocalStore

SECRET = bytes(range(32))
RECORDS = 3


def sink(data_dir: Path) -> VaultSink:
    # fsync on: an ack means the records are on disk. A short flush interval: the kill also
    # lands while spool files are being flushed.
    config = SpoolConfig.model_validate({"fsync": True, "flush_interval_seconds": 0.05, "segment_max_bytes": 4096})
    return VaultSink(config, data_dir / "spool", LocalKeyWriter(data_dir / "keys", SECRET), LocalStore(data_dir / "store"))


def batch(signal: str) -> tuple[RedactedBatch, list[str]]:
    ids = [(os.urandom(16), os.urandom(8)) for _ in range(RECORDS)]
    acked = [f"{trace.hex()}:{span.hex()}" for trace, span in ids]
    received = datetime.now(UTC)
    if signal == SIGNAL_LOGS:
        return logs_batch("acme", [genai_log(trace, span) for trace, span in ids] + [make_log()], received), [*acked, "-:-"]
    spans = [make_span(attributes={"gen_ai.operation.name": "chat"}) for _ in ids]
    for span, (trace, span_id) in zip(spans, ids):
        span.trace_id, span.span_id = trace, span_id
    return RedactedBatch("acme", "prod", make_request(spans), RECORDS, received, "redacted"), acked


async def ingest(data_dir: Path, signal: str, batches: int) -> None:
    vault = sink(data_dir)
    await vault.start()
    for _ in range(batches):
        item, acked = batch(signal)
        outcome = await vault.export(item)
        if outcome.status.value == "ok":
            sys.stdout.write("ack " + " ".join(acked) + "\n")
            sys.stdout.flush()
    sys.stdout.write("done\n")
    sys.stdout.flush()
    await asyncio.sleep(3600)  # wait for the kill


async def replay(data_dir: Path) -> None:
    vault = sink(data_dir)
    await vault.start()
    assert await vault.shutdown(None)


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    if command == "ingest":
        asyncio.run(ingest(directory, sys.argv[3], int(sys.argv[4])))
    else:
        asyncio.run(replay(directory))
