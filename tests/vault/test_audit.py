"""The audit chain: append, show, and verify detecting edited, deleted, reordered, forged and forked
records; its start checked against retention, its end anchored by the signed head; concurrent
appenders in real processes on the local store and on moto's S3 server never fork it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault import layout
from vault.audit import GENESIS_HASH, RECORD_NAME, AuditLog, audit_key, canonical, record_hash
from vault.store import LocalStore, ObjectStore, S3Store

START = datetime(2026, 11, 28, 23, 58, tzinfo=UTC)
KEY = audit_key(bytes(range(32)))
#: Verified shortly after the records were written, with the default audit retention.
SOON = START + timedelta(days=1)
AUDIT_DAYS = 730


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
    """seq -> key of the chain records (claims left out)."""
    out = {}
    for info in store.list(layout.partition_prefix("audit", tenant)):
        parsed = layout.parse_key(info.key)
        match = RECORD_NAME.fullmatch(parsed[1]) if parsed else None
        if match:
            out[int(match.group(1))] = info.key
    return out


def verify(log: AuditLog, tenant: str = "acme", now: datetime = SOON, audit_days: int | None = AUDIT_DAYS):
    return log.verify(tenant, audit_days=audit_days, now=now)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_append_chains_records_and_verifies(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
    records = fill(log)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == GENESIS_HASH
    for previous, record in zip(records, records[1:]):
        assert record["prev_hash"] == record_hash(previous)
    keys = keys_by_seq(store)
    assert all(layout.parse_key(k) is not None for k in keys.values())
    assert any("date=2026-11-28" in k for k in keys.values()) and any("date=2026-11-29" in k for k in keys.values())
    assert json.loads(store.get(keys[3])) == records[2]
    report = verify(log)
    assert report.ok and report.records == 5 and (report.first_seq, report.last_seq) == (1, 5)
    # Chains are per tenant.
    assert verify(AuditLog(store, key=KEY), "globex").records == 0
    assert fill(log, "globex", 1)[0]["seq"] == 1


def test_a_second_instance_continues_the_chain(store: LocalStore, tmp_path: Path) -> None:
    fill(AuditLog(store, clock=Clock(), key=KEY), count=2)
    other = AuditLog(LocalStore(tmp_path / "store"), clock=Clock(START + timedelta(hours=1)), key=KEY)
    assert fill(other, count=1)[0]["seq"] == 3
    assert verify(other).ok


def test_show_since(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
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
    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log)
    tamper(store, keys_by_seq(store))
    report = verify(log)
    assert not report.ok
    assert any(p.seq == seq and word in p.problem for p in report.problems), [str(p) for p in report.problems]


def test_a_deletion_stays_detectable_after_later_appends(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log)
    store.delete_many([keys_by_seq(store)[5]])
    fill(log, count=1)  # continues from the committed head: seq 6, chained to the deleted seq 5
    report = verify(log)
    assert any(p.seq == 5 and "missing" in p.problem for p in report.problems)


def _expire(store: ObjectStore, before: datetime) -> None:
    """What the retention sweep does: delete every audit object in a partition dated before ``before``."""
    due = [i.key for i in store.list("audit/") if (p := layout.parse_key(i.key)) and p[0].day < before.date()]
    store.delete_many(due)


def test_expired_start_is_a_note_not_a_failure(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log)  # seq 1 on 2026-11-28, 2..5 on 2026-11-29
    later = datetime(2026, 12, 1, tzinfo=UTC)
    _expire(store, START + timedelta(days=1))  # audit_days 2 on 2026-12-01: 2026-11-28 is due
    report = verify(log, now=later, audit_days=2)
    assert report.ok, [str(p) for p in report.problems]
    assert report.first_seq == 2 and any("seq 1 expired" in note for note in report.notes)
    _expire(store, later)  # an idle tenant whose every partition expired
    report = verify(log, now=later + timedelta(days=2), audit_days=2)
    assert report.ok and report.records == 0 and any("reached seq 5" in note for note in report.notes)
    assert fill(log, count=1)[0]["seq"] == 6, "the chain goes on from the head"


# (case, how many of the first records are deleted, now, audit_days, passes)
START_DELETIONS = [
    ("recent first two deleted, default retention", 2, SOON, AUDIT_DAYS, False),
    ("first one deleted, a day old, 30-day retention", 1, SOON, 30, False),
    ("first two deleted, no retention given", 2, SOON, None, False),
    ("first two deleted after they were due (benign twin)", 2, datetime(2026, 12, 2, tzinfo=UTC), 2, True),
    ("first one deleted when due, the second one not", 2, datetime(2026, 12, 1, tzinfo=UTC), 2, False),
]


@pytest.mark.parametrize(("count", "now", "days", "passes"), [c[1:] for c in START_DELETIONS], ids=[c[0] for c in START_DELETIONS])
def test_deleting_the_first_records_is_checked_against_retention(store: LocalStore, count: int, now: datetime, days: int | None, passes: bool) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log)
    keys = keys_by_seq(store)
    store.delete_many([keys[seq] for seq in range(1, count + 1)])
    report = verify(log, now=now, audit_days=days)
    assert report.ok is passes, [str(p) for p in report.problems]
    if not passes:
        assert any(p.seq == 1 and "missing" in p.problem and "deleted" in p.problem for p in report.problems)


# (case, tampering at the end of the chain, expected words)
END_TAMPERING = [
    ("last record and head deleted", lambda s, k: s.delete_many([k[5], AuditLog.head_key("acme")]), "head missing"),
    ("last two records and head deleted", lambda s, k: s.delete_many([k[4], k[5], AuditLog.head_key("acme")]), "head missing"),
    ("last record deleted, head rewritten unsigned", lambda s, k: (s.delete_many([k[5]]), _unsigned_head(s, k[4])), "head not signed"),
    ("forged record appended after the head", lambda s, k: _forge_next(s, k[5]), "not signed"),
]


def _unsigned_head(store: ObjectStore, key: str) -> None:
    record = json.loads(store.get(key))
    last = {"seq": record["seq"], "hash": record_hash(record), "key": key, "time": record["time"]}
    document = {"format": "tracevault.audit-head.v2", "tenant": "acme", "last": last}
    store.put(AuditLog.head_key("acme"), json.dumps(document).encode())


def _forge_next(store: ObjectStore, key: str) -> None:
    """A record chained correctly by someone without the audit key (no valid signature)."""
    previous = json.loads(store.get(key))
    record = {**previous, "seq": 6, "prev_hash": record_hash(previous), "prev_time": previous["time"], "principal": "mallory"}
    record.pop("mac")
    day = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).date()
    store.put(layout.audit_key("acme", day, f"{6:012d}-{record_hash(record)[:16]}"), canonical(record) + b"\n")


@pytest.mark.parametrize(("tamper", "words"), [c[1:] for c in END_TAMPERING], ids=[c[0] for c in END_TAMPERING])
def test_the_end_of_the_chain_is_anchored(store: LocalStore, tamper, words: str) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log)
    assert verify(log).ok, "the benign twin: untouched, it passes"
    tamper(store, keys_by_seq(store))
    report = verify(log)
    assert not report.ok and any(words in p.problem for p in report.problems), [str(p) for p in report.problems]


def test_a_forged_record_outside_the_chain_pattern_fails_and_is_not_shown(store: LocalStore) -> None:
    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log, count=2)
    forged = {"seq": 0, "time": "2026-11-28T23:59:30Z", "tenant": "acme", "action": "payload.get", "principal": "auditor", "outcome": "allowed"}
    key = layout.audit_key("acme", START.date(), "erase-0123abcd")
    store.put(key, canonical(forged) + b"\n")
    report = verify(log)
    assert not report.ok and any(key in p.problem and "not a chain record" in p.problem for p in report.problems)
    listing = log.read("acme")
    assert [r["seq"] for r in listing.records] == [1, 2] and listing.skipped == 1
    assert all(r.get("principal") != "auditor" for r in log.show("acme"))


class FailingStore(LocalStore):
    fail: str | None = None  # "claim" or "record"

    def put_if_absent(self, key: str, data: bytes) -> bool:
        if self.fail == "claim":
            raise OSError("crash")
        return super().put_if_absent(key, data)

    def put(self, key: str, data: bytes) -> None:
        if self.fail == "record" and key.startswith("audit/"):
            raise OSError("crash")
        super().put(key, data)


def test_a_crash_before_the_claim_reuses_the_seq(store: LocalStore) -> None:
    failing = FailingStore(store.root)
    log = AuditLog(failing, clock=Clock(), key=KEY)
    fill(log, count=2)
    failing.fail = "claim"
    with pytest.raises(OSError):
        fill(log, count=1)
    failing.fail = None
    assert fill(log, count=1)[0]["seq"] == 3, "nothing was claimed: the seq is reused"
    assert verify(log).ok


def test_a_crash_after_the_claim_is_completed_by_the_next_append(store: LocalStore) -> None:
    failing = FailingStore(store.root)
    log = AuditLog(failing, clock=Clock(), key=KEY)
    fill(log, count=2)
    failing.fail = "record"
    with pytest.raises(OSError):
        fill(log, count=1)
    assert 3 not in keys_by_seq(store)
    assert not verify(log).ok, "until an append completes it, the claimed record is missing"
    failing.fail = None
    assert fill(log, count=1)[0]["seq"] == 4, "seq 3 was written out from its claim"
    assert sorted(keys_by_seq(store)) == [1, 2, 3, 4]
    assert verify(log).ok


def test_records_without_the_key_after_signed_ones_fail(store: LocalStore) -> None:
    fill(AuditLog(store, clock=Clock(), key=KEY), count=2)
    fill(AuditLog(store, clock=Clock(START + timedelta(hours=1))), count=1)  # an appender without the master secret
    report = verify(AuditLog(store, key=KEY))
    assert any(p.seq == 3 and "not signed" in p.problem for p in report.problems)
    assert not verify(AuditLog(store, key=audit_key(b"another master secret, 32 bytes!"))).ok, "another key verifies nothing"


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
    log = AuditLog(s3, clock=Clock(), key=KEY)
    fill(log, count=3)
    assert verify(log).ok
    s3.delete_many([keys_by_seq(s3)[2]])
    assert [p.seq for p in verify(log).problems] == [2]


# -- concurrent appenders: real processes ----------------------------------------------------------

PROCESSES = 4
APPENDS = 25


def _open(spec: tuple[str, ...]) -> ObjectStore:
    if spec[0] == "local":
        return LocalStore(spec[1])
    return S3Store(spec[1], "vault", endpoint_url=spec[2], region="us-east-1")


def _appender(spec: tuple[str, ...], me: int, barrier, results) -> None:  # noqa: ANN001 - multiprocessing objects
    log = AuditLog(_open(spec), key=KEY)
    barrier.wait(60)
    seqs = [
        log.append("acme", action="payload.get", principal=f"worker-{me}", reason=f"append {i}", outcome="allowed", asked={"tenant": "acme"})["seq"]
        for i in range(APPENDS)
    ]
    results.put((me, seqs, log.races_lost))


def _race(spec: tuple[str, ...]) -> tuple[dict[int, list[int]], int]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=_appender, args=(spec, me, barrier, results)) for me in range(PROCESSES)]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    return {me: seqs for me, seqs, _ in collected}, sum(lost for _, _, lost in collected)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_concurrent_appenders_in_processes_never_fork(where: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if where == "local":
        spec: tuple[str, ...] = ("local", str(tmp_path / "store"))
    else:
        spec = ("s3", request.getfixturevalue("s3_bucket"), request.getfixturevalue("moto_endpoint"))
    store = _open(spec)
    by_worker, races_lost = _race(spec)
    every = sorted(seq for seqs in by_worker.values() for seq in seqs)
    assert every == list(range(1, PROCESSES * APPENDS + 1)), "each append got its own seq: no fork, no gap"
    assert sorted(keys_by_seq(store)) == every
    report = verify(AuditLog(store, key=KEY), now=datetime.now(UTC))
    assert report.ok, [str(p) for p in report.problems]
    assert report.records == PROCESSES * APPENDS
    print(f"{where}: {PROCESSES} processes x {APPENDS} appends, {races_lost} races lost and retried, 0 forks")  # noqa: T201


def test_a_damaged_claim_stops_appends_as_a_store_error(store: LocalStore) -> None:
    from vault.audit import claim_key
    from vault.store import StoreError

    log = AuditLog(store, clock=Clock(), key=KEY)
    fill(log, count=2)
    store.put(claim_key("acme", 3, keys_by_seq(store)[2]), b"not a record")
    with pytest.raises(StoreError, match="claim of audit seq 3"):
        fill(log, count=1)
    report = verify(log)
    assert any(p.seq == 3 and "unreadable claim" in p.problem for p in report.problems)
