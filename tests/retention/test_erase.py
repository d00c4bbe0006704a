"""`tracevault erase`: no record of the user is left (metrics rows, payload frames, spool); the
others' data is intact and readable; idempotent; a crash leaves old or new objects only."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from redactors.batch import SIGNAL_TRACES, SIGNALS
from retention.erase import erase_user
from sidecar.cli import main
from tests.redactors.otlp_builders import make_span
from tests.retention.support import CONTENT, TABLE, FaultyStore, Killed, Vault, make_batch, pseudonym
from tests.vault.logs_builders import genai_log, logs_batch, make_log
from vault import layout
from vault.audit import AuditLog
from vault.reader import VaultReader
from vault.segment import PayloadRef, decode_frame, parse_segment

DAY1 = datetime(2026, 3, 1, 10, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 10, tzinfo=UTC)
ALICE = "alice@example.org"
BOB = "bob-7731"


def populate(vault: Vault, signal: str = SIGNAL_TRACES) -> None:
    """Spans, or (signal logs) log records, of Alice and Bob."""
    vault.ingest(
        make_batch("acme", DAY1, [ALICE, BOB, ALICE, BOB], signal=signal),
        make_batch("acme", DAY1, [BOB, ALICE], env="dev", signal=signal),
        make_batch("globex", DAY1, [ALICE, BOB], signal=signal),  # the same person at another tenant: out of scope
    )
    vault.ingest(make_batch("acme", DAY2, [ALICE], signal=signal))  # a segment and a Parquet file of hers alone
    vault.ingest(make_batch("acme", DAY2, [BOB, BOB], signal=signal))


def metrics_rows(vault: Vault) -> list[dict]:
    """Every row of every Parquet file of both record tables, read directly (not through the reader)."""
    rows = []
    for table in layout.RECORD_TABLES:
        for key in vault.keys(f"{table}/"):
            rows.extend(pq.read_table(io.BytesIO(vault.store.get(key))).to_pylist())
    return rows


def frames_of(vault: Vault, tenant: str, user: str) -> list[bytes]:
    """The sealed bytes (nonce + ciphertext) of the user's payload frames."""
    out = []
    for row in metrics_rows(vault):
        if row["tenant"] == tenant and row["user_hash"] == pseudonym(tenant, user):
            ref = PayloadRef.parse(row["payload_ref"])
            out.append(decode_frame(vault.store.get_range(ref.object_key, ref.offset, ref.length)).sealed)
    return out


def erase(vault: Vault, *args: str, user: str = ALICE, tenant: str = "acme"):
    return CliRunner().invoke(main, ["erase", "--config", vault.config_file, "--tenant", tenant, "--user-id", user, *args])


@pytest.mark.parametrize("signal", SIGNALS)
def test_erasure_leaves_no_record_of_the_user(vault: Vault, signal: str) -> None:
    populate(vault, signal)
    alice = pseudonym("acme", ALICE)
    alice_frames = frames_of(vault, "acme", ALICE)
    assert len(alice_frames) == 4
    globex_before = {k: v for k, v in vault.snapshot().items() if "tenant=globex" in k}
    bob_rows_before = sorted(r["span_id"] for r in metrics_rows(vault) if r["user_hash"] == pseudonym("acme", BOB))

    result = erase(vault)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["complete"] and report["verified"]
    assert report["metrics_rows_removed"] == 4 and report["payload_records_removed"] == 4
    assert report["payload_segments_rewritten"] == 3 and report["metrics_files_rewritten"] == 3
    assert report["objects_deleted"] == 2, "DAY2's file held only her span: its Parquet and segment are gone"
    assert report["pseudonym"] == alice and ALICE not in result.output

    # Metrics: no row of hers anywhere; Bob's rows all still there.
    rows = metrics_rows(vault)
    assert alice not in {r["user_hash"] for r in rows}
    assert sorted(r["span_id"] for r in rows if r["user_hash"] == pseudonym("acme", BOB)) == bob_rows_before
    # Payloads: none of her ciphertext bytes are left in any object, and the indexes no longer list her frames.
    snapshot = vault.snapshot()
    for sealed in alice_frames:
        assert not any(sealed in data for data in snapshot.values())
    for key, data in snapshot.items():
        if key.endswith(".tvseg") and "tenant=acme" in key:
            header, frames = parse_segment(data)
            assert len(frames) == len(header.index) > 0
    # Everyone else still decrypts, at the offsets their rows recorded.
    reader = VaultReader(vault.store, vault.keyring())
    for row in reader.read_metrics("acme", table=TABLE[signal]).to_pylist():
        assert reader.payload(row["payload_ref"])[CONTENT[signal]]["spanId"] == row["span_id"]
    # The other tenant is byte for byte untouched.
    assert {k: v for k, v in snapshot.items() if "tenant=globex" in k} == globex_before

    # Audited with the pseudonym, never the raw id.
    (record,) = [r for r in AuditLog(vault.store).show("acme") if r["action"] == "subject.erase"]
    assert alice in record["reason"] and record["spans"]["metrics_rows_removed"] == 4 and record["outcome"] == "allowed"
    assert report["audit_key"] in snapshot
    assert not any(ALICE.encode() in data for data in snapshot.values())

    # Idempotent: a second run finds nothing and changes nothing but the audit log.
    again = erase(vault)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["metrics_rows_removed"] == 0
    after = vault.snapshot()
    assert {k: v for k, v in after.items() if not k.startswith(("audit/", "access/"))} == {
        k: v for k, v in snapshot.items() if not k.startswith(("audit/", "access/"))
    }


