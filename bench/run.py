"""The benchmark: `make bench` (`python -m bench.run [--quick]`). See docs/benchmark.md.

Everything is measured in ONE run, and the verdicts are ratios between numbers of that run:
absolute numbers on a shared machine are noise.

1. Baseline A, naive Presidio: the default AnalyzerEngine (full spaCy pipeline, default
   recognizers) and AnonymizerEngine on every string attribute value of a fixed sample of spans.
2. Baseline B, the spaCy NER ceiling: `nlp.pipe` with only the `ner` component of the configured
   model over the text of the unique workload, one process; "x cores" multiplies by os.cpu_count().
3. tracevault in-process: `Redactor.redact_resource_spans` on the same requests, for the
   realistic, unique and mixed workloads, with the default (NER) policy and a patterns-only
   policy; and `Redactor.redact_resource_logs` on the realistic requests carried as log records.
4. tracevault end to end: `tracevault serve` as a subprocess (vault on, spool fsync on), fed by the
   OpenTelemetry SDK's OTLP/HTTP exporter from several threads; max throughput, ack latency at half
   of it, peak RSS, objects written, cache hit rate.
5. Detection quality on the development corpus (bench.eval.evaluate), next to naive Presidio's.

Traffic goes to 127.0.0.1 only; every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.baselines import (
    NaivePresidio,
    check_offline_tldextract,
    detection_quality,
    measure_ceiling,
    measure_inprocess,
    measure_naive,
)
from bench.common import (
    DEFAULT_SIZES,
    ENV,
    MASTER_SECRET,
    PATTERN_ENTITIES,
    QUICK_SIZES,
    RESULTS_PATH,
    ROOT,
    TENANT,
    Sizes,
    Source,
    Throughput,
    log,
    paired_ratios,
    ratio,
)
from bench.mixed import MIXED, repetition_shares
from bench.report import build_report, evaluate_targets
from bench.secrets import format_cost as format_secret_cost
from bench.secrets import measure_cost as measure_secret_cost
from bench.server import ExporterWarnings, end_to_end
from bench.workload import (
    DEFAULT_SEED,
    REALISTIC,
    SPANS_PER_TRACE,
    UNIQUE,
    Workload,
)

# --------------------------------------------------------------------------- main


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


KINDS = (REALISTIC, UNIQUE, MIXED)
ROW_ORDER = ["naive_realistic", "naive_unique", "naive_mixed", "ceiling", "ceiling_cores", "ner_realistic", "ner_unique", "ner_mixed", "ner_logs",
             "patterns_realistic", "patterns_unique", "patterns_mixed", "e2e_realistic", "e2e_unique", "cli_mixed",
             "cli_patterns_small", "cli_patterns_large"]  # fmt: skip


def _head(workload: Workload, traces: int) -> Workload:
    return Workload(workload.kind, workload.traces[:traces])


def paired_row(runs: list[Throughput], paired: dict[str, Any]) -> Throughput:
    """The row of runs taken in turn with a baseline: the median run's figures, every run's
    ratios, and the worst run's leaks (any leak in any run counts)."""
    shown = runs[paired["shown"]]
    leaks = [run.notes["workload_leaks"] for run in runs if run.notes.get("workload_leaks") is not None]
    worst = max(leaks, key=lambda found: sum(found["leaked"].values()), default=None)
    notes = {**shown.notes, "workload_leaks": worst, "paired": paired,
             "runs": [{"seconds": run.seconds, "cpu_seconds": run.cpu_seconds, "complete": run.complete} for run in runs]}  # fmt: skip
    return Throughput(shown.name, shown.spans, shown.words, shown.seconds, all(run.complete for run in runs), notes, shown.cpu_seconds)


