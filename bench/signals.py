"""The cost of the derived signals (issue 16), as a ratio measured in one run.

Two redactors, each with its own cache, take the same requests in the same order:

- *with*: it measures lengths, language and refusal before masking
  (``redactors.signals.SignalMeter``), and every metrics row gets its derived columns (TPOT,
  tokens/s, cost, finish reasons, tool status, retrieval scores, the signals);
- *without*: it measures nothing (``NoSignals``), and the time spent in
  ``vault.derived.derived_columns`` (timed around each call) is taken off its rows' time.

They run request by request, back to back, in alternating order, and are timed in CPU seconds of
this process (``time.process_time``), so that a neighbour's load on the shared machine inflates
neither. Before the timed pass, untimed:

- a third redactor (no signals) takes every measured request once. The two arms share the
  analyzer, whose NER sentence cache (``redactors/nerdedup.py``) is filled by whichever arm
  reads a sentence first; without this the first arm of each request paid the misses, and that
  is *with* on the first request, the one with the most first sightings. Both arms now find the
  same sentences cached, and each still starts with its own empty content cache;
- one warm-up request (not one of the measured ones) goes through both arms: one-time costs
  (the price table's first load, first calls into the language model) would otherwise fall on
  the arm that runs first;
- the heap is frozen for the garbage collector (``gc.freeze``), as in a worker, which is forked
  from a fork server that froze it after loading the model. Unfrozen, the signals' allocations
  (the meter parses the messages' JSON) set off more collections, and a full one walks the whole
  loaded model: one took 0.11 CPU s, 4% of the *with* arm's time, in a run where the meter
  itself took 0.11 s. The verdict is throughput with / throughput without >= 0.90. The time spent inside the
signal code itself (the meter's content pass and the derived columns) is reported beside it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import vault.metrics as metrics_module
from bench.workload import Workload, to_request
from redactors.signals import NoSignals, SignalMeter
from redactors.walker import COUNT_PREFIX
from vault.metrics import metrics_row
from vault.prices import Pricer

TARGET_RATIO = 0.90


class _Timed:
    """Wraps ``derived_columns`` and adds up the time spent in it."""

    def __init__(self, inner: Callable[..., Any]) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.process_time() - started


def _rows(request: ExportTraceServiceRequest, pricer: Pricer, tenant: str, env: str) -> int:
    received = datetime.now(timezone.utc)
    spans = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                counts = {kv.key[len(COUNT_PREFIX):]: kv.value.int_value for kv in span.attributes if kv.key.startswith(COUNT_PREFIX)}
                metrics_row(span, resource_spans.resource, tenant=tenant, env=env, received_at=received, redactions=counts,
                            payload_ref=None, pricer=pricer)
                spans += 1
    return spans


def _step(redactor: Any, payload: bytes, pricer: Pricer, timed: _Timed, tenant: str, env: str) -> tuple[float, float, int]:
    """(seconds, of which derived columns, spans) for one request: redaction, then its rows."""
    request = ExportTraceServiceRequest.FromString(payload)
    before = timed.seconds
    started = time.process_time()
    redactor.redact_resource_spans(list(request.resource_spans), tenant, env)
    spans = _rows(request, pricer, tenant, env)
    return time.process_time() - started, timed.seconds - before, spans


def measure(build_redactor: Callable[[SignalMeter], Any], workload: Workload, warmup: Workload, tenant: str, env: str) -> dict[str, Any]:
    requests = [to_request(batch.spans).SerializeToString() for batch in workload.batches(45)]
    first = next(iter(warmup.batches(45)))
    pricer = Pricer()
    meter = SignalMeter()
    measuring = _Timed(meter.measure)
    meter.measure = measuring  # type: ignore[method-assign]  # times the content pass, for the report
    with_signals, without_signals = build_redactor(meter), build_redactor(NoSignals())
    timed = _Timed(metrics_module.derived_columns)
    metrics_module.derived_columns = timed
    seconds = {"with": 0.0, "without": 0.0}
    derived_with = 0.0
    spans = 0
    try:
        primer = build_redactor(NoSignals())
        for payload in requests:
            primer.redact_resource_spans(list(ExportTraceServiceRequest.FromString(payload).resource_spans), tenant, env)
        for redactor in (with_signals, without_signals):
            _step(redactor, to_request(first.spans).SerializeToString(), pricer, timed, tenant, env)
        measuring.seconds = timed.seconds = 0.0
        gc.collect()
        gc.freeze()  # as the fork server does before it forks the workers (sidecar/workers.py)
        for index, payload in enumerate(requests):
            order = (("with", with_signals), ("without", without_signals))
            for name, redactor in order if index % 2 == 0 else order[::-1]:
                elapsed, derived, count = _step(redactor, payload, pricer, timed, tenant, env)
                if name == "with":
                    seconds["with"] += elapsed
                    derived_with += derived
                    spans += count
                else:
                    seconds["without"] += elapsed - derived
    finally:
        gc.unfreeze()
        metrics_module.derived_columns = timed.inner
    ratio = (spans / seconds["with"]) / (spans / seconds["without"])
    return {
        "spans": spans,
        "with_spans_per_s": spans / seconds["with"],
        "without_spans_per_s": spans / seconds["without"],
        "with_seconds": seconds["with"],
        "signal_meter_seconds": measuring.seconds,
        "derived_columns_seconds": derived_with,
        "ratio": ratio,
        "ok": ratio >= TARGET_RATIO,
    }
