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
``--run`` may be repeated (a 23k and a 1M run, measured against the same floor in one go);
for each run the bench also records the bytes the server sent over the websocket for each
view opened in a new session, the server's memory after the run's views (resident,
anonymous and file-backed, from /proc/PID/smaps_rollup) and, with ``--search``, the
semantic search time at top 50 after the query is embedded (in this process, on the run's
memory-mapped embeddings). A 1M-document run: bench/big_run.py.
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
# the package first: this script's own name would otherwise shadow ``dashboard``
sys.path[:0] = [str(REPO), str(REPO / "tests" / "dashboard")]

import dashboard_browser as bt  # noqa: E402

bt.wait_idle.__defaults__ = (300_000,)  # a loaded machine: a 1M-document run may take minutes


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


@contextlib.contextmanager
def serve(cache: Path) -> Iterator[tuple[str, int]]:
    """``topictrends serve`` on ``cache`` (as ``bt.serve``); yields its base URL and pid."""
    port = bt.free_port()
    cmd = [*bt._topictrends(), "serve", "--cache-dir", str(cache), "--port", str(port)]
    cmd += ["--host", "127.0.0.1"]
    env = {**os.environ, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        bt.wait_healthy(proc, base, 120.0, "topictrends serve")
        yield base, proc.pid
    finally:
        bt.stop(proc)


def memory_mib(pid: int) -> dict[str, float]:
    """The server's memory from /proc/PID/smaps_rollup: resident in all, anonymous (its own
    heap: frames, indexes, caches) and file-backed (mapped files in the page cache, which the
    kernel can drop and share), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    rss, anon = fields.get("Rss", 0.0), fields.get("Anonymous", 0.0)
    return {"rss": round(rss, 1), "anonymous": round(anon, 1), "file_backed": round(rss - anon, 1)}


def websocket_bytes(browser, base: str, name: str, run: str) -> int:  # noqa: ANN001
    """Bytes the server sent over the websocket for one view opened in a new session."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = ctx.new_page()
    total = [0]

    def on_ws(ws) -> None:  # noqa: ANN001
        ws.on("framereceived", lambda payload: total.__setitem__(0, total[0] + len(payload)))

    page.on("websocket", on_ws)
    page.goto(bt.page_url(base, name, run=run))
    bt.wait_idle(page, 300_000)  # a loaded machine: a large run's view may take minutes
    ctx.close()
    return total[0]


def measure_run(  # noqa: PLR0913
    browser,  # noqa: ANN001
    base: str,
    run: str,
    sessions: int,
    repeats: int,
    views: tuple[str, ...] = (),
) -> dict:
    """First renders, topic filters and websocket bytes per view of one run."""

    def fresh():  # noqa: ANN202
        return browser.new_context(viewport={"width": 1440, "height": 1200})

    out: dict = {}
    ctx = fresh()
    page = ctx.new_page()
    out["first_render_server_cold_s"] = round(bt.open_page(page, base, "overview", run=run), 2)
    ctx.close()
    renders = []
    for _ in range(sessions):
        ctx = fresh()
        page = ctx.new_page()
        renders.append(round(bt.open_page(page, base, "overview", run=run), 2))
        assert not bt.exceptions(page), bt.exceptions(page)
        ctx.close()
    out["first_render_new_session_s"] = renders
    for name in ("overview", "documents"):
        ctx = fresh()
        page = ctx.new_page()
        bt.open_page(page, base, name, run=run)
        times = []
        for i in range(repeats):
            times.append(round(pick_topic(page, i + 1), 3))
            bt.open_page(page, base, name, run=run)  # back to all topics for the next pick
        assert not bt.exceptions(page), bt.exceptions(page)
        out[f"topic_filter_{name}_s"] = times
        ctx.close()
    out["websocket_bytes"] = {v: websocket_bytes(browser, base, v, run) for v in views or VIEWS}
    return out


VIEWS = ("overview", "map", "topics", "documents", "trends", "facets", "hierarchy")


def measure_search(cache: Path, run: str, queries: int = 5) -> dict:
    """Semantic search on the server after the query is embedded: a document's own vector
    (plus noise) as the query, top 50; the first search builds the index (reported apart)."""
    import numpy as np

    from dashboard.run_data import RunData

    data = RunData.open(cache / "runs" / run)
    rng = np.random.default_rng(0)
    emb = data.embeddings

    def query() -> np.ndarray:
        return np.asarray(emb[rng.integers(len(emb))], dtype=np.float32) + rng.normal(
            0, 0.02, emb.shape[1]
        ).astype(np.float32)

    t0 = time.perf_counter()
    data.index.top(query(), k=50)
    first = time.perf_counter() - t0
    times = []
    for _ in range(queries):
        q = query()
        t0 = time.perf_counter()
        data.index.top(q, k=50)
        times.append(round(time.perf_counter() - t0, 3))
    return {
        "documents": len(emb),
        "exact": data.index.exact,
        "first_search_s": round(first, 2),
        "search_top50_s": times,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--run", required=True, action="append", help="repeat for several runs")
    ap.add_argument("--sessions", type=int, default=3, help="new sessions timed after the first")
    ap.add_argument("--repeats", type=int, default=5, help="topic picks timed per page")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "dashboard.json")
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also measure a bare Streamlit page (bench/streamlit_floor.py) the same way",
    )
    ap.add_argument("--search", action="store_true", help="also time semantic search per run")
    ap.add_argument(
        "--views", default=",".join(VIEWS), help="pages whose websocket bytes are measured"
    )
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    report: dict = {"runs": {}, "loadavg_at_start": os.getloadavg()}
    t0 = time.perf_counter()
    with serve(args.cache_dir) as (base, pid), sync_playwright() as p:
        report["server_start_s"] = round(time.perf_counter() - t0, 2)
        report["memory_mib_start"] = memory_mib(pid)
        browser = bt.launch(p)
        if args.floor:
            report.update(measure_floor(browser, args.sessions, args.repeats))
        for run in args.run:
            views = tuple(v for v in args.views.split(",") if v)
            report["runs"][run] = measure_run(
                browser, base, run, args.sessions, args.repeats, views
            )
            report["runs"][run]["memory_mib_after"] = memory_mib(pid)
            print(run, json.dumps(report["runs"][run]), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2))  # what is measured so far
        browser.close()
    if args.search:
        for run in args.run:
            report["runs"][run]["search"] = measure_search(args.cache_dir, run)
    report["loadavg_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    summary(report)


def summary(report: dict) -> None:
    med = statistics.median
    print(f"server start {report['server_start_s']} s, memory {report['memory_mib_start']} MiB")
    if "floor_first_render_new_session_s" in report:
        r, t = report["floor_first_render_new_session_s"], report["floor_topic_filter_s"]
        print(f"bare Streamlit page: first render median {med(r):.2f} s, ", end="")
        print(f"multiselect pick median {med(t) * 1000:.0f} ms")
    for run, r in report["runs"].items():
        print(f"== {run}")
        print(f"first render: server cold {r['first_render_server_cold_s']} s, ", end="")
        print(f"new session median {med(r['first_render_new_session_s']):.2f} s")
        for name in ("overview", "documents"):
            t = r[f"topic_filter_{name}_s"]
            print(
                f"topic filter on {name}: median {med(t) * 1000:.0f} ms, max {max(t) * 1000:.0f} ms"
            )
        print(f"websocket bytes per view: {r['websocket_bytes']}")
        print(f"server memory after: {r['memory_mib_after']} MiB")
        if "search" in r:
            print(f"semantic search: {r['search']}")


if __name__ == "__main__":
    main()
