"""`tracevault erase` removes the evaluation rows (``evaluations/``) that judge the erased spans,
on both stores, read back from the Parquet itself; the others' evaluations stay."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from redactors.batch import RedactedBatch
from retention.erase import erase_user
from sidecar.cli import main
from tests.redactors.otlp_builders import make_request, make_span
from tests.retention.support import FaultyStore, Killed, Vault, pseudonym
from vault import layout
from vault.audit import AuditLog
from vault.evaluations import EVALUATION_EVENT, rows_to_parquet

DAY1 = datetime(2026, 3, 1, 10, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 10, tzinfo=UTC)
ALICE = "alice@example.org"
BOB = "bob-7731"


def judged_span(user: str | None, judge: str, name: str = "chat gpt-4o-mini"):  # noqa: ANN201
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
    if user is not None:
        attributes["user.id"] = pseudonym("acme", user)
    return make_span(
        name=name,
        attributes=attributes,
        events=[(EVALUATION_EVENT, {"gen_ai.evaluation.name": judge, "gen_ai.evaluation.score.value": 0.5})],
    )


class Story:
    """Alice's trace (her span and an unlabelled child, each judged), Bob's judged span, and a
    day on which only Alice was judged; plus an evaluation of Alice's trace sent on its own (as
    a log record would be: a trace id, no span id, in a file of its own)."""

    def __init__(self, vault: Vault) -> None:
        self.alice = judged_span(ALICE, "alice_own")
        self.child = judged_span(None, "alice_child", name="execute_tool lookup")
        self.child.trace_id, self.child.parent_span_id = self.alice.trace_id, self.alice.span_id
        self.bob = judged_span(BOB, "bob_own")
        self.alice_day2 = judged_span(ALICE, "alice_day2")
        vault.ingest(
            RedactedBatch("acme", "prod", make_request([self.alice, self.child, self.bob]), 3, DAY1, "redacted", None),
            RedactedBatch("acme", "prod", make_request([self.alice_day2]), 1, DAY2, "redacted", None),
        )
        loose = {"tenant": "acme", "env": "prod", "trace_id": self.alice.trace_id.hex(), "span_id": None, "name": "alice_trace",
                 "score_value": 1.0, "source": "log_record", "received_at": DAY1}
        bob_loose = {**loose, "trace_id": self.bob.trace_id.hex(), "name": "bob_trace"}
        vault.store.put(layout.evaluations_key("acme", "prod", DAY1.date(), "logs-0001"), rows_to_parquet([loose, bob_loose]))


def evaluation_names(vault: Vault) -> list[str]:
    """Every evaluations row in the store, read from the Parquet bytes with pyarrow, then queried with duckdb."""
    tables = [pq.read_table(io.BytesIO(vault.store.get(key))) for key in vault.keys("evaluations/")]
    rows = pa.concat_tables(tables) if tables else pa.table({"name": pa.array([], pa.string())})  # noqa: F841 - read by duckdb
    return sorted(name for (name,) in duckdb.sql("select name from rows").fetchall())


def erase(vault: Vault, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["erase", "--config", vault.config_file, "--tenant", "acme", "--user-id", ALICE, *args])


def test_the_story_is_stored(vault: Vault) -> None:
    Story(vault)
    assert evaluation_names(vault) == ["alice_child", "alice_day2", "alice_own", "alice_trace", "bob_own", "bob_trace"]


@pytest.mark.parametrize(
    ("flags", "left"),
    [
        ([], ["bob_own", "bob_trace"]),
        # Only the spans that carry her id: the child's judgement and the trace-level one stay with the trace.
        (["--spans-only"], ["alice_child", "alice_trace", "bob_own", "bob_trace"]),
    ],
    ids=["whole-traces", "spans-only"],
)
def test_erasure_removes_the_evaluations_of_the_erased_spans(vault: Vault, flags: list[str], left: list[str]) -> None:
    story = Story(vault)
    day2_evaluations = layout.evaluations_key("acme", "prod", DAY2.date(), "x").rsplit("/", 1)[0] + "/"

    result = erase(vault, *flags)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["complete"] and report["verified"]
    assert report["evaluations_rows_removed"] == 6 - len(left)
    assert report["evaluations_files_scanned"] == 3
    assert evaluation_names(vault) == left
    assert vault.keys(day2_evaluations) == [], "a file that held only her evaluation is deleted"
    (record,) = [r for r in AuditLog(vault.store).show("acme") if r["action"] == "subject.erase"]
    assert record["spans"]["evaluations_rows_removed"] == 6 - len(left)
    # Bob's span is still judged by the row that names his span.
    (bob_row,) = [r for key in vault.keys("evaluations/") for r in pq.read_table(io.BytesIO(vault.store.get(key))).to_pylist() if r["name"] == "bob_own"]
    assert (bob_row["trace_id"], bob_row["span_id"]) == (story.bob.trace_id.hex(), story.bob.span_id.hex())

    again = erase(vault, *flags)
    assert again.exit_code == 0 and json.loads(again.stdout)["evaluations_rows_removed"] == 0


def test_dry_run_counts_the_evaluations_and_changes_nothing(vault: Vault) -> None:
    Story(vault)
    before = vault.snapshot()
    result = erase(vault, "--dry-run")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["evaluations_rows_removed"] == 4 and report["evaluations_files_rewritten"] == 3
    assert vault.snapshot() == before


def test_a_crash_while_rewriting_evaluations_is_finished_by_a_rerun(vault: Vault) -> None:
    """Evaluations are rewritten before the metrics: after a crash there, her metrics rows are
    still in the store and lead a re-run to the evaluation rows."""
    Story(vault)
    alice = pseudonym("acme", ALICE)

    def kill(call: int, key: str) -> None:
        if key.startswith("evaluations/"):
            raise Killed()

    with pytest.raises(Killed):
        erase_user(FaultyStore(vault.store, put=kill, delete_many=lambda call, keys: kill(call, keys[0])), "acme", alice, threads=1)
    rows = [r for key in vault.keys("metrics/") for r in pq.read_table(io.BytesIO(vault.store.get(key))).to_pylist()]
    assert alice in {r["user_hash"] for r in rows}, "the metrics rows were not touched before the evaluations"

    report = erase_user(vault.store, "acme", alice)
    assert report.complete and report.verified
    assert evaluation_names(vault) == ["bob_own", "bob_trace"]
