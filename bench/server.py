"""End to end: `tracevault serve` as a subprocess, driven by the OpenTelemetry SDK's OTLP/HTTP
exporter (max throughput, paced latency, peak RSS, objects, cache hit rate)."""

from __future__ import annotations

import base64
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from bench.common import (
    BATCH_SPANS,
    MASTER_SECRET,
    ROOT,
    TENANT,
    OtherLoad,
    Sizes,
    Source,
    Throughput,
    log,
    percentile,
)
from bench.workload import (
    REALISTIC,
    SPANS_PER_TRACE,
    UNIQUE,
    Batch,
    Workload,
)

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


def pss(pid: int) -> int | None:
    """Proportional set size of a process in bytes (pages shared with n processes count 1/n, so
    the sum over a fork server and its workers is what they hold together); None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
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
        self.peak_pss = 0  # the highest sum of PSS over the server and its descendants, sampled
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
        pids = [self.process.pid, *descendants(self.process.pid)]
        self.peak_pss = max(self.peak_pss, sum(pss(pid) or 0 for pid in pids))
        for pid in pids:
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
            "pss_bytes": self.peak_pss,
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
        # Per core: the server process and its workers (the bench client stands in for the app).
        cpu_seconds=sum(v - server_cpu_before.get(pid, 0.0) for pid, v in server_cpu_after.items()),
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
