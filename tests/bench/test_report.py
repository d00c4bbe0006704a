"""The benchmark report from a complete results document.

`report_expected.txt` was rendered by the original single `build_report` from the document in
`report_fixture.py` and extended, with issue 17, by the per-core columns, the mixed workload and
the batch CLI; every section is present (rows, end to end, batch CLI, in-process, targets, detection).
"""

from __future__ import annotations

from pathlib import Path

from bench.report import build_report, evaluate_targets
from tests.bench.report_fixture import results

EXPECTED = Path(__file__).with_name("report_expected.txt")


def test_report_text_matches_the_fixture() -> None:
    document = results()
    document["targets"] = evaluate_targets(document)
    assert build_report(document) == EXPECTED.read_text(encoding="utf-8")


def test_report_without_an_end_to_end_run() -> None:
    document = results()
    document["e2e"] = None
    document["detection"]["tracevault"]["missed_targets"] = ["PERSON recall"]
    document["targets"] = evaluate_targets(document)
    text = build_report(document)
    assert "end to end (tracevault serve" not in text
    assert "bench.eval.evaluate targets: MISSED: PERSON recall" in text
    verdicts = {t["name"]: t["ok"] for t in document["targets"]}
    assert verdicts["p99 ack latency <= 1 s at half max throughput"] is None
    assert verdicts["dev corpus targets (bench.eval.evaluate)"] is False


def test_mixed_targets_use_the_batch_cli_per_core_and_the_rss_growth() -> None:
    document = results()
    targets = {t["name"]: t for t in evaluate_targets(document)}
    per_core = targets["mixed, batch CLI spans/CPU-s >= 10x naive (paired median)"]
    assert per_core["value"] == 11.1 and per_core["ok"] is True
    assert targets["mixed, batch CLI wall spans/s >= 18x naive (paired median)"]["ok"] is True
    growth = targets["  ... and the same for a 10x larger input (<= 1.25x)"]
    assert growth["value"] == 720 / 700 and growth["ok"] is True
    by = {row["key"]: row for row in document["rows"]}
    by["cli_patterns_large"]["notes"]["peak_rss"]["total_bytes"] = 3 * 1024**3  # memory grew with the input
    by["cli_mixed"]["x_naive_cpu"] = 4.2
    targets = {t["name"]: t for t in evaluate_targets(document)}
    assert targets["mixed, batch CLI spans/CPU-s >= 10x naive (paired median)"]["ok"] is False
    assert targets["batch CLI peak RSS <= 2 GiB (patterns-only, larger input)"]["ok"] is False
    assert targets["  ... and the same for a 10x larger input (<= 1.25x)"]["ok"] is False
