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

``--floor`` also measures ``bench/streamlit_floor.py``, a bare Streamlit page with one
sidebar multiselect, the same way: Streamlit's own first render and rerun cost in this
browser on this machine, which no dashboard built on it can go below.
Results are printed and written as JSON (default bench/results/dashboard.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def serve_floor() -> Iterator[str]:
    """``streamlit run bench/streamlit_floor.py`` on a free port; yields its base URL."""
    port = bt.free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "bench" / "streamlit_floor.py")]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--server.headless", "true", "--server.fileWatcherType", "none"]
    cmd += ["--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        bt.wait_healthy(proc, base, 90.0, "streamlit run bench/streamlit_floor.py")
        yield base
    finally:
        bt.stop(proc)


def measure_floor(browser, sessions: int, repeats: int) -> dict:  # noqa: ANN001
    """First render (new sessions) and multiselect pick of the bare Streamlit page."""

    out: dict = {}
    with serve_floor() as base:
        ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
        bt.open_page(ctx.new_page(), base, "overview")  # first session after start: untimed
        ctx.close()
        renders = []
        for _ in range(sessions):
            ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
            renders.append(bt.open_page(ctx.new_page(), base, "overview"))
            ctx.close()
        out["floor_first_render_new_session_s"] = [round(x, 2) for x in renders]
        ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
        page = ctx.new_page()
        times = []
        for i in range(repeats):
            bt.open_page(page, base, "overview")  # the page root, as for the dashboard
            times.append(pick_topic(page, i + 1))
        out["floor_topic_filter_s"] = [round(x, 3) for x in times]
        ctx.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--run", required=True)
    ap.add_argument("--sessions", type=int, default=3, help="new sessions timed after the first")
    ap.add_argument("--repeats", type=int, default=5, help="topic picks timed per page")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "dashboard.json")
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also measure a bare Streamlit page (bench/streamlit_floor.py) the same way",
    )
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
        if args.floor:
            report.update(measure_floor(browser, args.sessions, args.repeats))
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
    if args.floor:
        r, t = report["floor_first_render_new_session_s"], report["floor_topic_filter_s"]
        print(f"bare Streamlit page: first render median {statistics.median(r):.2f} s, ", end="")
        print(f"multiselect pick median {statistics.median(t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