class BenchRun:
    """One benchmark run: the workloads drawn once, the rows as they are measured."""

    def __init__(self, seed: int, sizes: Sizes) -> None:
        from policies.config import Config
        from redactors.pii import load_spacy_model

        self.sizes = sizes
        self.seed = seed
        self.config = Config()
        self.cores = os.cpu_count() or 1
        self.sources = {kind: Source(kind, seed) for kind in KINDS}
        # Draw order is fixed: in-process warm-up, then the measured traces (the naive sample is
        # their head, so naive Presidio and tracevault read the same requests), then the
        # end-to-end traces.
        self.warmups = {kind: self.sources[kind].take(sizes.inprocess_warmup_traces) for kind in KINDS}
        most = max(sizes.inprocess_traces, sizes.patterns_traces, sizes.naive_traces, sizes.ceiling_traces)
        self.measured = {kind: self.sources[kind].take(most) for kind in KINDS}
        self.rows: list[dict[str, Any]] = []
        self.inprocess_notes: dict[str, dict[str, Any]] = {}
        log("baseline A: loading naive Presidio (full en_core_web_sm pipeline, default recognizers)")
        self.naive = NaivePresidio()
        self.naive_samples = {kind: _head(self.measured[kind], sizes.naive_traces) for kind in KINDS}
        self.naive_runs: dict[str, list[Throughput]] = {kind: [] for kind in KINDS}
        self.nlp = load_spacy_model(self.config.nlp.model)
        self.ceiling_sample = _head(self.measured[UNIQUE], sizes.ceiling_traces)
        self.ceiling_runs: list[Throughput] = []
        self.loads: dict[str, tuple[float, float, float]] = {"start": os.getloadavg()}

    def add_row(self, key: str, label: str, result: Throughput, naive_key: str | None = None) -> None:
        naive_row = next((r for r in self.rows if r["key"] == naive_key), None)
        self.rows.append(
            {
                "key": key, "label": label, "kind": naive_key.removeprefix("naive_") if naive_key else None, "spans": result.spans, "seconds": result.seconds,
                "spans_per_s": result.spans_per_s, "words_per_s": result.words_per_s, "complete": result.complete,
                "cpu_seconds": result.cpu_seconds, "spans_per_cpu_s": result.spans_per_cpu_s,
                "x_naive": 1.0 if key == naive_key else (ratio(result.spans_per_s, naive_row["spans_per_s"]) if naive_row else None),
                "notes": result.notes,
            }
        )  # fmt: skip

    def measure_baselines(self) -> None:
        """1. naive Presidio and 2. the NER ceiling. Both run at the start and again at the end, on
        the same samples; the faster run is used (other load can only slow a run down, and the
        faster baseline is the stricter yardstick)."""
        for kind in KINDS:
            log(f"baseline A: naive Presidio on {self.naive_samples[kind].span_count} {kind} spans")
            self.naive_runs[kind].append(measure_naive(self.naive, self.naive_samples[kind], self.sizes.naive_seconds))
        log(f"baseline B: spaCy NER ceiling on {self.ceiling_sample.word_count:,} words")
        self.ceiling_runs.append(measure_ceiling(self.nlp, self.ceiling_sample, self.config.nlp.batch_size))

    def analyzer(self) -> Any:
        from redactors.pii import PiiAnalyzer

        return PiiAnalyzer(self.nlp, batch_size=self.config.nlp.batch_size, max_text_chars=self.config.nlp.max_text_chars, phone_regions=self.config.nlp.phone_regions)

    def measure_inprocess(self, analyzer: Any) -> None:
        """3. tracevault in-process, NER and patterns-only policies, both workloads."""
        from policies.config import parse_config
        from redactors.engine import Redactor

        patterns_config = parse_config({"defaults": {"entities": PATTERN_ENTITIES}})
        sizes = self.sizes
        for policy, cfg, traces in (("ner", self.config, sizes.inprocess_traces), ("patterns", patterns_config, sizes.patterns_traces)):
            for kind in KINDS:
                redactor = Redactor.build(cfg, MASTER_SECRET, analyzer=analyzer)  # a fresh cache per configuration
                label = f"tracevault in-process, {'NER policy' if policy == 'ner' else 'patterns-only'}, {kind}"
                log(f"in-process: {label}")
                workload = _head(self.measured[kind], traces)
                result = measure_inprocess(label, redactor, self.warmups[kind], workload, sizes.inprocess_seconds, leak_check=policy == "ner")
                self.add_row(f"{policy}_{kind}", label, result, f"naive_{kind}")
                self.inprocess_notes[label] = result.notes

    def measure_logs(self) -> None:
        """3c. The logs workload (bench/logs.py): the realistic traces' content as log records,
        through `Redactor.redact_resource_logs`; compared with naive Presidio on the same strings.
        A fresh analyzer, so its sentence cache starts as cold as the realistic spans row's did."""
        from redactors.engine import Redactor

        label = "tracevault in-process, NER policy, realistic as log records"
        log(f"in-process: {label}")
        redactor = Redactor.build(self.config, MASTER_SECRET, analyzer=self.analyzer())
        workload = _head(self.measured[REALISTIC], self.sizes.inprocess_traces)
        result = measure_inprocess(label, redactor, self.warmups[REALISTIC], workload, self.sizes.inprocess_seconds, leak_check=True, signal="logs")
        self.add_row("ner_logs", label, result, "naive_realistic")
        self.inprocess_notes[label] = result.notes

    def derived_signals(self, analyzer: Any) -> dict[str, Any]:
        """3b. The derived signals (issue 16): with and without, request by request, realistic workload."""
        from bench import signals
        from redactors.engine import Redactor

        log("derived signals: redaction + metrics rows with and without them")
        workload = _head(self.measured[REALISTIC], self.sizes.inprocess_traces)
        return signals.measure(
            lambda meter: Redactor.build(self.config, MASTER_SECRET, analyzer=analyzer, signals=meter), workload, self.warmups[REALISTIC], TENANT, ENV
        )

    def detection(self, analyzer: Any) -> dict[str, Any]:
        """5 (before the servers, which need the machine to themselves). Detection quality."""
        from redactors.engine import Redactor

        log("detection quality: bench.eval.evaluate on the dev corpus, and naive Presidio on the same rows")
        return detection_quality(Redactor.build(self.config, MASTER_SECRET, analyzer=analyzer), self.naive, self.sizes.corpus_stride)

    def naive_mixed(self) -> Throughput:
        """Naive Presidio once more on its mixed sample; the run also counts as a baseline run."""
        result = measure_naive(self.naive, self.naive_samples[MIXED], self.sizes.naive_seconds)
        self.naive_runs[MIXED].append(result)
        return result

    def batch_cli(self) -> dict[str, Any]:
        """The batch CLI: the mixed workload with the pool (NER policy), `cli_runs` times, taking
        turns with naive Presidio on its mixed sample (`paired_ratios`); then patterns-only peak
        RSS at two input sizes."""
        from bench.batchcli import measure_mixed, measure_rss, write_mixed

        sizes = self.sizes
        with tempfile.TemporaryDirectory(prefix="tracevault-bench-cli-") as workdir:
            source = write_mixed(Path(workdir), self.sources[MIXED].take, sizes.cli_traces)
            log(f"batch CLI: naive Presidio, then tracevault redact --jsonl --workers auto on {sizes.cli_traces} mixed traces, {sizes.cli_runs} times in turn")
            baselines, runs = [self.naive_mixed()], []
            for _ in range(sizes.cli_runs):
                runs.append(measure_mixed(Path(workdir), source, sizes.cli_timeout))
                baselines.append(self.naive_mixed())
            mixed = paired_row(runs, paired_ratios(runs, baselines))
            self.add_row("cli_mixed", f"tracevault redact --jsonl, mixed ({self.cores} workers)", mixed, "naive_mixed")
            log(f"batch CLI: patterns-only, {sizes.cli_rss_mb[0]:g} MB and {sizes.cli_rss_mb[1]:g} MB inputs")
            small, large = measure_rss(Path(workdir), Source(MIXED, self.seed + 1).take, sizes.cli_rss_mb, sizes.cli_timeout)
        self.add_row("cli_patterns_small", small.name, small, "naive_mixed")
        self.add_row("cli_patterns_large", large.name, large, "naive_mixed")
        return {"mixed": mixed.as_dict(), "small": small.as_dict(), "large": large.as_dict(), "workers": self.cores}

    def end_to_end(self) -> dict[str, Any]:
        """4. End to end, with each workload's in-process rate x cores as the first estimate."""
        by_key = {r["key"]: r for r in self.rows}
        estimates = {kind: by_key[f"ner_{kind}"]["spans_per_s"] * self.cores for kind in KINDS}
        self.loads["before_e2e"] = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="tracevault-bench-") as workdir:
            return end_to_end(Path(workdir), self.sources, estimates, self.sizes)

    def finish_rows(self, e2e: dict[str, Any] | None) -> Throughput:
        """The baseline and end-to-end rows, the ratios to the best naive run; the best ceiling."""
        for kind in KINDS:
            best = max(self.naive_runs[kind], key=lambda r: r.words_per_s)
            best.notes["runs_words_per_s"] = [r.words_per_s for r in self.naive_runs[kind]]
            self.add_row(f"naive_{kind}", f"naive Presidio, {kind} (1 process)", best, f"naive_{kind}")
        ceiling = max(self.ceiling_runs, key=lambda r: r.words_per_s)
        ceiling.notes["runs_words_per_s"] = [r.words_per_s for r in self.ceiling_runs]
        self.rows.append({"key": "ceiling", "label": "spaCy NER ceiling, unique (1 process)", "spans": None, "seconds": ceiling.seconds,
                          "spans_per_s": None, "words_per_s": ceiling.words_per_s, "x_naive": None, "notes": ceiling.notes})  # fmt: skip
        self.rows.append({"key": "ceiling_cores", "label": f"spaCy NER ceiling x {self.cores} cores", "spans": None, "seconds": None,
                          "spans_per_s": None, "words_per_s": ceiling.words_per_s * self.cores, "x_naive": None, "notes": {}})  # fmt: skip
        for kind in KINDS:
            data = (e2e or {}).get(f"max_{kind}")
            if data is not None:
                self.add_row(f"e2e_{kind}", f"tracevault end to end, {kind} ({e2e['workers']} workers)",  # type: ignore[index]
                             Throughput(data["name"], data["spans"], data["words"], data["seconds"], data["complete"], data["notes"],
                                        data.get("cpu_seconds")),
                             f"naive_{kind}")  # fmt: skip
        # The ratios to naive Presidio, in wall time and per core, now that its (best) run is known.
        naive = {kind: next(r for r in self.rows if r["key"] == f"naive_{kind}") for kind in KINDS}
        for row in self.rows:
            kind, paired = row.get("kind"), row["notes"].get("paired")
            if paired:  # measured in turn with its own baseline runs
                row["x_naive"], row["x_naive_cpu"] = paired["x_naive"], paired["x_naive_cpu"]
            elif kind and row["spans_per_s"] is not None:
                row["x_naive"] = ratio(row["spans_per_s"], naive[kind]["spans_per_s"])
                row["x_naive_cpu"] = ratio(row.get("spans_per_cpu_s"), naive[kind].get("spans_per_cpu_s"))
        self.rows.sort(key=lambda r: ROW_ORDER.index(r["key"]))
        return ceiling

    def results(self, quick: bool, seed: int, ceiling: Throughput, detection: dict[str, Any], e2e: dict[str, Any] | None, warnings: int) -> dict[str, Any]:
        return {
            "meta": {
                "quick": quick, "seed": seed, "cores": self.cores, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "commit": git_commit(), "python": platform.python_version(), "sizes": asdict(self.sizes),
                "naive_pipeline": self.naive.pipe_names, "tracevault_pipeline": list(self.nlp.pipe_names),
            },
            "workloads": {
                kind: {"words_per_trace": self.measured[kind].word_count / len(self.measured[kind].traces), "spans_per_trace": SPANS_PER_TRACE,
                       "once": repetition_shares(self.measured[kind])}
                for kind in KINDS
            },
            "rows": self.rows,
            "ceiling_words_per_s": ceiling.words_per_s,
            "ceiling_cores_words_per_s": ceiling.words_per_s * self.cores,
            "load_average": self.loads,
            "inprocess_notes": self.inprocess_notes,
            "detection": detection,
            "e2e": e2e,
            "exporter_warnings": warnings,
        }  # fmt: skip


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small samples: the whole run takes about a minute")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="workload seed")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON results")
    parser.add_argument("--skip-e2e", action="store_true", help="skip the end-to-end runs and the batch CLI (no server or command is started)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    started_at = time.perf_counter()
    warnings_handler = ExporterWarnings()
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(warnings_handler)
    otel_logger.propagate = False
    check_offline_tldextract()
    run = BenchRun(args.seed, sizes)
    run.measure_baselines()
    analyzer = run.analyzer()
    run.measure_inprocess(analyzer)
    run.measure_logs()
    derived_signals = run.derived_signals(analyzer)
    detection = run.detection(analyzer)
    # 6. Secret scanning cost per MB at 50, 100 and all rules vs the scanner before the rule table.
    log("secret scanning: cost per MB at 50, 100 and all rules (bench/secrets.py)")
    secret_scan = measure_secret_cost(2 if args.quick else 5)
    batch_cli = None if args.skip_e2e else run.batch_cli()
    e2e = None if args.skip_e2e else run.end_to_end()
    run.loads["before_recheck"] = os.getloadavg()
    run.measure_baselines()
    run.loads["end"] = os.getloadavg()
    ceiling = run.finish_rows(e2e)
    results = run.results(args.quick, args.seed, ceiling, detection, e2e, warnings_handler.count)
    results["derived_signals"] = derived_signals
    results["batch_cli"] = batch_cli
    results["targets"] = evaluate_targets(results)
    results["secret_scan"] = secret_scan
    results["meta"]["seconds"] = time.perf_counter() - started_at
    report = build_report(results) + "\n\n" + format_secret_cost(secret_scan)
    sys.stdout.write(report + "\n")
    sys.stdout.write(f"\n(total {results['meta']['seconds']:.0f} s; results in {args.output})\n")
    results["report"] = report
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
