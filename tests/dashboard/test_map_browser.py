"""The Topic map in Chromium, on a run above the point budget and with stray documents.

The server runs with ``TOPICTRENDS_MAP_POINTS=60`` so the 300-document ``arxiv`` run (hashing
backend) is above the budget: the density image shows, and a lasso lists documents that were
not drawn. A copy of the run with three documents moved far away checks the default view's
robust range (strays at the edge, marked) and that no two topic labels overlap.

Skipped when /usr/bin/chromium or Playwright is missing; under CI=true that is a failure
(``hosted.require_browser``).
"""

from __future__ import annotations

import html
import re

import dashboard_browser as bt
import hosted
import numpy as np
import pandas as pd
import pytest
from update_fixture import republish

from dashboard.map_figures import BEYOND_CODE, BEYOND_SYMBOL
from dashboard.run_data import date_strings
from pipeline.store.cache import Store

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BUDGET = 60
STRAYS = "strays"

# Every drawn annotation's box, in page pixels.
LABEL_BOXES_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] g.annotation')]
  .map(g => { const r = g.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; })"""

# The map's x range, its points' x values and marker symbols, and how many points plotly
# marked as selected (the drawn ones only).
PLOT_JS = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const pts = gd._fullData.filter(t => t.type === 'scattergl');
  return {
    range: gd._fullLayout.xaxis.range,
    x: pts.flatMap(t => Array.from(t.x)),
    symbols: pts.flatMap(t => Array.isArray(t.marker.symbol) || ArrayBuffer.isView(t.marker.symbol)
      ? Array.from(t.marker.symbol) : Array.from(t.x, () => t.marker.symbol)),
    selected: pts.reduce((n, t) => n + (t.selectedpoints ? t.selectedpoints.length : 0), 0),
    heatmap: gd._fullData.filter(t => t.type === 'heatmap').length,
  };
}"""


# The drawn point farthest from any other (and from the plot's edges): where it is on the
# page, its trace (topic) and its document's row.
LONELY_POINT_JS = """() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const fl = gd._fullLayout, box = gd.getBoundingClientRect(), m = 40;
  const pts = [];
  gd._fullData.forEach(t => {
    if (t.type !== 'scattergl') return;
    for (let i = 0; i < t.x.length; i++) {
      const px = fl._size.l + fl.xaxis.l2p(t.x[i]), py = fl._size.t + fl.yaxis.l2p(t.y[i]);
      pts.push({px: box.left + px, py: box.top + py, name: t.name, row: Number(t.customdata[i]),
                inner: px > fl._size.l + m && px < fl._size.l + fl._size.w - m &&
                       py > fl._size.t + m && py < fl._size.t + fl._size.h - m});
    }
  });
  let best = null, far = -1;
  for (const p of pts.filter(p => p.inner)) {
    const d = Math.min(...pts.filter(q => q !== p).map(q => Math.hypot(p.px - q.px, p.py - q.py)));
    if (d > far) { far = d; best = p; }
  }
  return best;
}"""


@pytest.fixture(scope="module")
def map_root(dashboard_runs, tmp_path_factory):
    """The dated run, and a copy of it whose first three documents sit far from the rest."""
    root = tmp_path_factory.mktemp("map") / "cache"
    store = Store(root)
    src = (dashboard_runs.root / "runs" / dashboard_runs.dated).resolve()
    republish(store, dashboard_runs.dated, source=src)
    docs = pd.read_parquet(src / "documents.parquet")
    span = float(docs["x"].max() - docs["x"].min())
    far = docs["x"].max() + np.array([6.0, 7.0, 8.0]) * span
    docs.loc[[0, 1, 2], "x"] = far.astype(docs["x"].dtype)
    republish(store, STRAYS, frames={"documents": docs}, source=src)
    return root, float(far[0])


@pytest.fixture(scope="module")
def server(map_root, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-map") / "serve.log"
    with bt.serve(map_root[0], log=log, env={"TOPICTRENDS_MAP_POINTS": str(BUDGET)}) as base:
        yield base


@pytest.fixture(scope="module")
def page(server):
    hosted.require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = bt.launch(p)
        context = browser.new_context(viewport={"width": 1440, "height": 1300})
        yield context.new_page()
        browser.close()


def shot(page, name: str) -> None:
    bt.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(bt.SCREENSHOTS / f"{name}.png"))


