"""`tracevault report`: a tenant's observability over a time window, from metrics rows only.

The report is the shipped views (observe/queries) run over the tenant's rows in the window,
plus the span timings of its traces for a waterfall. It reads no payload, so it needs no grant.
Three renderings: ``table`` (text), ``json`` and ``html`` (one self-contained file, see
:mod:`observe.html`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from observe.queries import connect, load_evaluations, load_metrics
from vault.store import ObjectStore

#: Sections of the report: (key, title, SQL over the views).
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("latency_by_span", "Latency by span (ms)", "select name, spans, p50_ms, p95_ms, p99_ms from latency_by_span order by p95_ms desc"),
    ("ttft_tpot", "TTFT and TPOT p95 by day (ms)",
     "select day, max(ttft_p95_ms) ttft_p95_ms, max(tpot_p95_ms) tpot_p95_ms, sum(calls) calls from ttft_tpot_by_model_day group by day order by day"),
    ("tokens_per_s", "Output tokens per second", "select day, model, calls, p50_tokens_per_s, overall_tokens_per_s from tokens_per_s order by day, model"),
    ("errors", "Errors and retries by day", "select * from error_retry_rate order by day"),
    ("cost_per_day", "Cost per day (USD)", "select day, traces, cost_usd, cost_per_trace_usd from cost_per_day order by day"),
    ("cost_per_feature", "Cost per feature (USD)", "select * from cost_per_feature order by cost_usd desc"),
    ("cost_per_request", "Cost per request by model (USD)", "select * from cost_per_request order by day, model"),
    ("cache", "Cache hit rate by day", "select * from cache_hit_rate order by day"),
    ("rates", "Refusal and tool-failure rates by day",
     "select coalesce(r.day, t.day) as day, r.refusal_rate, t.failure_rate as tool_failure_rate from "
     "(select day, sum(refusals) / sum(answers) refusal_rate from refusal_rate group by day) r full outer join "
     "(select day, sum(failures) / sum(calls) failure_rate from tool_failure_rate group by day) t on r.day = t.day order by 1"),
    ("tool_failures", "Tool failures by tool", "select * from tool_failure_rate order by day, tool_name"),
    ("retrieval_scores", "Retrieval scores by day", "select * from retrieval_scores order by day"),
    ("language_mix", "Language mix", "select language, sum(calls) calls, sum(calls) / (select sum(calls) from language_mix) share "
     "from language_mix group by language order by calls desc"),
    ("output_length", "Output length by day", "select * from output_length order by day, model"),
    ("redactions", "Redactions by type", "select entity, sum(redactions) redactions from redactions_by_type group by entity order by 2 desc"),
    ("evaluations", "Evaluations by name", "select name, sum(results) results, sum(mean_score * results) / sum(results) mean_score "
     "from evaluation_scores group by name order by name"),
)
#: Traces carried for the waterfall (the most recent ones, plus any asked for by id).
MAX_TRACES = 200


@dataclass
class Report:
    tenant: str
    since: datetime | None
    until: datetime | None
    rows: int
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    traces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "rows": self.rows,
            "sections": self.sections,
            "traces": self.traces,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _query(con: Any, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [{n: _plain(v) for n, v in zip(names, row)} for row in cursor.fetchall()]


def _traces(metrics: pa.Table, wanted: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Span timings per trace: name, parent, offset from the trace's first span, duration, status."""
    columns = metrics.select(["trace_id", "span_id", "parent_span_id", "name", "start_time", "duration_ms", "status_code"]).to_pylist()
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for row in columns:
        if row["trace_id"] and row["start_time"] is not None:
            by_trace.setdefault(row["trace_id"], []).append(row)
    recent = sorted(by_trace, key=lambda t: min(r["start_time"] for r in by_trace[t]), reverse=True)[:MAX_TRACES]
    chosen = dict.fromkeys([*[t for t in wanted if t in by_trace], *recent])
    out: dict[str, list[dict[str, Any]]] = {}
    for trace_id in chosen:
        spans = sorted(by_trace[trace_id], key=lambda r: r["start_time"])
        first = spans[0]["start_time"]
        out[trace_id] = [
            {
                "span_id": s["span_id"], "parent_span_id": s["parent_span_id"], "name": s["name"],
                "offset_ms": (s["start_time"] - first).total_seconds() * 1000.0, "duration_ms": s["duration_ms"] or 0.0,
                "status": s["status_code"],
            }
            for s in spans
        ]
    return out


def build_report(store: ObjectStore, tenant: str, since: datetime | None, until: datetime | None, trace_ids: tuple[str, ...] = ()) -> Report:
    metrics = load_metrics(store, tenant, since, until)
    con = connect(metrics, load_evaluations(store, tenant, since, until))
    report = Report(tenant, since, until, metrics.num_rows)
    for key, _, sql in SECTIONS:
        report.sections[key] = _query(con, sql)
    report.traces = _traces(metrics, trace_ids)
    return report


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_table(report: Report) -> str:
    """Plain-text tables, one per section (the waterfall is in the HTML and JSON forms)."""
    window = f"{report.since.isoformat() if report.since else 'start'} .. {report.until.isoformat() if report.until else 'now'}"
    lines = [f"tracevault report: tenant {report.tenant}, {window}, {report.rows} spans", ""]
    for key, title, _ in SECTIONS:
        rows = report.sections.get(key) or []
        lines.append(f"== {title}")
        if not rows:
            lines.extend(["(no data)", ""])
            continue
        names = list(rows[0])
        cells = [[_cell(r[n]) for n in names] for r in rows]
        widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
        lines.append("  ".join(n.ljust(w) for n, w in zip(names, widths)))
        lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells)
        lines.append("")
    return "\n".join(lines)
