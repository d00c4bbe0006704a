"""The Grafana dashboard of the sidecar's self-metrics: every panel's PromQL names metrics and
labels that a real running server exports on /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from policies.config import parse_config
from tests.observe.conftest import _post
from tests.redactors.otlp_builders import make_request, make_span
from tests.sidecar.conftest import EMAIL, WAIT_SECONDS, sidecar_document, start_sidecar

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "tracevault-dashboard.json"
_METRIC = re.compile(r"\b(tracevault_[a-z_]+)\b")
_BY = re.compile(r"\bby\s*\(([^)]*)\)")
#: What the issue asks the dashboard to show, as the metric each needs.
REQUIRED = {
    "tracevault_spans_received_total", "tracevault_spans_accepted_total", "tracevault_spans_rejected_total",
    "tracevault_spans_failed_closed_total", "tracevault_redactions_total", "tracevault_cache_hits_total",
    "tracevault_cache_misses_total", "tracevault_spool_bytes", "tracevault_flush_failures", "tracevault_redaction_seconds_bucket",
}


def scrape(tmp_path: Path) -> str:
    document = sidecar_document(tmp_path / "data", None, {"vault_enabled": True, "spool": {"fsync": False, "flush_interval_seconds": 0.2}})
    server = start_sidecar(parse_config(document))
    try:
        _post(server.traces_url, "acme", make_request([make_span("chat gpt-4o", {"input.value": f"mail me at {EMAIL}"})]))
        # one resource with a tenant id that is not valid: a partial success, counted by reason
        mixed = make_request([make_span("chat gpt-4o", {})], resource={"tenant.id": "Not A Tenant!"})
        mixed.resource_spans.extend(make_request([make_span("chat gpt-4o", {})]).resource_spans)
        answer = requests.post(server.traces_url, data=mixed.SerializeToString(), timeout=WAIT_SECONDS,
                               headers={"Content-Type": "application/x-protobuf"})
        assert answer.status_code == 200
        return requests.get(f"{server.base_url}/metrics", timeout=WAIT_SECONDS).text
    finally:
        server.stop()


def exported(text: str) -> tuple[set[str], dict[str, set[str]]]:
    """Sample names the server can emit (a labelled family with no child yet counts by its
    declared suffixes) and the labels seen per sample name."""
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in text_string_to_metric_families(text):
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        for sample in family.samples:
            names.add(sample.name)
            labels.setdefault(sample.name, set()).update(sample.labels)
    return names, labels


def test_dashboard_loads_and_every_query_names_exported_metrics(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and isinstance(dashboard["schemaVersion"], int)
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    names, labels = exported(scrape(tmp_path))
    referenced: set[str] = set()
    for panel in panels:
        assert panel["title"] and panel["type"] == "timeseries" and set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"]
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")"), panel["title"]
            metrics = set(_METRIC.findall(expr))
            assert metrics, panel["title"]
            assert metrics <= names, f"{panel['title']}: {sorted(metrics - names)} not exported"
            for grouping in _BY.findall(expr):
                for label in (g.strip() for g in grouping.split(",")):
                    seen = set().union(*(labels.get(m, set()) for m in metrics))
                    assert label == "le" or label in seen or not any(labels.get(m) for m in metrics), f"{panel['title']}: label {label}"
            referenced |= metrics
    assert REQUIRED <= referenced
    # the labels the panels group by really are on the samples the scrape returned
    assert {"reason"} <= labels["tracevault_spans_rejected_total"] and {"entity"} <= labels["tracevault_redactions_total"]
