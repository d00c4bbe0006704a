"""Self-metrics, served on /metrics. Labels are fixed words and entity types, never content."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Per signal: `signal` is "traces" or "logs" (redactors.batch.SIGNALS). The spans_*
        # counters count log records under signal="logs".
        signal = ["signal"]
        self.requests = Counter("tracevault_requests", "OTLP export requests", ["transport", "outcome", *signal], registry=r)
        self.spans_received = Counter("tracevault_spans_received", "Spans (log records) in decoded requests", signal, registry=r)
        self.spans_accepted = Counter(
            "tracevault_spans_accepted", "Spans (log records) redacted and handed to every sink", signal, registry=r
        )
        self.spans_rejected = Counter(
            "tracevault_spans_rejected", "Spans (log records) refused (partial success or error)", ["reason", *signal], registry=r
        )
        self.spans_dropped = Counter(
            "tracevault_spans_dropped", "Accepted spans (log records) that no sink kept", ["reason", *signal], registry=r
        )
        self.spans_failed_closed = Counter(
            "tracevault_spans_failed_closed",
            "Spans (log records) masked whole because redaction passed its deadline",
            signal,
            registry=r,
        )
        self.limited = Counter(
            "tracevault_limited", "Attributes, events and links dropped and values cut by the span limits", ["kind"], registry=r
        )
        self.body_timeouts = Counter("tracevault_body_timeouts", "OTLP/HTTP bodies that arrived too slowly (408)", registry=r)
        self.unknown_fields_dropped = Counter(
            "tracevault_unknown_fields_dropped", "Protobuf fields outside the OTLP schema, dropped before redaction", registry=r
        )
        self.redactions = Counter("tracevault_redactions", "Values redacted, by entity type", ["entity"], registry=r)
        self.inflight = Gauge("tracevault_inflight_requests", "Requests being redacted or forwarded", registry=r)
        self.forward_failures = Counter("tracevault_forward_failures", "Failed forward attempts", ["reason"], registry=r)
        self.cache_hits = Counter("tracevault_cache_hits", "Text units served from the redaction cache", registry=r)
        self.cache_misses = Counter("tracevault_cache_misses", "Text units redacted (not in the cache)", registry=r)
        self.redaction_seconds = Histogram("tracevault_redaction_seconds", "Redaction time per request", registry=r)

    def watch_vault(self, stats: object) -> None:
        """Expose the vault's numbers, read at scrape time."""
        r = self.registry
        for name, help_text, attribute in (
            ("tracevault_spool_bytes", "Bytes waiting in the write-ahead spool", "spool_bytes"),
            ("tracevault_flushed_spans", "Spans and log records flushed from the spool to the store", "flushed_spans"),
            ("tracevault_flush_failures", "Failed flush attempts (store outage)", "flush_failures"),
            ("tracevault_spool_corrupt_regions", "Damaged spool regions reported and skipped", "corrupt_regions"),
            ("tracevault_last_flush_seconds", "Duration of the last flush of one spool file", "last_flush_seconds"),
            ("tracevault_spool_write_failures", "Spool appends refused after a write error (a full disk)", "spool_write_failures"),
        ):
            gauge = Gauge(name, help_text, registry=r)
            gauge.set_function(lambda attribute=attribute: float(getattr(stats, attribute)))

    def access_events(self) -> MetricsAccessEvents:
        """The admin listener's counters (created on first use): refusals of unverified tokens,
        by rule and by whether the security log's rate limit let them be written, and payloads
        that failed authentication. Labels are rule names and fixed words only."""
        if self._access_events is None:
            self._access_events = MetricsAccessEvents(self.registry)
        return self._access_events

    _access_events: MetricsAccessEvents | None = None

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsAccessEvents:
    """The hooks of `access.service.AccessEvents`, as Prometheus counters (not imported from
    there, so that /metrics does not load the read path)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.unverified = Counter(
            "tracevault_access_unverified_refusals",
            "Payload reads refused because the token's claims could not be verified (security log)",
            ["rule", "logged"],
            registry=registry,
        )
        self.tampered = Counter(
            "tracevault_payloads_tampered", "Payloads whose ciphertext failed authentication on an audited read", registry=registry
        )

    def refused_unverified(self, rule: str, written: bool) -> None:
        self.unverified.labels(rule=rule, logged="written" if written else "rate_limited").inc()

    def payloads_tampered(self, count: int) -> None:
        self.tampered.inc(count)
