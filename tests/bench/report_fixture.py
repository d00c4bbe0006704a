"""A complete results document, as `python -m bench.run` writes it, for the report's tests."""

from __future__ import annotations

from typing import Any


def _row(key: str, label: str, sps: float | None, wps: float, x: float | None, cpu: float = 2.5, x_cpu: float | None = None,
         **notes: Any) -> dict[str, Any]:  # fmt: skip
    return {"key": key, "label": label, "spans": 400, "seconds": 2.5, "spans_per_s": sps, "words_per_s": wps,
            "complete": key != "ner_unique", "x_naive": x, "cpu_seconds": cpu, "spans_per_cpu_s": 400 / cpu,
            "x_naive_cpu": x if x_cpu is None else x_cpu, "notes": {"other_load_cores": 0.25, **notes}}  # fmt: skip


def _cli(name: str, sps: float, rss_mib: int, input_mib: int, x: float, x_cpu: float, leaks: dict[str, Any] | None = None,
         **more: Any) -> dict[str, Any]:  # fmt: skip
    notes = {"exit_code": 0, "input_bytes": input_mib * 1024**2, "other_load_cores": 0.1, "stderr_tail": [],
             "peak_rss": {"total_bytes": rss_mib * 1024**2, "command_bytes": 100 * 1024**2, "children_bytes": [(rss_mib - 100) * 1024**2]},
             **more}
    if leaks is not None:
        notes["workload_leaks"] = leaks
    return {"key": "", "name": name, "label": name, "spans": 1800, "seconds": 1800 / sps, "spans_per_s": sps, "words_per_s": sps * 230,
            "complete": True, "x_naive": x, "cpu_seconds": 1800 / sps * 1.8, "spans_per_cpu_s": sps / 1.8, "x_naive_cpu": x_cpu,
            "notes": notes}  # fmt: skip


