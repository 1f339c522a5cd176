"""Time every dashboard page for one run in headless Chromium (not a test: a measurement).

    .venv/bin/python bench/measure_pages.py --cache-dir /tmp/big --run sotu_paragraphs

Starts ``topictrends serve``, then for each page measures (a) a cold load: a new browser
context opening the page's URL, until the app is idle (script done, no skeletons, every
chart drawn); (b) in-app navigation to the page through the sidebar, twice (the first time
fills the server's per-run caches; the second is what a user sees on every later visit).
Screenshots go to test-output/screenshots/<run>-<page>.png.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# The browser helpers live with the dashboard tests, which share them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "dashboard"))
import dashboard_browser as bt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--run", required=True)
    ap.add_argument("--rounds", type=int, default=2, help="in-app navigation rounds")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    bt.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    nav: dict[str, list[float]] = {p: [] for p in bt.PAGES}
    cold: dict[str, float] = {}
    t0 = time.perf_counter()
    with bt.serve(args.cache_dir) as base, sync_playwright() as p:
        startup = time.perf_counter() - t0
        browser = bt.launch(p)
        ctx = browser.new_context(viewport={"width": 1440, "height": 1500})
        page = ctx.new_page()
        first = bt.open_page(page, base, "overview", run=args.run)  # the run is read here, once
        for _ in range(args.rounds):
            for name in (*bt.PAGES[1:], "overview"):
                nav[name].append(bt.navigate(page, name))
                assert not bt.exceptions(page), bt.exceptions(page)
                page.screenshot(path=str(bt.SCREENSHOTS / f"{args.run}-{name}.png"))
        ctx.close()
        for name in bt.PAGES:
            c = browser.new_context(viewport={"width": 1440, "height": 1500})
            pg = c.new_page()
            cold[name] = bt.open_page(pg, base, name, run=args.run)
            c.close()
        browser.close()
    print(
        f"server start to healthy: {startup:.1f}s; first page of the session (reads the run): {first:.1f}s"
    )
    print(f"{'page':<10} {'cold load':>10} {'navigate (1st)':>15} {'navigate (later, median)':>25}")
    for name in bt.PAGES:
        later = statistics.median(nav[name][1:]) if len(nav[name]) > 1 else float("nan")
        print(f"{name:<10} {cold[name]:>9.2f}s {nav[name][0]:>14.2f}s {later:>24.2f}s")
    print(f"screenshots: {bt.SCREENSHOTS}/{args.run}-<page>.png")


if __name__ == "__main__":
    main()