def _drag(page, tool: str, path: list[tuple[float, float]]) -> None:
    """Pick ``tool`` in the chart's toolbar and drag along ``path`` (fractions of the plot)."""
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    page.locator(f'.modebar-btn[data-title="{tool}"]').first.click()
    box = chart.locator(".nsewdrag").first.bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in path]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=2)
    page.mouse.up()


def test_above_the_budget_the_density_shows_and_a_lasso_lists_undrawn_documents(server, page):
    bt.open_page(page, server, "map", run="arxiv")
    assert page.locator('[data-testid="stPlotlyChart"] .hm image').count() == 1  # the density
    plot = page.evaluate(PLOT_JS)
    assert plot["heatmap"] == 1 and len(plot["x"]) <= BUDGET + 10
    assert page.get_by_text(re.compile(r"drawn as points")).count() == 1
    ring = [(0.5 + 0.45 * np.cos(a), 0.5 + 0.45 * np.sin(a)) for a in np.linspace(0, 6.2, 12)]
    _drag(page, "Lasso Select", ring)
    heading = page.get_by_text(re.compile(r"^[\d,]+ selected documents$"))
    heading.wait_for(timeout=30_000)
    bt.wait_idle(page)
    listed = int(heading.inner_text().split()[0].replace(",", ""))
    drawn_selected = page.evaluate(PLOT_JS)["selected"]
    assert listed > drawn_selected > 0  # documents that were not drawn are listed too
    assert bt.exceptions(page) == []
    shot(page, "map-density-lasso")
    page.get_by_role("button", name=re.compile("Zoom to selection")).click()
    page.wait_for_url(re.compile(r"[?&]zoom="), timeout=30_000)
    bt.wait_idle(page)
    assert page.get_by_text(re.compile(r"in this zoomed view")).count() == 1
    assert bt.exceptions(page) == []


def test_the_hover_shows_the_title_date_and_topic(server, page, dashboard_runs):
    """Hover text is sent as a title array and a date array joined by the trace's template,
    the topic once per trace: the browser still shows all three for the point under the
    mouse (a drawn sample point, above the budget)."""
    bt.open_page(page, server, "map", run="arxiv")
    point = page.evaluate(LONELY_POINT_JS)
    page.mouse.move(point["px"], point["py"])
    label = page.locator(".hoverlayer .hovertext").first
    label.wait_for(timeout=10_000)
    shown = " ".join(label.locator("text").all_text_contents())
    docs = pd.read_parquet(
        dashboard_runs.root / "runs" / dashboard_runs.dated / "documents.parquet",
        columns=["title", "date", "date_precision"],
    ).iloc[[point["row"]]]
    assert " ".join(str(docs["title"].iloc[0]).split()[:3]) in shown, shown
    date = date_strings(docs["date"], docs["date_precision"]).iloc[0]
    assert date and date in shown, shown
    # The topic: the trace's name, "12: label · label", which plotly cuts to 15 characters.
    assert html.unescape(point["name"])[:12] in shown, shown
    page.mouse.move(1, 1)


def test_default_view_is_the_robust_range_and_labels_do_not_overlap(server, page, map_root):
    bt.open_page(page, server, "map", run=STRAYS)
    plot = page.evaluate(PLOT_JS)
    x = np.array(plot["x"], dtype=float)
    lo, hi = plot["range"]
    tol = 1e-5 * (hi - lo)  # the drawn coordinates are float32
    assert hi < map_root[1]  # the strays do not stretch the view...
    assert x.max() <= hi + tol and x.min() >= lo - tol  # ...they are drawn inside it
    assert (np.quantile(x, 0.95) - np.quantile(x, 0.05)) > 0.5 * (hi - lo)  # bulk fills it
    marked = [s for s in plot["symbols"] if s in (BEYOND_SYMBOL, BEYOND_CODE)]
    assert len(marked) >= 1  # the strays, marked at the edge
    boxes = page.evaluate(LABEL_BOXES_JS)
    assert len(boxes) >= 3
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]), (a, b)
    assert bt.exceptions(page) == []
    shot(page, "map-robust-range")
