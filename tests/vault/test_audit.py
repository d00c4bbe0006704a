"""The audit chain: append, show, and verify detecting edited, deleted, reordered and forked records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault import layout
from vault.audit import GENESIS_HASH, AuditLog, canonical, record_hash
from vault.store import LocalStore, ObjectStore, S3Store

START = datetime(2026, 11, 28, 23, 58, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)  # the chain crosses midnight: two date partitions
        return self.now


def fill(log: AuditLog, tenant: str = "acme", count: int = 5) -> list[dict]:
    return [
        log.append(
            tenant,
            action="payload.get",
            principal="alice@example.com",
            grant_id="0" * 31 + str(i),
            reason="INC-42",
            asked={"tenant": tenant, "env": "prod", "trace_id": f"{i:032x}", "span_id": None},
            outcome="allowed" if i % 2 else "denied",
            rule=None if i % 2 else "expired",
        )
        for i in range(1, count + 1)
    ]


def keys_by_seq(store: ObjectStore, tenant: str = "acme") -> dict[int, str]:
    out = {}
    for info in store.list(layout.partition_prefix("audit", tenant)):
        out[int(info.key.rsplit("/", 1)[1].split("-", 1)[0])] = info.key
    return out


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_append_chains_records_and_verifies(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock())
    records = fill(log)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == GENESIS_HASH
    for previous, record in zip(records, records[1:]):
        assert record["prev_hash"] == record_hash(previous)
    keys = keys_by_seq(store)
    assert all(layout.parse_key(k) is not None for k in keys.values())
    assert any("date=2026-11-28" in k for k in keys.values()) and any("date=2026-11-29" in k for k in keys.values())
    assert json.loads(store.get(keys[3])) == records[2]
    report = log.verify("acme")
    assert report.ok and report.records == 5 and (report.first_seq, report.last_seq) == (1, 5)
    # Chains are per tenant.
    assert AuditLog(store).verify("globex").records == 0
    assert fill(log, "globex", 1)[0]["seq"] == 1


def test_a_second_instance_continues_the_chain(store: LocalStore, tmp_path: Path) -> None:
    fill(AuditLog(store, clock=Clock()), count=2)
    other = AuditLog(LocalStore(tmp_path / "store"), clock=Clock(START + timedelta(hours=1)))
    assert fill(other, count=1)[0]["seq"] == 3
    assert other.verify("acme").ok


def test_show_since(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock())
    fill(log)
    assert [r["seq"] for r in log.show("acme")] == [1, 2, 3, 4, 5]
    assert [r["seq"] for r in log.show("acme", since=START + timedelta(minutes=3))] == [3, 4, 5]
    assert log.show("acme", since=START + timedelta(days=2)) == []


def _edit(store: ObjectStore, key: str, **changes) -> None:
    record = json.loads(store.get(key))
    record.update(changes)
    store.put(key, canonical(record) + b"\n")


TAMPERING = [
    ("edited outcome", lambda s, k: _edit(s, k[2], outcome="allowed", rule=None), 2, "edited"),
    ("edited principal", lambda s, k: _edit(s, k[3], principal="mallory"), 3, "edited"),
    ("deleted middle record", lambda s, k: s.delete_many([k[3]]), 3, "missing"),
    ("deleted last record", lambda s, k: s.delete_many([k[5]]), 5, "missing"),
    ("reordered (contents swapped)", lambda s, k: _swap(s, k[2], k[4]), 2, "out of order"),
    ("edited last record", lambda s, k: _edit(s, k[5], reason="nothing to see"), 5, "edited"),
    ("forked (a record copied under its seq)", lambda s, k: s.put(k[4].replace(k[4].rsplit("-", 1)[1], "0123456789abcdef.jsonl"), s.get(k[4])), 4, "forked"),
    ("not JSON any more", lambda s, k: s.put(k[1], b"{oops"), 1, "unreadable"),
]


def _swap(store: ObjectStore, a: str, b: str) -> None:
    first, second = store.get(a), store.get(b)
    store.put(a, second)
    store.put(b, first)


@pytest.mark.parametrize(("tamper", "seq", "word"), [t[1:] for t in TAMPERING], ids=[t[0] for t in TAMPERING])
def test_verify_detects_tampering_and_names_the_seq(store: LocalStore, tamper, seq: int, word: str) -> None:
    log = AuditLog(store, clock=Clock())
    fill(log)
    tamper(store, keys_by_seq(store))
    report = log.verify("acme")
    assert not report.ok
    assert any(p.seq == seq and word in p.problem for p in report.problems), [str(p) for p in report.problems]


def test_a_deletion_stays_detectable_after_later_appends(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock())
    fill(log)
    store.delete_many([keys_by_seq(store)[5]])
    fill(log, count=1)  # continues from the committed head: seq 6, chained to the deleted seq 5
    report = log.verify("acme")
    assert any(p.seq == 5 and "missing" in p.problem for p in report.problems)


def test_expired_start_is_a_note_not_a_failure(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock())
    fill(log)
    keys = keys_by_seq(store)
    store.delete_many([keys[1], keys[2]])  # what retention does to old partitions
    report = log.verify("acme")
    assert report.ok and report.first_seq == 3
    assert any("starts at seq 3" in note for note in report.notes)
    store.delete_many(list(keys.values()))  # an idle tenant whose every partition expired
    report = log.verify("acme")
    assert report.ok and report.records == 0 and any("reached seq 5" in note for note in report.notes)
    assert fill(log, count=1)[0]["seq"] == 6, "the chain goes on from the head"


def test_a_crash_between_head_and_record_is_recovered(store: LocalStore) -> None:
    class FailingStore(LocalStore):
        fail = False

        def put(self, key: str, data: bytes) -> None:
            if self.fail and key.startswith("audit/"):
                raise OSError("crash")
            super().put(key, data)

    failing = FailingStore(store.root)
    log = AuditLog(failing, clock=Clock())
    fill(log, count=2)
    failing.fail = True
    with pytest.raises(OSError):
        fill(log, count=1)
    failing.fail = False
    assert fill(log, count=1)[0]["seq"] == 3, "the pending record never landed: its seq is reused"
    assert log.verify("acme").ok


def test_records_outside_the_chain_are_noted(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock())
    fill(log, count=2)
    store.put(layout.audit_key("acme", START.date(), "erase-0123abcd"), b'{"event":"erase","time":"2026-11-28T23:59:30+00:00"}\n')
    report = log.verify("acme")
    assert report.ok and any("outside the hash chain" in note for note in report.notes)
    assert len(log.show("acme")) == 3


def test_only_metadata_fields_are_accepted(store: LocalStore) -> None:
    log = AuditLog(store)
    with pytest.raises(ValueError, match="payload"):
        log.append("acme", outcome="allowed", payload={"text": "secret"})
    with pytest.raises(ValueError, match="asked"):
        log.append("acme", outcome="allowed", asked={"content": "secret"})
    with pytest.raises(ValueError, match="outcome"):
        log.append("acme", outcome="maybe")
    with pytest.raises(ValueError):
        log.append("../x", outcome="allowed")
    assert list(store.list("audit/")) == []


def test_chain_on_s3(moto_endpoint: str, s3_bucket: str) -> None:
    s3 = S3Store(s3_bucket, "vault", endpoint_url=moto_endpoint, region="us-east-1")
    log = AuditLog(s3, clock=Clock())
    fill(log, count=3)
    assert log.verify("acme").ok
    s3.delete_many([keys_by_seq(s3)[2]])
    assert [p.seq for p in log.verify("acme").problems] == [2]