def results() -> dict[str, Any]:
    rows = [
        _row("naive_realistic", "naive Presidio, realistic (1 process)", 20.0, 3000.0, 1.0, runs_words_per_s=[2900.0, 3000.0]),
        _row("naive_unique", "naive Presidio, unique (1 process)", 10.0, 3100.0, 1.0, runs_words_per_s=[3100.0, 3050.0]),
        _row("naive_mixed", "naive Presidio, mixed (1 process)", 12.0, 2800.0, 1.0, cpu=33.3, runs_words_per_s=[2800.0, 2700.0]),
        {"key": "ceiling", "label": "spaCy NER ceiling, unique (1 process)", "spans": None, "seconds": 4.0, "spans_per_s": None,
         "words_per_s": 9000.0, "x_naive": None, "notes": {"runs_words_per_s": [9000.0, 8800.0]}},
        {"key": "ceiling_cores", "label": "spaCy NER ceiling x 2 cores", "spans": None, "seconds": None, "spans_per_s": None,
         "words_per_s": 18000.0, "x_naive": None, "notes": {}},
        _row("ner_realistic", "tracevault in-process, NER policy, realistic", 300.0, 45000.0, 15.0),
        _row("ner_unique", "tracevault in-process, NER policy, unique", 20.0, 7000.0, 2.0),
        _row("patterns_realistic", "tracevault in-process, patterns-only, realistic", 3000.0, 450000.0, 150.0),
        _row("patterns_unique", "tracevault in-process, patterns-only, unique", 600.0, 200000.0, 60.0),
        _row("e2e_realistic", "tracevault end to end, realistic (2 workers)", 400.0, 60000.0, 20.0),
        _row("e2e_unique", "tracevault end to end, unique (2 workers)", 30.0, 13000.0, 3.0, cpu=5.0, x_cpu=1.5),
    ]  # fmt: skip
    mixed, small, large = (
        _cli("tracevault redact --jsonl, mixed", 240.0, 900, 7, 20.0, 11.1, {"planted": {"PERSON": 30, "SECRET": 10}, "leaked": {}},
             paired={"x_naive_runs": [19.0, 20.0, 21.5], "x_naive_cpu_runs": [11.4, 10.2, 11.1], "x_naive": 20.0, "x_naive_cpu": 11.1,
                     "shown": 2, "baseline_words_per_s": [2800.0, 2650.0, 2700.0, 2750.0]},
             runs=[{"seconds": 7.9, "cpu_seconds": 13.6, "complete": True}, {"seconds": 7.6, "cpu_seconds": 14.9, "complete": True},
                   {"seconds": 7.5, "cpu_seconds": 13.5, "complete": True}]),
        _cli("tracevault redact --jsonl, patterns-only, 5 MB", 2000.0, 700, 5, 166.7, 92.6),
        _cli("tracevault redact --jsonl, patterns-only, 50 MB", 2100.0, 720, 50, 175.0, 97.2),
    )
    for key, run in (("cli_mixed", mixed), ("cli_patterns_small", small), ("cli_patterns_large", large)):
        rows.append({**run, "key": key})
    max_notes = {"exports": 40, "failed_exports": 1, "mean_export_seconds": 0.2, "mean_redaction_seconds": 0.15, "cache": 0.8,
                 "workers_cpu_cores": 1.8, "server_cpu_cores": 0.2, "client_cpu_cores": 0.1}  # fmt: skip
    recall = {"PERSON": 0.95, "EMAIL_ADDRESS": 1.0, "secrets": None}
    detection = {
        "compare_rows": 120,
        "tracevault": {"rows": 400, "recall": recall, "leaked_secrets": 0, "secrets_planted": 30, "benign_kept": 0.98, "missed_targets": []},
        "tracevault_on_compare_rows": {"recall": {"PERSON": 0.96, "EMAIL_ADDRESS": 1.0, "secrets": None}, "leaked_secrets": 0, "benign_kept": 0.97},
        "naive_on_compare_rows": {"recall": {"PERSON": 0.9, "EMAIL_ADDRESS": 0.99, "secrets": None}, "leaked_secrets": 7, "benign_kept": 0.9},
    }  # fmt: skip
    document: dict[str, Any] = {
        "meta": {"quick": True, "seed": 7, "cores": 2, "started": "2026-12-01T21:00:00+00:00", "commit": "abc1234"},
        "workloads": {"realistic": {"words_per_trace": 1234.0}, "unique": {"words_per_trace": 2345.0},
                      "mixed": {"words_per_trace": 2050.0, "once": {"strings": 0.49, "paragraphs": 0.25}}},
        "batch_cli": {"mixed": mixed, "small": small, "large": large, "workers": 2},
        "rows": rows,
        "ceiling_words_per_s": 9000.0,
        "ceiling_cores_words_per_s": 18000.0,
        "load_average": {"start": [0.5, 0.4, 0.3], "end": [1.5, 1.0, 0.8]},
        "inprocess_notes": {
            "tracevault in-process, NER policy, realistic": {"failed_closed": 0, "cache_hit_rate": 0.9,
                "workload_leaks": {"planted": {"EMAIL": 10, "SECRET": 5}, "leaked": {"SECRET": 1}}},
            "tracevault in-process, patterns-only, unique": {"failed_closed": 2},
        },  # fmt: skip
        "detection": detection,
        "e2e": {
            "workers": 2,
            "latency": {"rate_spans_per_s": 200.0, "exports": 30, "batch_spans": 50, "failed_exports": 0, "p50_seconds": 0.12,
                        "p99_seconds": 0.5, "max_seconds": 0.7, "cache": 0.85},
            "rss": {"total_bytes": 900 * 1024**2, "server_bytes": 300 * 1024**2, "children_bytes": [300 * 1024**2, 300 * 1024**2]},
            "unique_rss": {"total_bytes": 2 * 1024**3, "server_bytes": 1024**3, "children_bytes": []},
            "objects": {"by_kind": {"metrics": 4, "payloads": 4}, "data_objects": 8, "spans": 4000, "per_1000_spans": 2.0},
            "cache_hit_rate": 0.82,
            "max_realistic": {"notes": max_notes},
            "max_unique": {"notes": {**max_notes, "cache": 0.1}},
            "exit_code": 0,
            "unique_exit_code": 0,
            "start_failures": ["port in use"],
            "errors": {"unique": "server exited"},
        },  # fmt: skip
        "exporter_warnings": 3,
    }
    return document
