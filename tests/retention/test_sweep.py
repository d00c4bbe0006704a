"""`tracevault retention run`: time travel, dry run, kill and re-run, store errors, ingest meanwhile."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from retention.progress import Progress
from retention.sweep import sweep
from sidecar.cli import main
from tests.retention.support import FaultyStore, Killed, Vault, make_batch
from vault import layout
from vault.reader import VaultReader
from vault.store import StoreError

D1, D2, D3 = date(2026, 1, 1), date(2026, 6, 1), date(2026, 6, 25)
POLICY = {
    "tenants": {
        "acme": {"environments": {"prod": {"payload_days": 7}}},
        "globex": {"metrics_days": 90, "audit_days": 100},
    }
}
ENVS = [("acme", "prod"), ("acme", "dev"), ("globex", "prod")]
SIZES = {"metrics": 100, "log_metrics": 100, "payloads": 1000, "audit": 10}


def seed(vault: Vault, table: str = "metrics") -> set[str]:
    """Objects in every (kind, tenant, env, day) of the table below; sizes by kind. ``table`` is
    the record table seeded: ``metrics`` (spans) or ``log_metrics`` (log records)."""
    keys = set()
    for day in (D1, D2, D3):
        for tenant, env in ENVS:
            keys.add(layout.sibling_key(layout.metrics_key(tenant, env, day, "seg-a"), table))
            keys.add(layout.payload_key(tenant, env, day, "seg-a"))
        for tenant in ("acme", "globex"):
            keys.add(layout.audit_key(tenant, day, "000000000001-0123456789abcdef"))
    for key in keys:
        vault.store.put(key, b"x" * SIZES[key.split("/", 1)[0]])
    vault.store.put("metrics/tenant=acme/env=prod/not-a-partition.parquet", b"?")  # never touched
    return keys


def due_keys(spec: dict[str, list[date]], table: str = "metrics") -> set[str]:
    out = set()
    for where, days in spec.items():
        kind, tenant, env = (where.split("/") + [None])[:3]
        for day in days:
            if kind == "audit":
                out.add(layout.audit_key(tenant, day, "000000000001-0123456789abcdef"))
            elif kind == "metrics":  # the record table seeded
                out.add(layout.sibling_key(layout.metrics_key(tenant, env, day, "seg-a"), table))
            else:
                out.add(layout.payload_key(tenant, env, day, "seg-a"))
    return out


# now -> what is due. A partition dated D is due when D < today - days (so D == today - days is kept).
TIME_TRAVEL = [
    ("2025-12-31T23:00:00Z", {}),
    (
        "2026-07-01T08:00:00Z",
        {
            "payloads/acme/prod": [D1, D2],  # 7 days (env override): cutoff 06-24
            "payloads/acme/dev": [D1],  # 30 days: cutoff 06-01, so 06-01 itself is kept
            "payloads/globex/prod": [D1],
            "metrics/globex/prod": [D1],  # 90 days
            "audit/globex": [D1],  # 100 days
        },
    ),
    (
        "2027-02-10",
        {
            "payloads/acme/prod": [D1, D2, D3],
            "payloads/acme/dev": [D1, D2, D3],
            "payloads/globex/prod": [D1, D2, D3],
            "metrics/acme/prod": [D1],  # 400 days: cutoff 2026-01-06
            "metrics/acme/dev": [D1],
            "metrics/globex/prod": [D1, D2, D3],
            "audit/globex": [D1, D2, D3],  # acme keeps 730 days of audit
        },
    ),
]


def cli(vault: Vault, *args: str):
    return CliRunner().invoke(main, ["retention", "run", "--config", vault.config_file, *args])


@pytest.mark.parametrize("table", layout.RECORD_TABLES)
@pytest.mark.parametrize(("now", "expected"), TIME_TRAVEL, ids=["before", "july", "next-year"])
def test_time_travel_dry_run_then_run(vault: Vault, now: str, expected: dict, table: str) -> None:
    vault.config_doc.update(POLICY)
    seeded = seed(vault, table)
    due = due_keys(expected, table)
    before = set(vault.keys())

    dry = cli(vault, "--now", now, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert set(vault.keys()) == before, "a dry run changes nothing"

    real = cli(vault, "--now", now)
    assert real.exit_code == 0, real.output
    dry_report, report = json.loads(dry.stdout), json.loads(real.stdout)
    assert dry_report.pop("dry_run") is True and report.pop("dry_run") is False
    assert dry_report == report, "the dry run reports exactly what the run does"

    assert set(vault.keys()) == before - due
    assert report["complete"] is True and report["ignored_keys"] == 1
    assert report["totals"]["deleted"] == {"objects": len(due), "bytes": sum(SIZES[k.split("/", 1)[0]] for k in due)}
    assert report["totals"]["kept"]["objects"] == len(seeded) - len(due)
    prod = report["tenants"]["acme"]["envs"]["prod"]["payloads"]
    assert prod["window_days"] == 7
    assert prod["deleted"]["objects"] == len([k for k in due if k.startswith("payloads/tenant=acme/env=prod/")])
    assert report["tenants"]["globex"]["audit"]["window_days"] == 100
    assert report["tenants"]["globex"]["envs"]["prod"][table]["window_days"] == 90, "log_metrics keep metrics_days"

    again = cli(vault, "--now", now)
    assert again.exit_code == 0
    assert json.loads(again.stdout)["totals"]["deleted"]["objects"] == 0, "re-running finds nothing more"


def test_tenant_filter_touches_only_that_tenant(vault: Vault) -> None:
    vault.config_doc.update(POLICY)
    seed(vault)
    result = cli(vault, "--now", "2027-02-10", "--tenant", "globex")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["tenants"]) == {"globex"}
    assert not any(k.startswith("payloads/tenant=globex/") for k in vault.keys())
    assert len([k for k in vault.keys() if k.startswith("payloads/tenant=acme/")]) == 6


def test_killed_half_way_then_rerun_finishes(vault: Vault) -> None:
    vault.config_doc.update(POLICY)
    seeded = seed(vault)
    now = datetime(2027, 2, 10, tzinfo=UTC)
    due = due_keys(TIME_TRAVEL[2][1])
    planned = sweep(vault.store, vault.config, now=now, dry_run=True)

    def die_on_third(call: int, keys: list[str]) -> None:
        if call == 3:
            raise Killed()

    with pytest.raises(Killed):
        sweep(FaultyStore(vault.store, delete_many=die_on_third), vault.config, now=now, batch_size=2)
    left = set(vault.keys())
    assert len(seeded - left) == 4, "two batches of two were deleted before the kill"
    assert seeded - due <= left, "nothing inside its window was touched"

    report = sweep(vault.store, vault.config, now=now, batch_size=2)
    assert report.complete
    assert report.totals()["deleted"]["objects"] == len(due) - 4, "the re-run reports what it finished"
    assert report.totals()["kept"] == planned.totals()["kept"]
    assert set(vault.keys()) == (seeded | {"metrics/tenant=acme/env=prod/not-a-partition.parquet"}) - due


def test_store_errors_give_exit_code_1_and_name_the_keys(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    vault.config_doc.update(POLICY)
    seed(vault)
    real = vault.store

    def refuse_globex(call: int, keys: list[str]) -> None:
        if any("tenant=globex" in k for k in keys):
            # Like S3's DeleteObjects: the others in the batch are deleted, these are refused.
            real.delete_many([k for k in keys if "tenant=globex" not in k])
            raise StoreError(f"delete_many {keys[0]}: AccessDenied")

    monkeypatch.setattr("vault.store.open_store", lambda config: FaultyStore(real, delete_many=refuse_globex))
    result = cli(vault, "--now", "2027-02-10", "--batch-size", "4")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["complete"] is False
    failed_keys = {e["key"] for e in report["errors"]}
    assert failed_keys and all("tenant=globex" in k for k in failed_keys)
    assert failed_keys == {k for k in vault.keys() if "tenant=globex" in k and k in due_keys(TIME_TRAVEL[2][1])}
    assert report["tenants"]["globex"]["envs"]["prod"]["payloads"]["failed"]["objects"] == 3
    assert report["tenants"]["acme"]["envs"]["prod"]["payloads"]["deleted"]["objects"] == 3
    assert "retention incomplete" in result.stderr and "AccessDenied" in result.stderr


def test_ingest_during_a_run_loses_nothing_acknowledged(vault: Vault) -> None:
    # Plenty of due objects, and a sweep slowed down, so that ingest really runs meanwhile.
    for i in range(60):
        vault.store.put(layout.payload_key("acme", "prod", date(2020, 1, 1 + i % 28), f"old-{i}"), b"x")
    sink = vault.sink()
    acknowledged: list[str] = []
    during = threading.Event()
    stop = threading.Event()

    def ingest() -> None:
        async def loop() -> None:
            while not stop.is_set():
                item = make_batch("acme", datetime.now(UTC), ["alice", "bob"])
                await sink.export(item)  # returns once durable: the 200
                acknowledged.extend(s.span_id.hex() for rs in item.request.resource_spans for ss in rs.scope_spans for s in ss.spans)
                if during.is_set():
                    await sink.flush()  # segments and Parquet land in today's partition
            await sink.flush()

        asyncio.run(loop())

    def slow(call: int, keys: list[str]) -> None:
        # Each of the first deletes waits until ingest has flushed once more: they interleave.
        during.set()
        deadline = time.monotonic() + 5
        while sink.stats.flushed_files < min(call, 3) and time.monotonic() < deadline:
            time.sleep(0.002)

    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        report = sweep(FaultyStore(vault.store, delete_many=slow), vault.config, batch_size=2)
    finally:
        flushed_during = sink.stats.flushed_files
        stop.set()
        thread.join(timeout=30)
    assert report.complete and report.totals()["deleted"]["objects"] == 60
    assert flushed_during >= 3, "ingest flushed while the sweep deleted"
    reader = VaultReader(vault.store, vault.keyring())
    rows = reader.read_metrics("acme").to_pylist()
    assert sorted(r["span_id"] for r in rows) == sorted(acknowledged)
    for row in rows[:: max(1, len(rows) // 10)]:
        assert reader.payload(row["payload_ref"])["span"]["spanId"] == row["span_id"]


def test_progress_plain_lines_off_a_terminal_and_a_bar_on_one() -> None:
    plain = io.StringIO()
    with Progress("retention: deleting", 3, stream=plain, interval=0) as bar:
        bar.advance(2, "payloads/tenant=a/env=b/date=2026-01-01")
        bar.advance(1)
    assert plain.getvalue().splitlines() == [
        "tracevault: retention: deleting: 2/3 (payloads/tenant=a/env=b/date=2026-01-01)",
        "tracevault: retention: deleting: 3/3",
    ]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    with Progress("retention: deleting", 3, stream=tty) as bar:
        bar.advance(3)
    assert "3/3" in tty.getvalue() and "tracevault:" not in tty.getvalue()


def test_cli_reports_progress_on_stderr_and_json_on_stdout(vault: Vault) -> None:
    seed(vault)
    result = cli(vault, "--now", "2027-02-10")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["command"] == "retention run"
    assert "tracevault: retention: deleting:" in result.stderr


def test_bad_now_is_a_usage_error(vault: Vault) -> None:
    result = cli(vault, "--now", "next tuesday")
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_the_security_log_expires_with_the_default_audit_window(vault: Vault) -> None:
    from vault.securitylog import SecurityLog

    old, recent = datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    for when in (old, recent):
        SecurityLog(vault.store, clock=lambda when=when: when).refused(action="payload.get", rule="bad_signature", asked={"tenant": "acme"})
    config = vault.config
    report = sweep(vault.store, config, now=datetime(2026, 6, 2, tzinfo=UTC))  # audit_days 730: 2024-06-02 on is kept
    assert report.complete and report.security_log is not None
    assert (report.security_log.deleted.objects, report.security_log.kept.objects) == (1, 1)
    assert [r["time"][:10] for r in SecurityLog(vault.store).show()] == ["2026-06-01"]
    assert report.as_dict()["security_log"]["deleted_partitions"] == 1
    only_acme = sweep(vault.store, config, now=datetime(2030, 1, 1, tzinfo=UTC), tenant="acme")
    assert only_acme.security_log is None and len(SecurityLog(vault.store).show()) == 1, "a one-tenant run leaves it alone"