def test_dry_run_changes_nothing(vault: Vault) -> None:
    populate(vault)
    before = vault.snapshot()
    result = erase(vault, "--dry-run")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] and report["metrics_rows_removed"] == 4 and report["payload_records_removed"] == 4
    assert report["audit_key"] is None
    assert vault.snapshot() == before


@pytest.mark.parametrize("signal", SIGNALS)
def test_records_waiting_in_the_spool_are_reported_then_erased_after_the_flush(vault: Vault, signal: str) -> None:
    populate(vault, signal)
    sink = vault.sink()  # the sidecar's spool: the config's spool dir, as the CLI sees it
    asyncio.run(sink.export(make_batch("acme", DAY2, [ALICE, BOB], signal=signal)))  # acknowledged, not yet flushed

    pending = erase(vault)
    assert pending.exit_code == 1
    report = json.loads(pending.stdout)
    assert report["spool"]["pending_records"] == 1 and report["spool"]["files"]
    assert report["metrics_rows_removed"] == 4, "what is in the store is erased already"
    assert "still in the spool" in pending.stderr

    asyncio.run(sink.flush())
    assert pseudonym("acme", ALICE) in {r["user_hash"] for r in metrics_rows(vault)}, "the flush brought one back"
    done = erase(vault)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["metrics_rows_removed"] == 1
    assert pseudonym("acme", ALICE) not in {r["user_hash"] for r in metrics_rows(vault)}
    assert not list(vault.config.spool_dir().glob("*.wal"))


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("die_at", ["first-segment", "first-parquet"])
def test_crash_then_rerun(vault: Vault, die_at: str, signal: str) -> None:
    """A crash mid-way leaves whole objects (old or new), and a re-run finishes the erasure."""
    populate(vault, signal)
    alice = pseudonym("acme", ALICE)
    suffix = ".tvseg" if die_at == "first-segment" else ".parquet"

    def kill(call: int, key: str) -> None:
        if key.endswith(suffix):
            raise Killed()

    with pytest.raises(Killed):
        erase_user(FaultyStore(vault.store, put=kill), "acme", alice, threads=1)
    # Every object is whole: segments parse, Parquet files read.
    for key, data in vault.snapshot().items():
        if key.endswith(".tvseg"):
            parse_segment(data)
        elif key.endswith(".parquet"):
            pq.read_table(io.BytesIO(data))

    report = erase_user(vault.store, "acme", alice)
    assert report.complete and report.verified
    assert alice not in {r["user_hash"] for r in metrics_rows(vault)}
    reader = VaultReader(vault.store, vault.keyring())
    rows = reader.read_metrics("acme", table=TABLE[signal]).to_pylist()
    assert rows and all(reader.payload(row["payload_ref"]) for row in rows)


def test_user_id_from_stdin_and_unknown_user(vault: Vault) -> None:
    populate(vault)
    result = CliRunner().invoke(main, ["erase", "--config", vault.config_file, "--tenant", "acme", "--user-id", "-"], input="nobody-here\n")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["metrics_rows_removed"] == 0 and report["verified"]
    (record,) = [r for r in AuditLog(vault.store).show("acme") if r["action"] == "subject.erase"]
    assert record["outcome"] == "not_found"


ERASE_SCOPES = [
    ("default", [], True),
    ("whole-traces", ["--whole-traces"], True),  # accepted for compatibility: the default
    ("spans-only", ["--spans-only"], False),
]


