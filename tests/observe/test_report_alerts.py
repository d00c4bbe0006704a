"""`tracevault report` and `tracevault alerts check` as real processes over the observed store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.workload import REALISTIC, generate
from tests.observe.conftest import NOW, STEADY_TRACES, WORKLOAD_TRACES, ObservedStore

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ("latency_by_span", "ttft_tpot", "cost_per_day", "rates", "retrieval_scores", "language_mix", "waterfall")
ALERTS = {"ttft_p95_doubled", "tpot_p95_increased", "refusal_rate_spiked", "cost_per_task_rose", "tool_failures_rose", "retrieval_score_dropped"}


def tracevault(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sidecar.cli.app", *args, "--config", str(config)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def report_json(observed_store: ObservedStore) -> dict:
    done = tracevault("report", "--tenant", "acme", "--since", "2025-12-31", "--until", NOW.isoformat(), "--format", "json", config=observed_store.config_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_report_json_answers_the_tutorial_questions(report_json: dict, observed_store: ObservedStore) -> None:
    sections = report_json["sections"]
    assert report_json["rows"] == WORKLOAD_TRACES * 9 + 2 * STEADY_TRACES * 4
    spans = {r["name"]: r["spans"] for r in sections["latency_by_span"]}
    assert spans["chat gpt-4o"] == 2 * STEADY_TRACES and spans["model.call"] == WORKLOAD_TRACES
    days = {r["day"]: r for r in sections["ttft_tpot"]}
    assert days["2026-01-02"]["ttft_p95_ms"] == pytest.approx(600)
    assert [r["day"] for r in sections["cost_per_day"]] == ["2026-01-01", "2026-01-02"]
    assert {r["language"] for r in sections["language_mix"]} >= {"en", "fr", "es", "de"}
    assert sections["evaluations"][0]["name"] == "relevance"
    assert observed_store.workload_trace in report_json["traces"]
    waterfall = report_json["traces"][observed_store.regressed_trace]
    assert [s["name"] for s in waterfall] == ["orchestrator.route", "retrieval.vector_search", "chat gpt-4o", "execute_tool track_parcel"]
    assert waterfall[0]["offset_ms"] == 0 and waterfall[2]["offset_ms"] == pytest.approx(300)


def test_report_window_excludes_other_spans(observed_store: ObservedStore) -> None:
    done = tracevault("report", "--tenant", "acme", "--since", "2026-01-02T00:00:00", "--until", NOW.isoformat(), "--format", "json",
                      config=observed_store.config_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["rows"] == STEADY_TRACES * 4


def test_report_table(observed_store: ObservedStore) -> None:
    done = tracevault("report", "--tenant", "globex", "--since", "2025-12-31", "--until", NOW.isoformat(), config=observed_store.config_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "== Latency by span (ms)" in done.stdout and "chat gpt-4o" in done.stdout and "support_answer" in done.stdout


def test_report_html_is_self_contained_and_holds_no_content(observed_store: ObservedStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = tracevault("report", "--tenant", "acme", "--since", "2025-12-31", "--until", NOW.isoformat(), "--html", "--output", str(out),
                      "--trace", observed_store.workload_trace, config=observed_store.config_path)
    assert done.returncode == 0, done.stderr[-2000:]
    page = out.read_text()
    for chart in CHARTS:
        assert f'data-chart="{chart}"' in page
    # no fetch of anything: no src/href attributes, no URL other than the SVG namespace
    assert not re.search(r"\b(?:src|href)\s*=", page)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    workload = generate(REALISTIC, WORKLOAD_TRACES)
    for trace in workload.traces:
        assert trace.person.email not in page and trace.person.last not in page
        assert trace.user_turn[:40] not in page


def test_bad_arguments_are_clear(observed_store: ObservedStore) -> None:
    done = tracevault("report", "--tenant", "acme", "--since", "yesterday", config=observed_store.config_path)
    assert done.returncode == 2 and "ISO date" in done.stderr
    done = tracevault("report", "--tenant", "../etc", config=observed_store.config_path)
    assert done.returncode == 2


def alert_statuses(document: dict, tenant: str) -> dict[str, str]:
    return {v["alert"]: v["status"] for v in document["tenants"][tenant]}


def test_alerts_fire_for_the_regressed_tenant(observed_store: ObservedStore) -> None:
    done = tracevault("alerts", "check", "--tenant", "acme", "--now", NOW.isoformat(), config=observed_store.config_path)
    assert done.returncode == 3, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert alert_statuses(document, "acme") == dict.fromkeys(ALERTS, "firing")
    assert document["firing"] == len(ALERTS)
    ttft = next(v for v in document["tenants"]["acme"] if v["alert"] == "ttft_p95_doubled")
    assert ttft["window"] == pytest.approx(600) and ttft["baseline"] == pytest.approx(200) and ttft["threshold"] == 2.0


def test_alerts_stay_quiet_for_a_steady_tenant(observed_store: ObservedStore) -> None:
    done = tracevault("alerts", "check", "--tenant", "globex", "--now", NOW.isoformat(), config=observed_store.config_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert alert_statuses(json.loads(done.stdout), "globex") == dict.fromkeys(ALERTS, "ok")


def test_alerts_for_every_tenant_and_without_enough_data(observed_store: ObservedStore, tmp_path: Path) -> None:
    done = tracevault("alerts", "check", "--now", NOW.isoformat(), config=observed_store.config_path)
    assert done.returncode == 3
    assert set(json.loads(done.stdout)["tenants"]) == {"acme", "globex"}
    document = json.loads(observed_store.config_path.read_text())
    document["alerts"] = {"baseline_hours": 48, "min_samples": 10_000}
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps(document))
    done = tracevault("alerts", "check", "--tenant", "acme", "--now", NOW.isoformat(), config=strict)
    assert done.returncode == 0
    assert set(alert_statuses(json.loads(done.stdout), "acme").values()) == {"insufficient_data"}
