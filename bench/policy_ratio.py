"""Patterns-only policy vs NER policy, in-process: `python -m bench.policy_ratio [--quick]`.

The cheap way to check one target of `make bench` ("patterns-only >= 20x the NER policy,
in-process, unique workload") without its naive-Presidio baselines, NER ceiling and end-to-end
servers. It measures exactly what `make bench` measures for that target, in one run: the same
workloads drawn from the same seed in the same order (warm-up traces, then the measured ones),
the same sizes (`bench.common.DEFAULT_SIZES`), the same analyzer and policies, and the same
loop (`bench.baselines.measure_inprocess`, a fresh redactor per configuration). The verdict is
the ratio of the two rates of this run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.baselines import check_offline_tldextract, measure_inprocess
from bench.common import DEFAULT_SIZES, MASTER_SECRET, PATTERN_ENTITIES, QUICK_SIZES, ROOT, Source, log, ratio
from bench.workload import DEFAULT_SEED, REALISTIC, UNIQUE, Workload

KINDS = (REALISTIC, UNIQUE)
TARGET = 20.0
RESULTS_PATH = ROOT / "bench" / "results" / "policy_ratio.json"


def _head(workload: Workload, traces: int) -> Workload:
    return Workload(workload.kind, workload.traces[:traces])


def measure(quick: bool, seed: int = DEFAULT_SEED) -> dict:
    from policies.config import Config, parse_config
    from redactors.engine import Redactor
    from redactors.pii import PiiAnalyzer, load_spacy_model

    sizes = QUICK_SIZES if quick else DEFAULT_SIZES
    config = Config()
    sources = {kind: Source(kind, seed) for kind in KINDS}
    warmups = {kind: sources[kind].take(sizes.inprocess_warmup_traces) for kind in KINDS}
    most = max(sizes.inprocess_traces, sizes.patterns_traces, sizes.naive_traces, sizes.ceiling_traces)
    measured = {kind: sources[kind].take(most) for kind in KINDS}
    nlp = load_spacy_model(config.nlp.model)
    analyzer = PiiAnalyzer(nlp, batch_size=config.nlp.batch_size, max_text_chars=config.nlp.max_text_chars,
                           phone_regions=config.nlp.phone_regions)  # fmt: skip
    patterns = parse_config({"defaults": {"entities": PATTERN_ENTITIES}})
    rates: dict[str, dict] = {}
    for policy, cfg, traces in (("ner", config, sizes.inprocess_traces), ("patterns", patterns, sizes.patterns_traces)):
        for kind in KINDS:
            log(f"in-process: {policy} policy, {kind}")
            redactor = Redactor.build(cfg, MASTER_SECRET, analyzer=analyzer)
            result = measure_inprocess(f"{policy} {kind}", redactor, warmups[kind], _head(measured[kind], traces), sizes.inprocess_seconds)
            rates[f"{policy}_{kind}"] = {"spans": result.spans, "seconds": result.seconds, "spans_per_s": result.spans_per_s,
                                         "complete": result.complete, "notes": result.notes}  # fmt: skip
    out: dict = {"quick": quick, "seed": seed, "rates": rates}
    for kind in KINDS:
        out[f"ratio_{kind}"] = ratio(rates[f"patterns_{kind}"]["spans_per_s"], rates[f"ner_{kind}"]["spans_per_s"])
    return out


def format_result(result: dict) -> str:
    lines = ["## patterns-only vs NER policy (in-process)"]
    for key, row in result["rates"].items():
        lines.append(f"{key:<20}{row['spans']:>7} spans {row['seconds']:8.2f} s {row['spans_per_s']:10.1f} spans/s")
    unique = result[f"ratio_{UNIQUE}"]
    verdict = "PASS" if unique is not None and unique >= TARGET else "FAIL"
    lines.append(f"{verdict}  patterns-only >= {TARGET:.0f}x NER policy (unique): {unique:.1f}x")
    lines.append(f"      (realistic, for information: {result[f'ratio_{REALISTIC}']:.1f}x)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="make bench's quick sizes")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    check_offline_tldextract()
    result = measure(args.quick)
    sys.stdout.write(format_result(result) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    unique = result[f"ratio_{UNIQUE}"]
    return 0 if unique is not None and unique >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
