"""Self-metrics, served on /metrics. Labels are fixed words and entity types, never content."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tracevault_requests", "OTLP export requests", ["transport", "outcome"], registry=r)
        self.spans_received = Counter("tracevault_spans_received", "Spans in decoded requests", registry=r)
        self.spans_accepted = Counter("tracevault_spans_accepted", "Spans redacted and handed to every sink", registry=r)
        self.spans_rejected = Counter("tracevault_spans_rejected", "Spans refused (partial success or error)", ["reason"], registry=r)
        self.spans_dropped = Counter("tracevault_spans_dropped", "Accepted spans that no sink kept", ["reason"], registry=r)
        self.redactions = Counter("tracevault_redactions", "Values redacted, by entity type", ["entity"], registry=r)
        self.inflight = Gauge("tracevault_inflight_requests", "Requests being redacted or forwarded", registry=r)
        self.forward_failures = Counter("tracevault_forward_failures", "Failed forward attempts", ["reason"], registry=r)
        self.redaction_seconds = Histogram("tracevault_redaction_seconds", "Redaction time per request", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
