"""The HTML report in a real headless Chromium: charts drawn, no console errors, no network
request but the file itself, the waterfall redrawn for a trace id typed in; a screenshot is
saved to docs/report-screenshot.png.

Run with `make browser-test` (it installs Debian's chromium when missing); `make test` leaves
this module out (marker `browser`).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from observe.html import render_html
from observe.report import build_report
from tests.browser.cdp import Browser
from tests.observe.conftest import NOW, ObservedStore
from vault.store import LocalStore

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "report-screenshot.png"
CHARTS = ("latency_by_span", "ttft_tpot", "cost_per_day", "rates", "retrieval_scores", "language_mix")
MARKS = "rect.bar, circle.point, polyline.line"


@pytest.fixture(scope="module")
def page(observed_store: ObservedStore, tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("browser")
    report = build_report(LocalStore(observed_store.root), "acme", NOW.replace(year=2025, month=12, day=31), NOW)
    path = directory / "report.html"
    path.write_text(render_html(report, observed_store.regressed_trace), encoding="utf-8")
    browser = Browser(directory / "profile")
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable")
        browser.call("Emulation.setDeviceMetricsOverride", width=1360, height=900, deviceScaleFactor=1, mobile=False)
        browser.call("Page.navigate", url=path.as_uri())
        browser.wait_for("Page.loadEventFired")
        yield browser, path, report
    finally:
        browser.close()


def test_charts_render_without_errors_or_fetches(page) -> None:
    browser, path, _ = page
    for chart in CHARTS:
        assert browser.evaluate(f"document.querySelectorAll('svg[data-chart=\"{chart}\"] :is({MARKS})').length") > 0, chart
        size = browser.evaluate(f"(() => {{ const r = document.querySelector('svg[data-chart=\"{chart}\"]').getBoundingClientRect(); return [r.width, r.height]; }})()")
        assert size[0] > 100 and size[1] > 40, chart
    assert browser.evaluate("document.querySelectorAll('#waterfall rect.span').length") == 4
    errors = [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert errors == []
    requests = {e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"}
    assert requests == {path.as_uri()}


def test_the_waterfall_follows_a_typed_trace_id(page) -> None:
    browser, _, report = page
    trace_id, spans = next((t, s) for t, s in report.traces.items() if len(s) == 9)  # a benchmark-workload trace
    browser.evaluate(f"document.getElementById('trace-id').value = '{trace_id}'; "
                     "document.getElementById('waterfall-form').requestSubmit(); true")
    assert browser.evaluate("document.querySelectorAll('#waterfall rect.span').length") == len(spans)
    assert trace_id in browser.evaluate("document.getElementById('waterfall-note').textContent")
    browser.evaluate("document.getElementById('trace-id').value = 'ffffffffffffffffffffffffffffffff'; "
                     "document.getElementById('waterfall-form').requestSubmit(); true")
    assert browser.evaluate("document.querySelectorAll('#waterfall rect.span').length") == 0
    assert "No trace" in browser.evaluate("document.getElementById('waterfall-note').textContent")


def test_screenshot(page) -> None:
    browser, _, report = page
    browser.evaluate(f"document.getElementById('trace-id').value = '{next(iter(report.traces))}'; "
                     "document.getElementById('waterfall-form').requestSubmit(); true")
    height = browser.evaluate("Math.ceil(document.querySelector('h2 + form').getBoundingClientRect().bottom + "
                              "document.getElementById('waterfall').getBoundingClientRect().height + 60)")
    shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": 1360, "height": height, "scale": 1})
    data = base64.b64decode(shot["data"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    SCREENSHOT.write_bytes(data)
