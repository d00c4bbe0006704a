"""The baselines and the in-process measurements: naive Presidio, the spaCy NER ceiling,
tracevault's Redactor in one process, and detection quality on the development corpus."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from bench.common import (
    ENV,
    NAIVE_MODEL,
    TENANT,
    OtherLoad,
    Throughput,
    content_texts,
    serialized_batches,
)
from bench.workload import (
    Trace,
    Workload,
)

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
    started, cpu_started = time.perf_counter(), time.process_time()
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
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    other.__exit__()
    return Throughput(f"naive Presidio, {workload.kind}", spans, words, seconds, complete, notes={"other_load_cores": other.cores}, cpu_seconds=cpu)


# --------------------------------------------------------------------------- baseline B: NER ceiling


def measure_ceiling(nlp: Any, workload: Workload, batch_size: int) -> Throughput:
    texts = content_texts(workload)
    with nlp.select_pipes(enable=["ner"]):
        list(nlp.pipe(texts[:10], batch_size=batch_size))  # warm-up
        with OtherLoad() as other:
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in nlp.pipe(texts, batch_size=batch_size):
                pass
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Throughput("spaCy NER ceiling, unique", workload.span_count, workload.word_count, seconds,
                      notes={"texts": len(texts), "components": ["ner"], "other_load_cores": other.cores}, cpu_seconds=cpu)  # fmt: skip


# --------------------------------------------------------------------------- tracevault in-process


def cache_counts(redactor: Any) -> tuple[int, int] | None:
    cache = getattr(redactor, "cache", None)
    if cache is None or not hasattr(cache, "hits"):
        return None
    return int(cache.hits), int(cache.misses)


def redact_by_tenant(redactor: Any, request: ExportTraceServiceRequest) -> Counter[str]:
    """Redact a request group by group, each resource under its `tenant.id` (else the bench's tenant)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for rs in request.resource_spans:
        tenant = next((kv.value.string_value for kv in rs.resource.attributes if kv.key == "tenant.id"), TENANT)
        groups[tenant].append(rs)
    counts: Counter[str] = Counter()
    for tenant, items in groups.items():
        counts.update(redactor.redact_resource_spans(items, tenant, ENV))
    return counts


def measure_inprocess(
    name: str,
    redactor: Any,
    warmup: Workload,
    workload: Workload,
    cap_seconds: float,
    leak_check: bool = False,
) -> Throughput:
    for payload, _, _ in serialized_batches(warmup):
        redact_by_tenant(redactor, ExportTraceServiceRequest.FromString(payload))
    batches = serialized_batches(workload)
    parsed = [(ExportTraceServiceRequest.FromString(p), s, w) for p, s, w in batches]
    before = cache_counts(redactor)
    spans = words = 0
    failed = 0
    done: list[ExportTraceServiceRequest] = []
    other = OtherLoad().__enter__()
    started, cpu_started = time.perf_counter(), time.process_time()
    for request, batch_spans, batch_words in parsed:
        counts = redact_by_tenant(redactor, request)
        failed += counts.get("REDACTION_FAILED", 0)
        spans += batch_spans
        words += batch_words
        done.append(request)
        if time.perf_counter() - started > cap_seconds:
            break
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    other.__exit__()
    result = Throughput(name, spans, words, seconds, complete=len(done) == len(parsed), notes={"failed_closed": failed, "other_load_cores": other.cores},
                        cpu_seconds=cpu)  # fmt: skip
    after = cache_counts(redactor)
    if before is not None and after is not None:
        hits, misses = after[0] - before[0], after[1] - before[1]
        result.notes["cache_hit_rate"] = hits / (hits + misses) if hits + misses else None
    if leak_check:
        result.notes["workload_leaks"] = workload_leaks(workload.traces, done)
    return result


def workload_leaks(traces: Sequence[Trace], redacted: Sequence[ExportTraceServiceRequest]) -> dict[str, Any]:
    """Planted values of the workload (names, emails, phones, cards, API keys) still in the output."""
    from bench.eval.evaluate import leak_reason

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
        values = trace.planted if trace.planted is not None else _person_values(trace)
        for entity, value in values:
            planted[entity] += 1
            if leak_reason(value, entity, output) is not None:
                leaked[entity] += 1
    return {"planted": dict(planted), "leaked": dict(leaked)}


def _person_values(trace: Trace) -> list[tuple[str, str]]:
    """What the realistic and unique workloads plant: the name, email and phone, maybe a card and a key."""
    values = [("PERSON", trace.person.full), ("EMAIL_ADDRESS", trace.person.email), ("PHONE_NUMBER", trace.person.phone)]
    if trace.person.card:
        values.append(("CREDIT_CARD", trace.person.card))
    if trace.api_key:
        values.append(("SECRET", trace.api_key))
    return values


# --------------------------------------------------------------------------- detection quality


def detection_quality(redactor: Any, naive: NaivePresidio, stride: int) -> dict[str, Any]:
    from bench.eval.corpus import load
    from bench.eval.evaluate import GROUPS, check_targets, redact_corpus, score

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
