"""The benchmark report, split out of bench/run.py: the same text as before the split.

`report_expected.txt` was rendered by the original single `build_report` from the document in
`report_fixture.py`; every section is present (rows, end to end, in-process, targets, detection).
"""

from __future__ import annotations

from pathlib import Path

from bench.report import build_report, evaluate_targets
from tests.bench.report_fixture import results

EXPECTED = Path(__file__).with_name("report_expected.txt")


def test_report_text_is_unchanged_by_the_split() -> None:
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
    assert "redactors.evaluate targets: MISSED: PERSON recall" in text
    verdicts = {t["name"]: t["ok"] for t in document["targets"]}
    assert verdicts["p99 ack latency <= 1 s at half max throughput"] is None
    assert verdicts["dev corpus targets (redactors.evaluate)"] is False
