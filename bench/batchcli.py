"""The batch CLI in the benchmark (issue 17): `tracevault redact --jsonl --workers auto` as a
subprocess, start-up included.

- Throughput on the mixed workload (NER policy): wall time from launch to exit, CPU seconds of
  the command and its worker processes (`resource.getrusage(RUSAGE_CHILDREN)`, which counts a
  child and the children it waited for), and the planted values left in the output.
- Peak RSS with a patterns-only policy for a small and a ten times larger input: the sum of
  `VmHWM` over the command and its descendants, sampled every 0.2 s while it runs. The same peak
  for both sizes shows that memory does not grow with the input. The workers are forked from
  one process that loaded the model, so VmHWM counts their shared pages once per process; the
  highest sum of PSS seen (shared pages split between their holders) is reported beside it.
"""

from __future__ import annotations

import resource
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from bench.common import BATCH_SPANS, MIB, PATTERN_ENTITIES, TENANT, OtherLoad, Throughput
from bench.server import descendants, pss, tracevault_command, vm_hwm
from bench.workload import Workload


def write_jsonl(path: Path, workloads: Any, min_bytes: int = 0, traces: int | None = None) -> tuple[int, int, Workload | None]:
    """One OTLP/JSON request of BATCH_SPANS spans per line, until `traces` traces are written or
    the file reaches `min_bytes`. `workloads(n)` draws n more traces. Returns (spans, words,
    the workload written when `traces` was given)."""
    from sidecar.otlp import encode_json_request

    spans = words = 0
    kept: Workload | None = None
    with path.open("w", encoding="utf-8") as out:
        while True:
            chunk = workloads(traces if traces is not None else 60)
            kept = chunk if traces is not None else None
            for batch in chunk.batches(BATCH_SPANS):
                out.write(encode_json_request(batch.request()) + "\n")
                spans += len(batch.spans)
                words += batch.words
            if traces is not None or out.tell() >= min_bytes:
                return spans, words, kept


def _config(workdir: Path, patterns_only: bool) -> Path:
    document: dict[str, Any] = {"data_dir": str(workdir / "data")}
    if patterns_only:
        document["defaults"] = {"entities": PATTERN_ENTITIES}
    path = workdir / ("patterns.yaml" if patterns_only else "ner.yaml")
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


class _PeakRss:
    """Sum over the process and its descendants of each one's highest VmHWM seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak: dict[int, int] = {}
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            pids = [self.pid, *descendants(self.pid)]
            self.peak_pss = max(self.peak_pss, sum(pss(pid) or 0 for pid in pids))
            for pid in pids:
                value = vm_hwm(pid)
                if value is not None:
                    self.peak[pid] = max(self.peak.get(pid, 0), value)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        children = sorted((v for pid, v in self.peak.items() if pid != self.pid), reverse=True)
        return {"total_bytes": sum(self.peak.values()), "command_bytes": self.peak.get(self.pid, 0), "children_bytes": children,
                "pss_bytes": self.peak_pss}  # fmt: skip


def children_usage(before: Any, after: Any) -> dict[str, float]:
    """Between two `getrusage(RUSAGE_CHILDREN)` readings, what the command and its workers did
    besides their CPU seconds, to tell a slow run's cause in the results: a cold page cache
    shows as major faults and blocks read, a contended machine as involuntary switches."""
    return {
        "user_seconds": after.ru_utime - before.ru_utime,
        "system_seconds": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
        "major_faults": after.ru_majflt - before.ru_majflt,
        "blocks_read": after.ru_inblock - before.ru_inblock,
        "voluntary_switches": after.ru_nvcsw - before.ru_nvcsw,
        "involuntary_switches": after.ru_nivcsw - before.ru_nivcsw,
    }


def run_cli(workdir: Path, source: Path, output: Path, patterns_only: bool, timeout: float) -> dict[str, Any]:
    """Run the command once; wall and CPU seconds, peak RSS, exit code, the children's usage."""
    config = _config(workdir, patterns_only)
    command = [str(tracevault_command()), "redact", "--config", str(config), "--tenant", TENANT, "--jsonl", "--workers", "auto", str(source)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with output.open("w", encoding="utf-8") as out, OtherLoad(lambda: 0.0) as other:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=True)
        sampler = _PeakRss(process.pid)
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        seconds = time.perf_counter() - started
        rss = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = children_usage(before, after)
    cpu = usage["user_seconds"] + usage["system_seconds"]
    return {"seconds": seconds, "cpu_seconds": cpu, "rss": rss, "exit_code": process.returncode, "usage": usage,
            "stderr_tail": stderr.strip().splitlines()[-3:], "other_load_cores": other.cores - cpu / seconds if other.cores else None}  # fmt: skip


class MixedInput(NamedTuple):
    """The mixed workload written once as the batch CLI's input, for every run to read."""

    path: Path
    spans: int
    words: int
    workload: Workload


def write_mixed(workdir: Path, draw: Any, traces: int) -> MixedInput:
    source = workdir / "mixed.jsonl"
    spans, words, workload = write_jsonl(source, draw, traces=traces)
    assert workload is not None  # write_jsonl keeps the workload when `traces` is given
    return MixedInput(source, spans, words, workload)


def measure_mixed(workdir: Path, source: MixedInput, timeout: float) -> Throughput:
    """The NER policy on the mixed input; the planted values are looked for in the output."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from bench.baselines import workload_leaks
    from sidecar.otlp import decode_json_request

    output = workdir / "mixed.out.jsonl"
    run = run_cli(workdir, source.path, output, patterns_only=False, timeout=timeout)
    redacted: list[ExportTraceServiceRequest] = []
    with output.open(encoding="utf-8") as lines:
        redacted = [decode_json_request(line) for line in lines if line.startswith("{\"resourceSpans\"")]
    notes = {"exit_code": run["exit_code"], "peak_rss": run["rss"], "other_load_cores": run["other_load_cores"], "usage": run["usage"],
             "input_bytes": source.path.stat().st_size, "workload_leaks": workload_leaks(source.workload.traces, redacted),
             "stderr_tail": run["stderr_tail"] if run["exit_code"] else []}  # fmt: skip
    answered = len(redacted) == -(-source.spans // BATCH_SPANS)  # every line came back as a request
    return Throughput("tracevault redact --jsonl, mixed", source.spans, source.words, run["seconds"], complete=run["exit_code"] == 0 and answered,
                      notes=notes, cpu_seconds=run["cpu_seconds"])  # fmt: skip


def measure_rss(workdir: Path, draw: Any, sizes_mb: tuple[float, float], timeout: float) -> list[Throughput]:
    """Patterns-only runs on a small and a large input: throughput and peak RSS of each."""
    results = []
    for size in sizes_mb:
        source, output = workdir / f"patterns-{size:g}mb.jsonl", Path("/dev/null")
        spans, words, _ = write_jsonl(source, draw, min_bytes=int(size * MIB))
        run = run_cli(workdir, source, output, patterns_only=True, timeout=timeout)
        source_bytes = source.stat().st_size
        source.unlink()
        notes = {"exit_code": run["exit_code"], "peak_rss": run["rss"], "other_load_cores": run["other_load_cores"], "usage": run["usage"],
                 "input_bytes": source_bytes,
                 "stderr_tail": run["stderr_tail"] if run["exit_code"] else []}  # fmt: skip
        results.append(Throughput(f"tracevault redact --jsonl, patterns-only, {source_bytes / MIB:.0f} MB", spans, words, run["seconds"],
                                  complete=run["exit_code"] == 0, notes=notes, cpu_seconds=run["cpu_seconds"]))  # fmt: skip
    return results
