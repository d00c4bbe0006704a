"""`tracevault compact`: exact row counts, payloads untouched, and readers never see a row twice or
miss one, whatever the interleaving with the swap."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES, SIGNALS, RedactedBatch
from retention.compact import compact
from sidecar.cli import main
from tests.retention.support import CONTENT, TABLE, FaultyStore, Killed, Vault, make_batch
from vault.reader import VaultReader
from vault.store import LocalStore

DAY = datetime(2026, 4, 10, 12, tzinfo=UTC)
OTHER_DAY = datetime(2026, 4, 11, 12, tzinfo=UTC)
PARTITION = "metrics/tenant=acme/env=prod/date=2026-04-10/"


def populate(vault: Vault, signal: str = SIGNAL_TRACES) -> set[str]:
    """Five flushes into one partition (2 + 3 + 1 + 2 + 2 spans or log records), one into the
    next day. Answers the span ids (of the spans, or of the spans the log records were emitted in)."""
    spans: set[str] = set()
    for users in (["a", "b"], ["c", "d", "e"], ["f"], ["g", "h"], ["i", "j"]):
        batch = make_batch("acme", DAY, users, signal=signal)
        spans.update(record.span_id.hex() for record in _records(batch))
        vault.ingest(batch)
    vault.ingest(make_batch("acme", OTHER_DAY, ["k"], signal=signal))
    return spans


def _records(batch: RedactedBatch) -> list:
    if batch.signal == SIGNAL_LOGS:
        return [r for rl in batch.request.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    return [s for rs in batch.request.resource_spans for ss in rs.scope_spans for s in ss.spans]


def span_ids(vault: Vault, table: str = "metrics") -> list[str]:
    return sorted(r["span_id"] for r in VaultReader(vault.store).read_metrics("acme", day_from=DAY.date(), day_to=DAY.date(), table=table).to_pylist())


@pytest.mark.parametrize("signal", SIGNALS)
def test_compaction_keeps_rows_exact_and_payloads_readable(vault: Vault, signal: str) -> None:
    table = TABLE[signal]
    partition = PARTITION.replace("metrics/", f"{table}/", 1)
    spans = populate(vault, signal)
    payload_keys_before = {k: vault.store.get(k) for k in vault.keys("payloads/")}
    assert len(vault.keys(partition)) == 5

    result = CliRunner().invoke(main, ["compact", "--config", vault.config_file, "--tenant", "acme", "--date", "2026-04-10"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["complete"] and report["files_merged"] == 5 and report["rows"] == 10
    (merged,) = vault.keys(partition)
    assert merged == report["partitions"][0]["merged_key"]
    merged_table = pq.read_table(io.BytesIO(vault.store.get(merged)))
    assert merged_table.num_rows == 10 and merged_table.schema.metadata[b"tracevault.schema"] == table.encode()
    assert span_ids(vault, table) == sorted(spans)
    assert len(vault.keys(f"{table}/tenant=acme/env=prod/date=2026-04-11/")) == 1, "--date limits it to one day"
    assert {k: vault.store.get(k) for k in vault.keys("payloads/")} == payload_keys_before, "segments are never merged"
    reader = VaultReader(vault.store, vault.keyring())
    for row in reader.read_metrics("acme", table=table).to_pylist():
        assert reader.payload(row["payload_ref"])[CONTENT[signal]]["spanId"] == row["span_id"]

    # More small files arrive; the next run merges them with the merged file, still exact.
    vault.ingest(make_batch("acme", DAY, ["l", "m"], signal=signal))
    assert json.loads(CliRunner().invoke(main, ["compact", "--config", vault.config_file, "--tenant", "acme"]).stdout)["complete"]
    assert len(vault.keys(partition)) == 1 and len(span_ids(vault, table)) == 12


def test_reader_between_write_and_delete_sees_no_doubles(vault: Vault) -> None:
    spans = sorted(populate(vault))
    seen: list[list[str]] = []

    def read_in_between(call: int, keys: list[str]) -> None:
        assert len(vault.keys(PARTITION)) == 6, "merged file written, small files not yet deleted"
        seen.append(span_ids(vault))

    report = compact(FaultyStore(vault.store, delete_many=read_in_between), tenant="acme", day=DAY.date())
    assert report.complete and seen == [spans]


def test_reader_that_listed_before_the_swap_sees_no_gap(vault: Vault) -> None:
    spans = sorted(populate(vault))
    swapped = []

    def swap_after_listing(call: int, key: str) -> None:
        if not swapped:  # the reader has listed the small files; now the whole swap happens
            swapped.append(compact(vault.store, tenant="acme", day=DAY.date()))

    reader = VaultReader(FaultyStore(vault.store, get=swap_after_listing))
    rows = reader.read_metrics("acme", day_from=DAY.date(), day_to=DAY.date()).to_pylist()
    assert swapped[0].partitions[0].merged_files == 5
    assert sorted(r["span_id"] for r in rows) == spans


def test_killed_before_the_deletes_then_rerun_and_a_late_replay(vault: Vault) -> None:
    spans = sorted(populate(vault))
    small = vault.keys(PARTITION)
    old_bytes = vault.store.get(small[0])

    def die(call: int, keys: list[str]) -> None:
        raise Killed()

    with pytest.raises(Killed):
        compact(FaultyStore(vault.store, delete_many=die), tenant="acme")
    assert len(vault.keys(PARTITION)) == 6 and span_ids(vault) == spans

    # The next run finishes the job; the merged file (too large to merge again here) is read by its footer only.
    report = compact(vault.store, tenant="acme", max_file_bytes=1)
    assert report.partitions[0].stale_deleted == 5
    assert len(vault.keys(PARTITION)) == 1 and span_ids(vault) == spans

    # A sidecar replaying an old spool file writes a small file again: readers still count once,
    # and the next compaction removes it.
    vault.store.put(small[0], old_bytes)
    assert span_ids(vault) == spans
    compact(vault.store, tenant="acme")
    assert len(vault.keys(PARTITION)) == 1 and span_ids(vault) == spans


def test_duckdb_reads_the_compacted_tree(tmp_path) -> None:
    root = tmp_path / "store"
    vault = Vault(tmp_path, {"data_dir": str(tmp_path / "d"), "storage": {"url": root.as_uri()}}, LocalStore(root))
    populate(vault)
    compact(vault.store)
    count = duckdb.sql(f"select count(*) from read_parquet('{root}/metrics/**/*.parquet', hive_partitioning=true)").fetchall()
    assert count == [(11,)]
