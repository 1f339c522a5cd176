"""What the Topic map's default view sends to the browser, for one run (not a test: a measurement).

    .venv/bin/python bench/map_payload.py --cache-dir /tmp/big --run sotu-1m [--points N] [--websocket]

Builds the page's default view (every document, outliers shown, topic colours, no filter,
the point budget of ``TOPICTRENDS_MAP_POINTS`` or ``--points``) the way ``loaders.map_view``
does, then prints the figure's JSON size as ``st.plotly_chart`` writes it
(``plotly.io.to_json``), the share of each part (hover text, coordinates, rows, density),
and the size after deflate (what a websocket with permessage-deflate would carry; the bytes
Streamlit's frames hold are the JSON's). Runs against any checkout's ``dashboard`` (put it
first on ``PYTHONPATH``), so one command measures before and after a change.

``--websocket`` also serves the cache (``topictrends serve``) and counts the bytes the server
sends over the websocket while a new session opens the map (``bench/dashboard.py``'s
``websocket_bytes``; Streamlit does not compress its websocket unless
``server.enableWebsocketCompression`` is set).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import plotly.io as pio

# This folder holds bench/dashboard.py, which would hide the dashboard package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
from dashboard import map_data, map_figures  # noqa: E402
from dashboard.run_data import RunData, list_runs  # noqa: E402


def parts(spec: str) -> dict[str, int]:
    """Bytes of the figure's JSON by trace attribute (summed over traces) and layout."""
    fig = json.loads(spec)
    out: dict[str, int] = {}
    for trace in fig["data"]:
        for key, value in trace.items():
            name = f"{trace.get('type', '?')}.{key}"
            out[name] = out.get(name, 0) + len(json.dumps(value, separators=(",", ":")))
    out["layout"] = len(json.dumps(fig["layout"], separators=(",", ":")))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def websocket_bytes(cache_dir: Path, run: str, budget: int) -> int:
    """Bytes sent over the websocket while a new browser session opens the run's map."""
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here.parent / "tests" / "dashboard"))
    import dashboard_browser as bt
    from playwright.sync_api import sync_playwright

    spec = importlib.util.spec_from_file_location("bench_dashboard", here / "dashboard.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    env = {"TOPICTRENDS_MAP_POINTS": str(budget)}
    with bt.serve(cache_dir, env=env, timeout=600) as base, sync_playwright() as p:
        browser = bt.launch(p)
        bench.websocket_bytes(browser, base, "overview", run)  # reads the run: not counted
        sent = bench.websocket_bytes(browser, base, "map", run)
        browser.close()
    return sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", required=True, type=Path)
    ap.add_argument("--run", required=True)
    ap.add_argument("--points", type=int, help="point budget (default: the dashboard's)")
    ap.add_argument("--websocket", action="store_true", help="also serve and count websocket bytes")
    args = ap.parse_args()
    entry = {e.name: e for e in list_runs(args.cache_dir)}[args.run]
    t0 = time.perf_counter()
    run = RunData.open(entry.path)
    docs = run.docs
    t_read = time.perf_counter() - t0
    budget = args.points or map_data.point_budget()[0]
    t0 = time.perf_counter()
    keep = np.ones(len(docs), dtype=bool)
    points = map_data.map_points(docs["x"].to_numpy(), docs["y"].to_numpy(), keep)
    colors = map_figures.topic_colors(run.topics, run.hierarchy, "distinct")
    kwargs = {"budget": budget, "points": points, "colors": colors}
    if "hover" in inspect.signature(map_figures.doc_map).parameters:  # before the change
        kwargs["hover"] = run.hover
    fig = map_figures.doc_map(docs, run.topics, **kwargs)
    t_fig = time.perf_counter() - t0
    t0 = time.perf_counter()
    spec = pio.to_json(fig, validate=False)
    t_json = time.perf_counter() - t0
    drawn = int(fig.layout.meta["drawn"])
    deflated = len(zlib.compress(spec.encode(), 6))
    print(
        f"{args.run}: {len(docs):,} documents, budget {budget:,}, {drawn:,} drawn, "
        f"{sum(t.type == 'scattergl' for t in fig.data)} point traces"
    )
    print(
        f"figure JSON {len(spec):,} bytes ({len(spec) / 1e6:.2f} MB, "
        f"{len(spec) / max(drawn, 1):.1f} bytes a drawn point); deflated {deflated:,} bytes"
    )
    print(f"read {t_read:.1f} s, figure {t_fig:.2f} s, JSON {t_json:.2f} s")
    for name, size in list(parts(spec).items())[:8]:
        print(f"  {name:24s} {size:>10,d}  {size / len(spec):6.1%}")
    if args.websocket:
        sent = websocket_bytes(args.cache_dir, args.run, budget)
        print(f"websocket bytes, a new session opening the map: {sent:,}")


if __name__ == "__main__":
    main()
