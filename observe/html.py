"""The HTML report: one self-contained file, no network fetches.

Charts are inline SVG drawn here in Python; the per-trace waterfall is drawn by a short inline
script from the span timings embedded as JSON (so any trace id in the window can be picked).
There are no external stylesheets, scripts, fonts or images, and a Content-Security-Policy meta
tag forbids loading any. Every label is escaped; the embedded JSON escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from observe.report import SECTIONS, Report

WIDTH = 640
PALETTE = ("#3b6fb6", "#e0833a", "#4a9a5b", "#b8454b", "#7d5fb2", "#8c6d3f")
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _legend(series: Sequence[tuple[str, Sequence[Any]]], y: int) -> str:
    parts = []
    for i, (name, _) in enumerate(series):
        x = 10 + i * 150
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{y + 9}" class="legend">{escape(name)}</text>')
    return "".join(parts)


def bar_chart(key: str, title: str, categories: Sequence[Any], series: Sequence[tuple[str, Sequence[Any]]]) -> str:
    """Horizontal grouped bars: one row per category, one bar per series."""
    if not categories:
        return _empty(key, title)
    label_width, bar_height, gap = 190, 9, 8
    row_height = bar_height * len(series) + gap
    height = 40 + row_height * len(categories) + 20
    peak = max((v for _, values in series for v in map(_number, values) if v is not None), default=0.0) or 1.0
    plot = WIDTH - label_width - 70
    marks = []
    for row, category in enumerate(categories):
        top = 30 + row * row_height
        marks.append(f'<text x="{label_width - 6}" y="{top + row_height / 2}" class="axis" text-anchor="end">{escape(str(category))}</text>')
        for i, (name, values) in enumerate(series):
            value = _number(values[row])
            width = 0.0 if value is None else max(1.0, plot * value / peak)
            y = top + i * bar_height
            marks.append(f'<rect class="bar" x="{label_width}" y="{y}" width="{width:.1f}" height="{bar_height - 1}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(name)}: {_fmt(value)}</title></rect>'
                         f'<text x="{label_width + width + 4:.1f}" y="{y + bar_height - 1}" class="value">{_fmt(value)}</text>')
    return _svg(key, title, height, "".join(marks) + _legend(series, height - 14))


def line_chart(key: str, title: str, xs: Sequence[Any], series: Sequence[tuple[str, Sequence[Any]]]) -> str:
    """Lines over ordered x labels (days); a single day shows as points."""
    if not xs:
        return _empty(key, title)
    left, right, top, bottom = 60, 50, 30, 200
    values = [v for _, vs in series for v in map(_number, vs) if v is not None]
    peak = max(values, default=0.0) or 1.0
    step = (WIDTH - left - right) / max(1, len(xs) - 1)
    marks = [f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - right}" y2="{bottom}" class="grid"/>',
             f'<text x="{left - 6}" y="{top + 4}" class="axis" text-anchor="end">{_fmt(peak)}</text>',
             f'<text x="{left - 6}" y="{bottom}" class="axis" text-anchor="end">0</text>']
    for j, x in enumerate(xs):
        marks.append(f'<text x="{left + j * step:.1f}" y="{bottom + 16}" class="axis" text-anchor="middle">{escape(str(x))}</text>')
    for i, (name, vs) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = [(left + j * step, bottom - (bottom - top) * v / peak, v) for j, v in enumerate(map(_number, vs)) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            dash = ' stroke-dasharray="6 4"' if i % 2 else ""  # overlapping series stay distinguishable
            marks.append(f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        marks.extend(f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"><title>{escape(name)}: {_fmt(v)}</title></circle>'
                     for px, py, v in points)
    return _svg(key, title, bottom + 44, "".join(marks) + _legend(series, bottom + 30))


def _svg(key: str, title: str, height: float, body: str) -> str:
    return (f'<figure><svg class="chart" data-chart="{escape(key)}" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'width="{WIDTH}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            f'<text x="10" y="16" class="title">{escape(title)}</text>{body}</svg></figure>')


def _empty(key: str, title: str) -> str:
    return _svg(key, title, 50, '<text x="10" y="38" class="axis">no data in this window</text>')


def _column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [r.get(name) for r in rows]


def charts(report: Report) -> list[str]:
    s = report.sections
    latency = s.get("latency_by_span", [])[:15]
    ttft = s.get("ttft_tpot", [])
    cost = s.get("cost_per_day", [])
    rates = s.get("rates", [])
    scores = s.get("retrieval_scores", [])
    languages = s.get("language_mix", [])
    return [
        bar_chart("latency_by_span", "Latency by span (ms)", _column(latency, "name"),
                  [("p50", _column(latency, "p50_ms")), ("p95", _column(latency, "p95_ms")), ("p99", _column(latency, "p99_ms"))]),
        line_chart("ttft_tpot", "TTFT and TPOT p95 (ms)", _column(ttft, "day"),
                   [("TTFT p95", _column(ttft, "ttft_p95_ms")), ("TPOT p95", _column(ttft, "tpot_p95_ms"))]),
        bar_chart("cost_per_day", "Cost per day (USD)", _column(cost, "day"), [("cost", _column(cost, "cost_usd"))]),
        line_chart("rates", "Refusal and tool-failure rates", _column(rates, "day"),
                   [("refusal rate", _column(rates, "refusal_rate")), ("tool failure rate", _column(rates, "tool_failure_rate"))]),
        line_chart("retrieval_scores", "Retrieval scores (mean, p05, p95)", _column(scores, "day"),
                   [("mean", _column(scores, "mean_score")), ("p05", _column(scores, "p05_mean_score")), ("p95", _column(scores, "p95_mean_score"))]),
        bar_chart("language_mix", "Language mix (share of calls)", _column(languages, "language"), [("share", _column(languages, "share"))]),
    ]


def _tables(report: Report) -> str:
    parts = []
    for key, title, _ in SECTIONS:
        rows = report.sections.get(key) or []
        if not rows:
            continue
        head = "".join(f"<th>{escape(n)}</th>" for n in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{escape(_fmt(v) if isinstance(v, float) else str(v))}</td>" for v in r.values()) + "</tr>" for r in rows[:50])
        parts.append(f'<details><summary>{escape(title)}</summary><table data-section="{escape(key)}"><tr>{head}</tr>{body}</table></details>')
    return "".join(parts)


_STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1360px}
h1{font-size:20px}.grid{stroke:#ccc}.axis,.legend,.value{font-size:11px;fill:#444}.title{font-size:13px;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;border:1px solid #e4e4e4;border-radius:4px;padding:4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 6px;font-size:12px}
#waterfall-form{margin:8px 0}input{font:13px monospace;width:300px}.error{fill:#b8454b}.ok{fill:#3b6fb6}
"""