@pytest.mark.parametrize(("flags", "whole"), [s[1:] for s in ERASE_SCOPES], ids=[s[0] for s in ERASE_SCOPES])
def test_whole_traces_by_default(vault: Vault, flags: list[str], whole: bool) -> None:
    """The model-call and tool spans of her trace carry her prompts without a user id: they go
    with her trace unless --spans-only is given. Bob's trace stays whole either way."""
    batch = make_batch("acme", DAY1, [ALICE, BOB])
    spans = batch.request.resource_spans[0].scope_spans[0].spans
    children = [
        make_span(name="chat gpt-4o-mini", attributes={"gen_ai.input.messages": '[{"role":"user","content":"her question, again"}]'}),
        make_span(name="execute_tool lookup", attributes={"gen_ai.tool.call.arguments": '{"q":"her question"}'}),
    ]
    bob_child = make_span(name="execute_tool lookup", attributes={"gen_ai.tool.call.arguments": '{"q":"his question"}'})
    for child in children:
        child.trace_id, child.parent_span_id = spans[0].trace_id, spans[0].span_id
    bob_child.trace_id, bob_child.parent_span_id = spans[1].trace_id, spans[1].span_id
    spans.extend([*children, bob_child])
    vault.ingest(batch)

    result = erase(vault, *flags)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["whole_traces"] is whole
    assert report["scope"].startswith("whole traces" if whole else "spans only")
    assert report["metrics_rows_removed"] == (3 if whole else 1)
    assert report["traces"] == (1 if whole else 0)
    left = {r["span_id"] for r in metrics_rows(vault)}
    for child in children:
        assert (child.span_id.hex() in left) is not whole
    assert {spans[1].span_id.hex(), bob_child.span_id.hex()} <= left, "Bob's trace in another trace stays"
    (record,) = [r for r in AuditLog(vault.store).show("acme") if r["action"] == "subject.erase"]
    assert record["spans"]["whole_traces"] is whole
    reader = VaultReader(vault.store, vault.keyring())
    for row in reader.read_metrics("acme").to_pylist():
        assert reader.payload(row["payload_ref"])


def test_contradictory_scope_flags_are_refused(vault: Vault) -> None:
    populate(vault)
    before = vault.snapshot()
    result = erase(vault, "--spans-only", "--whole-traces")
    assert result.exit_code == 2 and "contradict" in result.output
    assert vault.snapshot() == before


@pytest.mark.parametrize(("flags", "whole"), [s[1:] for s in ERASE_SCOPES], ids=[s[0] for s in ERASE_SCOPES])
def test_her_traces_take_their_log_records_and_her_log_records_take_their_traces(vault: Vault, flags: list[str], whole: bool) -> None:
    """Content events logged in her trace carry no user id; a log record with her user id sits in
    a trace whose span carries none. Whole traces: all of both go; spans only: what names her."""
    batch = make_batch("acme", DAY1, [ALICE, BOB])
    her_span, bob_span = batch.request.resource_spans[0].scope_spans[0].spans
    plain = make_span(name="chat gpt-4o-mini", attributes={"gen_ai.input.messages": "her other question"})
    events = [genai_log(her_span.trace_id, her_span.span_id, body="her question, logged") for _ in range(2)]
    her_log = genai_log(plain.trace_id, plain.span_id, user=pseudonym("acme", ALICE), body="her answer, logged")
    bob_log = genai_log(bob_span.trace_id, bob_span.span_id, body="his question, logged")
    batch.request.resource_spans[0].scope_spans[0].spans.append(plain)
    vault.ingest(batch, logs_batch("acme", [*events, her_log, bob_log, make_log(body="no trace, no user")], DAY1))

    result = erase(vault, *flags)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["complete"] and report["traces"] == (2 if whole else 0)
    assert report["metrics_rows_removed"] == (5 if whole else 2)  # her span and her log record, at least
    left = {(r.get("record_id") is not None, r["span_id"]) for r in metrics_rows(vault)}
    assert ((False, her_span.span_id.hex()) in left, (True, plain.span_id.hex()) in left) == (False, False)
    assert ((False, plain.span_id.hex()) in left) is not whole and ((True, her_span.span_id.hex()) in left) is not whole
    assert {(False, bob_span.span_id.hex()), (True, bob_span.span_id.hex()), (True, None)} <= left, "Bob's and the untied record stay"
    reader = VaultReader(vault.store, vault.keyring())
    texts = [json.dumps(reader.payload(r["payload_ref"])) for r in metrics_rows(vault)]
    assert not any("her answer" in text for text in texts), "her own log record goes in either scope"
    assert any("her question, logged" in text for text in texts) is not whole
    assert any("her other question" in text for text in texts) is not whole
    assert any("his question, logged" in text for text in texts)
