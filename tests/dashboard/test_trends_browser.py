"""The Trends page in Chromium (issue 18): it opens on the dense window, the whole span is one
click away, sparse periods are faded markers off the line, and counts replace shares.

The run: conftest's dated run (300 papers of the bundled arXiv sample, 2010-2019), by
quarter. Until 2017 Q3 a quarter holds 0 to 10 of them (18 sparse quarters), from 2017 Q4
15 to 40: the sparse early stretch of the issue, then dense.
Skipped when /usr/bin/chromium or Playwright is missing (a failure under CI=true).
"""

from __future__ import annotations

import dashboard_browser as bt
import hosted
import pandas as pd
import pytest

from dashboard import trend_data

pytestmark = [pytest.mark.slow, pytest.mark.browser]
RUN = "arxiv"  # conftest.Fixtures.dated
IDLE_MS = 180_000
DENSE_FROM = pd.Timestamp("2017-10-01")
# Plotly's own data on the page, per chart: each trace's meta, x and y as plotly.js decoded
# them (``_fullData``: typed arrays made plain, NaN as null).
CHART_JS = """(key) => {
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  const num = (v) => (v === null || v === undefined || Number.isNaN(Number(v))) ? null : Number(v);
  return gd ? gd._fullData.map(t => ({
    meta: t._input?.meta ?? t.meta ?? null,
    x: Array.from(t.x ?? [], String),
    y: Array.from(t.y ?? [], num),
    opacity: t.marker?.opacity ?? null,
  })) : null;
}"""


@pytest.fixture(scope="module")
def page(dashboard_runs, tmp_path_factory):
    hosted.require_browser()
    from playwright.sync_api import sync_playwright

    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with bt.serve(dashboard_runs.root, log=log) as base, sync_playwright() as p:
        browser = bt.launch(p)
        page = browser.new_context(viewport={"width": 1300, "height": 1400}).new_page()
        page.base = base
        yield page
        browser.close()


def _open(page, **params: str) -> None:
    """Open the Trends page and wait until it has drawn (generously: a first page of a fresh
    server imports the app, and the test machine may be loaded)."""
    page.goto(bt.page_url(page.base, "trends", run=RUN, gran="quarter", **params))
    bt.wait_idle(page, timeout_ms=IDLE_MS)


def _lines(page) -> list[dict]:
    return page.evaluate(CHART_JS, "trend_lines")


def _first_x(traces: list[dict]) -> pd.Timestamp:
    return min(
        pd.Timestamp(x)
        for t in traces
        for x, y in zip(t["x"], t["y"], strict=True)
        if y is not None
    )


def test_the_page_opens_on_the_dense_window_and_the_whole_span_is_one_click_away(page):
    _open(page)
    assert bt.exceptions(page) == []
    lines = _lines(page)
    assert lines and {t["meta"] for t in lines} >= {"share", "band"}
    # Dense from 2017 Q4 (10+ papers a quarter, three quarters in a row); nothing earlier drawn.
    assert _first_x(lines) == DENSE_FROM, _first_x(lines)
    captions = page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]')
    assert captions.filter(has_text="where the data turns dense").count() == 1
    bt.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(bt.SCREENSHOTS / "trends-dense-window.png"))

    page.locator(".st-key-w-span label").click()
    page.wait_for_url("**span=all**", timeout=30_000)
    bt.wait_idle(page, timeout_ms=IDLE_MS)
    assert _first_x(_lines(page)) < pd.Timestamp("2013-01-01")


def test_sparse_periods_are_faded_markers_off_the_line(page):
    _open(page, span="all")
    lines = _lines(page)
    share = [t for t in lines if t["meta"] == "share"]
    sparse = [t for t in lines if t["meta"] == "sparse"]
    assert share and len(sparse) == len(share)
    faded = 0
    for line, dots in zip(share, sparse, strict=True):
        drawn = {x for x, y in zip(dots["x"], dots["y"], strict=True) if y is not None}
        faded += len(drawn)
        assert all(pd.Timestamp(x) < DENSE_FROM for x in drawn)
        # The line has no value where a marker is faded: it is not joined through them.
        assert all(y is None for x, y in zip(line["x"], line["y"], strict=True) if x in drawn)
        assert dots["opacity"] < 1
    assert faded, "the topics on the lines have papers in sparse quarters"
    # Faded open markers are what the browser drew.
    assert page.locator(".st-key-trend_lines path.point").count() > 0
    page.screenshot(path=str(bt.SCREENSHOTS / "trends-whole-span.png"))

    page.locator(".st-key-w-tv button").filter(has_text="counts").click()
    page.wait_for_url("**tv=counts**", timeout=30_000)
    bt.wait_idle(page, timeout_ms=IDLE_MS)
    counts = _lines(page)
    assert {t["meta"] for t in counts} == {"count"}
    assert all(float(y).is_integer() for t in counts for y in t["y"] if y is not None)


def test_the_rules_the_page_applies_are_the_data_helpers(dated_run):
    """The fixture really has the shape the browser tests rely on (dense from 2017 Q4)."""
    from dashboard.time_data import over_time_at, share_matrix

    run = dated_run
    ot = over_time_at(run.docs, "quarter", run.over_time, run.manifest.get("period"))
    m = share_matrix(ot.table, "quarter")
    totals = trend_data.period_totals(ot.table, m.columns)
    start = trend_data.dense_start(totals)
    assert start == DENSE_FROM and len(trend_data.sparse_periods(totals)) == 18
    assert trend_data.sparse_periods(totals)
