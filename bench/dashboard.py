"""Dashboard speed in headless Chromium: first full render of a run, and a topic filter.

    .venv/bin/python bench/dashboard.py --cache-dir /tmp/realcache --run sotu_paragraphs

Starts ``topictrends serve`` on the cache, then measures, in Debian's Chromium:

- ``first render (server cold)``: the first session after the server started opens the
  Overview; this session reads the run's Parquet files into the server's caches;
- ``first render (new session)``: later sessions, each a new browser context, opening the
  Overview (the run is already in the server's caches: what every later visitor sees);
- ``topic filter``: on the Overview and on the Documents page, pick one topic in the
  sidebar's Topics filter, from the keypress until the page is idle again (script done,
  every chart drawn); then clear it. Median and max over ``--repeats`` topics.

"Idle" is the same condition the browser tests wait for (tests/dashboard/dashboard_browser.py).
Results are printed and written as JSON (default bench/results/dashboard.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "dashboard"))

import dashboard_browser as bt  # noqa: E402


def pick_topic(page, index: int) -> float:  # noqa: ANN001 - playwright page
    """Choose the index-th option of the sidebar's Topics filter; seconds until idle."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    box.click()
    options = page.locator('[role="option"]')
    options.first.wait_for(timeout=30_000)
    option = options.nth(index % options.count())
    t0 = time.perf_counter()
    option.click()
    page.wait_for_timeout(50)  # let the rerun start before waiting for idle
    bt.wait_idle(page)
    seconds = time.perf_counter() - t0
    page.keyboard.press("Escape")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--run", required=True)
    ap.add_argument("--sessions", type=int, default=3, help="new sessions timed after the first")
    ap.add_argument("--repeats", type=int, default=5, help="topic picks timed per page")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "dashboard.json")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    report: dict = {"run": args.run, "loadavg_at_start": os.getloadavg()}
    t0 = time.perf_counter()
    with bt.serve(args.cache_dir) as base, sync_playwright() as p:
        report["server_start_s"] = round(time.perf_counter() - t0, 2)
        browser = bt.launch(p)

        def fresh():  # noqa: ANN202
            return browser.new_context(viewport={"width": 1440, "height": 1200})

        ctx = fresh()
        page = ctx.new_page()
        report["first_render_server_cold_s"] = round(
            bt.open_page(page, base, "overview", run=args.run), 2
        )
        ctx.close()
        renders = []
        for _ in range(args.sessions):
            ctx = fresh()
            page = ctx.new_page()
            renders.append(bt.open_page(page, base, "overview", run=args.run))
            assert not bt.exceptions(page), bt.exceptions(page)
            ctx.close()
        report["first_render_new_session_s"] = [round(x, 2) for x in renders]
        for name in ("overview", "documents"):
            ctx = fresh()
            page = ctx.new_page()
            bt.open_page(page, base, name, run=args.run)
            times = []
            for i in range(args.repeats):
                times.append(pick_topic(page, i + 1))
                # back to all topics for the next pick: reopen the page without the filter
                bt.open_page(page, base, name, run=args.run)
            assert not bt.exceptions(page), bt.exceptions(page)
            report[f"topic_filter_{name}_s"] = [round(x, 3) for x in times]
            ctx.close()
        browser.close()
    report["loadavg_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"server start {report['server_start_s']} s")
    print(f"first render, first session after start: {report['first_render_server_cold_s']} s")
    print(
        f"first render, new session: median {statistics.median(renders):.2f} s, max {max(renders):.2f} s"
    )
    for name in ("overview", "documents"):
        t = report[f"topic_filter_{name}_s"]
        print(
            f"topic filter on {name}: median {statistics.median(t) * 1000:.0f} ms, max {max(t) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