_SCRIPT = """
(function () {
  const traces = JSON.parse(document.getElementById('trace-data').textContent);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.getElementById('waterfall');
  const picker = document.getElementById('trace-id');
  const note = document.getElementById('waterfall-note');
  function el(name, attrs, text) {
    const node = document.createElementNS(ns, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function draw(traceId) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const spans = traces[traceId];
    if (!spans) { note.textContent = 'No trace ' + traceId + ' in this window.'; svg.setAttribute('height', 0); return; }
    note.textContent = traceId + ': ' + spans.length + ' spans';
    const end = Math.max.apply(null, spans.map(s => s.offset_ms + s.duration_ms)) || 1;
    const left = 220, width = 640 - left - 70, row = 18;
    svg.setAttribute('height', 24 + spans.length * row);
    svg.setAttribute('viewBox', '0 0 640 ' + (24 + spans.length * row));
    spans.forEach(function (s, i) {
      const y = 10 + i * row, x = left + width * s.offset_ms / end, w = Math.max(1, width * s.duration_ms / end);
      svg.appendChild(el('text', {x: left - 6, y: y + 11, 'text-anchor': 'end', 'class': 'axis'}, s.name));
      const bar = el('rect', {x: x, y: y, width: w, height: row - 5, 'class': 'span ' + (s.status === 'error' ? 'error' : 'ok')});
      bar.appendChild(el('title', {}, s.name + ': ' + s.duration_ms.toFixed(1) + ' ms at +' + s.offset_ms.toFixed(1) + ' ms'));
      svg.appendChild(bar);
      svg.appendChild(el('text', {x: x + w + 4, y: y + 11, 'class': 'value'}, s.duration_ms.toFixed(0) + ' ms'));
    });
  }
  document.getElementById('waterfall-form').addEventListener('submit', function (event) {
    event.preventDefault();
    draw(picker.value.trim().toLowerCase());
  });
  const initial = document.body.getAttribute('data-trace') || Object.keys(traces)[0];
  if (initial) { picker.value = initial; draw(initial); }
})();
"""


def _embedded_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(report: Report, trace_id: str | None = None) -> str:
    window = f"{report.since.isoformat() if report.since else 'the start'} to {report.until.isoformat() if report.until else 'now'}"
    options = "".join(f'<option value="{escape(t)}">' for t in report.traces)
    initial = escape(trace_id or "")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>tracevault report: {escape(report.tenant)}</title><style>{_STYLE}</style></head>"
        f'<body data-trace="{initial}"><h1>tracevault report: tenant {escape(report.tenant)}</h1>'
        f"<p>{report.rows} spans from {escape(window)}. Built from metrics rows only: no content, no grant.</p>"
        f'<div class="charts">{"".join(charts(report))}</div>'
        '<h2>Trace waterfall</h2><form id="waterfall-form"><input id="trace-id" list="trace-ids" placeholder="trace id" '
        f'aria-label="trace id"><datalist id="trace-ids">{options}</datalist> <button type="submit">Show</button></form>'
        '<p id="waterfall-note"></p><svg id="waterfall" class="chart" data-chart="waterfall" width="640" height="0" '
        'xmlns="http://www.w3.org/2000/svg"></svg>'
        f"<h2>Tables</h2>{_tables(report)}"
        f'<script type="application/json" id="trace-data">{_embedded_json(report.traces)}</script>'
        f"<script>{_SCRIPT}</script></body></html>"
    )
