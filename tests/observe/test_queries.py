"""Every shipped view runs on DuckDB over a store written by the real server, with the answers
the generated traffic implies."""

from __future__ import annotations

from datetime import date

import pytest

from observe.queries import connect, connect_hive, load_evaluations, load_metrics, view_names
from tests.observe.conftest import STEADY_TRACES, WORKLOAD_TRACES, ObservedStore
from vault.store import LocalStore

EXPECTED_VIEWS = {
    "latency_by_span", "ttft_tpot_by_model_day", "tokens_per_s", "error_retry_rate", "cost_per_request", "cost_per_trace",
    "cost_per_day", "cost_per_feature", "cache_hit_rate", "tool_failure_rate", "refusal_rate", "language_mix", "output_length",
    "retrieval_scores", "redactions_by_type", "evaluation_scores",
}


def rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def hive(observed_store: ObservedStore):
    return connect_hive(observed_store.root)


def test_every_view_is_shipped_and_runs(hive) -> None:
    assert set(view_names()) == EXPECTED_VIEWS
    for name in view_names():
        assert hive.execute(f"select count(*) from {name}").fetchone()[0] > 0, name


def test_latency_by_span_has_tail_percentiles(hive) -> None:
    by_name = {r["name"]: r for r in rows(hive, "select * from latency_by_span")}
    chat = by_name["chat gpt-4o"]
    assert chat["spans"] == 4 * STEADY_TRACES
    assert chat["p50_ms"] <= chat["p95_ms"] <= chat["p99_ms"]
    assert by_name["retrieval.vector_search"]["spans"] == WORKLOAD_TRACES + 4 * STEADY_TRACES  # the workload's and ours


def test_ttft_and_tpot_by_model_and_day(hive) -> None:
    got = {(r["day"], r["model"]): r for r in rows(hive, "select * from ttft_tpot_by_model_day")}
    baseline, window = got[(date(2026, 1, 1), "gpt-4o")], got[(date(2026, 1, 2), "gpt-4o")]
    assert baseline["ttft_p95_ms"] == pytest.approx(200) and baseline["tpot_p95_ms"] == pytest.approx(20)
    assert window["ttft_p95_ms"] == pytest.approx(600) and window["tpot_p95_ms"] == pytest.approx(40)


def test_rates(hive) -> None:
    tools = {r["day"]: r for r in rows(hive, "select day, sum(calls) calls, sum(failures) failures from tool_failure_rate group by day")}
    assert tools[date(2026, 1, 2)]["failures"] == 2 * STEADY_TRACES // 5
    refusals = {r["day"]: r for r in rows(hive, "select * from refusal_rate where model = 'gpt-4o'")}
    assert refusals[date(2026, 1, 1)]["refusals"] == 0
    assert refusals[date(2026, 1, 2)]["refusal_rate"] == pytest.approx((2 * STEADY_TRACES // 5) / (2 * STEADY_TRACES))
    errors = {r["day"]: r for r in rows(hive, "select * from error_retry_rate")}
    assert errors[date(2026, 1, 2)]["retried_spans"] == len(range(0, STEADY_TRACES, 4))
    languages = {r["language"]: r["calls"] for r in rows(hive, "select language, sum(calls) calls from language_mix group by 1")}
    expected = {code: 4 * sum(1 for i in range(STEADY_TRACES) if i % 4 == k) for k, code in enumerate(("en", "fr", "es", "de"))}
    assert {code: languages[code] for code in ("fr", "es", "de")} == {code: expected[code] for code in ("fr", "es", "de")}
    assert languages["en"] > expected["en"]  # and the workload's English user turns


def test_costs_and_retrieval(hive) -> None:
    per_feature = {r["feature"]: r for r in rows(hive, "select * from cost_per_feature")}
    assert per_feature["support_answer"]["traces"] == 4 * STEADY_TRACES
    per_day = {r["day"]: r["cost_per_trace_usd"] for r in rows(hive, "select * from cost_per_day")}
    assert per_day[date(2026, 1, 2)] > per_day[date(2026, 1, 1)] > 0
    scores = {r["day"]: r for r in rows(hive, "select * from retrieval_scores")}
    assert scores[date(2026, 1, 2)]["mean_score"] < scores[date(2026, 1, 1)]["mean_score"]
    redactions = {r["entity"] for r in rows(hive, "select * from redactions_by_type")}
    assert "EMAIL_ADDRESS" in redactions  # the workload's user turns carry emails


def test_the_same_views_over_tables_read_through_the_store(observed_store: ObservedStore) -> None:
    store = LocalStore(observed_store.root)
    con = connect(load_metrics(store, "globex", None, None), load_evaluations(store, "globex", None, None))
    assert rows(con, "select sum(spans) n from latency_by_span")[0]["n"] == 2 * 4 * STEADY_TRACES
    scores = rows(con, "select name, sum(results) n from evaluation_scores group by 1")
    assert scores == [{"name": "relevance", "n": 2 * STEADY_TRACES}]
