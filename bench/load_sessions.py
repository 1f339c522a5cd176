"""Many concurrent browser sessions against one hosted server: errors, memory, page times.

    .venv/bin/python bench/load_sessions.py --sessions 20
        [--cache-dir test-output/load-cache] [--rounds 1]

Builds (once; the pipeline's cache makes a rebuild take a second) a run of the 22,910 State
of the Union paragraphs from ../shared/corpora with the model-free hashing backend, starts
one server through deploy/entrypoint.sh (hosted mode, production settings), and opens one
Chromium with one context per session. Session 1 visits every page alone (it reads the run
and fills the shared caches); then sessions 2..N visit every page all at once while
session 1 stays open. Server memory (VmRSS) is read after start, after session 1, and with
all N sessions open; memory per extra session = (RSS with N - RSS with 1) / (N - 1). Its
parts (RssAnon: the heap; RssFile: memory-mapped files; RssShmem: tmpfs) are reported
with one session, with all of them, and at their peak (sampled every 0.25 s throughout).
``--run NAME`` serves a run already in ``--cache-dir`` (a 1M-document one from
``bench/big_run.py``); ``--pages overview,documents`` limits what every session visits.

Used by test_load.py, which asserts that every page of every session rendered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The browser helpers live with the dashboard tests, which share them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "dashboard"))
import dashboard_browser as bt  # noqa: E402
import hosted  # noqa: E402

REPO = bt.REPO
CORPUS = REPO.parent / "shared" / "corpora" / "sotu_paragraphs.parquet"
RUN = "sotu"
# The same run tiled above the map's point budget (bench/big_run.py): what a team serving a
# large run puts on the server, built in seconds from the 23k one.
BIG_RUN = "sotu-60k"
BIG_DOCS = 60_000
DEFAULT_CACHE = REPO / "test-output" / "load-cache"
# Twenty tabs of one browser: none may be treated as a background tab, whose timers and
# animation frames Chromium throttles (Plotly draws on an animation frame).
LAUNCH_ARGS = [
    *bt.LAUNCH_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def build_run(cache: Path, corpus: Path = CORPUS) -> Path:
    """The 23k-document run: built once (about a minute on 2 cores), then cached.

    What is measured is serving a run of this size, not its topics, so the build takes the
    cheap road: hashing embeddings, one UMAP fit over a 10-neighbour graph (a third of the
    default's edges for this size), no word profile.
    """
    from pipeline.config import Config
    from pipeline.flows import build
    from pipeline.store.cache import Store

    cfg = Config().with_overrides(
        {
            "embed": {"backend": "hashing"},
            "reduce": {"ensemble": 1, "lexical_weight": 0.0, "n_neighbors": 10},
        }
    )
    build(str(corpus), cfg, Store(cache), name=RUN)
    return cache / "runs" / RUN


def build_big_run(cache: Path, corpus: Path = CORPUS) -> Path:
    """``BIG_RUN``: the 23k-document run tiled to ``BIG_DOCS`` documents (kept once made)."""
    import json as _json

    from big_run import tile_run

    src = build_run(cache, corpus)
    dst = cache / "runs" / BIG_RUN
    manifest = dst / "manifest.json"
    same = (
        manifest.exists()
        and _json.loads(manifest.read_text())["run_key"]
        == _json.loads((src / "manifest.json").read_text())["run_key"]
    )
    return dst if same else tile_run(src, cache, BIG_DOCS, BIG_RUN)


@dataclass
class Report:
    sessions: int
    documents: int
    rss_start_mib: float = 0.0
    rss_one_mib: float = 0.0
    rss_all_mib: float = 0.0
    per_session_mib: float = 0.0
    first_session_s: float = 0.0
    concurrent_wall_s: float = 0.0
    page_times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    pages_rendered: int = 0
    # MiB by /proc/<pid>/status line (VmRSS, RssAnon, RssFile, RssShmem, VmHWM): with one
    # session, with all of them, and the most seen by a sampler (every 0.25 s) meanwhile
    memory_one_mib: dict[str, float] = field(default_factory=dict)
    memory_all_mib: dict[str, float] = field(default_factory=dict)
    memory_peak_mib: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"{self.sessions} sessions, run of {self.documents:,} documents",
            f"server RSS: start {self.rss_start_mib:.0f} MiB, 1 session {self.rss_one_mib:.0f} MiB, "
            f"{self.sessions} sessions {self.rss_all_mib:.0f} MiB -> "
            f"{self.per_session_mib:.1f} MiB per extra session",
            f"session 1 alone, every page: {self.first_session_s:.1f}s; sessions 2..{self.sessions} "
            f"at once, every page: {self.concurrent_wall_s:.1f}s wall",
            f"server memory, MiB: {_parts(self.memory_all_mib)} with {self.sessions} sessions; "
            f"peak {_parts(self.memory_peak_mib)}",
            f"pages rendered: {self.pages_rendered}, errors: {len(self.errors)}",
            f"{'page':<10} {'median':>8} {'max':>8}  (seconds, concurrent sessions)",
        ]
        for name, times in self.page_times.items():
            lines.append(f"{name:<10} {statistics.median(times):>7.1f}s {max(times):>7.1f}s")
        return "\n".join(lines)


def _parts(mib: dict[str, float]) -> str:
    names = {"VmRSS": "resident", "RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem"}
    return " / ".join(f"{names[k]} {mib[k]:.0f}" for k in names if k in mib) or "-"


class Sampler:
    """The most of each memory figure of ``server`` seen while running (every ``every`` s)."""

    def __init__(self, server: hosted.Server, every: float = 0.25) -> None:
        self.server, self.every, self.peak = server, every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                now = self.server.memory_kib()
            except (OSError, RuntimeError):  # the server is gone
                return
            for k, v in now.items():
                self.peak[k] = max(self.peak.get(k, 0), v)
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _mib(kib: dict[str, int]) -> dict[str, float]:
    return {k: round(v / 1024, 1) for k, v in kib.items()}


async def _wait_idle(page, timeout_ms: int) -> None:  # noqa: ANN001
    await page.wait_for_function(bt.IDLE_JS, timeout=timeout_ms, polling=250)


async def _session(  # noqa: PLR0913
    browser,  # noqa: ANN001
    base: str,
    report: Report,
    record: bool,
    timeout_ms: int,
    pages: tuple[str, ...] = bt.PAGES,
    context: object | None = None,
    run: str = RUN,
) -> object:
    """One user: open the run on ``pages[0]`` by URL, then the others through the sidebar.

    In its own browser context, or with ``context`` as a new tab of that one (each tab is
    its own Streamlit session; tabs share the HTTP cache, so the frontend's scripts are
    fetched and compiled once). Returns the context or tab, still open, so the session
    stays connected to the server."""
    ctx = context or await browser.new_context(viewport={"width": 1440, "height": 1000})
    ctx.set_default_timeout(timeout_ms)  # goto and clicks too, on a loaded machine
    page = await ctx.new_page()
    exc = page.locator('[data-testid="stException"]')
    times: dict[str, float] = {}
    for i, name in enumerate(pages):
        t0 = time.perf_counter()
        try:
            if i == 0:
                await page.goto(bt.page_url(base, name, run=run))
            else:
                await (
                    page.locator('[data-testid="stSidebarNav"] a')
                    .filter(has_text=re.compile(f"{re.escape(bt.NAV_TITLES[name])}$"))
                    .click()
                )
                await page.wait_for_url(
                    re.compile(f"[?&]page={re.escape(name)}(&|$)"), timeout=timeout_ms
                )
            await _wait_idle(page, timeout_ms)
        except Exception as e:  # noqa: BLE001 - a timeout is a failed page, keep the others going
            shot = bt.SCREENSHOTS / f"load-failed-{name}-{id(page)}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(shot))
            report.errors.append(f"{name}: {type(e).__name__} {str(e).splitlines()[0]} ({shot})")
            continue
        times[name] = time.perf_counter() - t0
        if await exc.count():  # an exception box on this page
            report.errors.append(f"{name}: {await exc.first.inner_text()}")
    report.pages_rendered += len(times)
    if record:
        for name, t in times.items():
            report.page_times.setdefault(name, []).append(t)
    return page if context is not None else ctx


def session_pages(
    session: int, pages_per_session: int | None, pages: tuple[str, ...] = bt.PAGES
) -> tuple[str, ...]:
    """The pages session ``session`` (1-based) visits: all of ``pages``, or a rotating slice.

    With ``pages_per_session = k`` session 2 takes pages 1..k, session 3 the next k, and so
    on round the list, so 19 sessions of one page each cover every page at least twice.
    """
    if pages_per_session is None:
        return pages
    n = len(pages)
    start = (session - 2) * pages_per_session
    return tuple(pages[(start + j) % n] for j in range(pages_per_session))


async def _run(
    base: str,
    server: hosted.Server,
    report: Report,
    timeout_ms: int,
    pages_per_session: int | None = None,
    tabs: bool = False,
    run: str = RUN,
    pages: tuple[str, ...] = bt.PAGES,
) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=bt.CHROMIUM, args=LAUNCH_ARGS)
        shared = (
            await browser.new_context(viewport={"width": 1440, "height": 1000}) if tabs else None
        )
        t0 = time.perf_counter()
        first = await _session(
            browser,
            base,
            report,
            record=False,
            timeout_ms=timeout_ms,
            pages=pages,
            context=shared,
            run=run,
        )
        report.first_session_s = time.perf_counter() - t0
        report.memory_one_mib = _mib(server.memory_kib())
        report.rss_one_mib = report.memory_one_mib["VmRSS"]
        t0 = time.perf_counter()
        others = await asyncio.gather(
            *[
                _session(
                    browser,
                    base,
                    report,
                    record=True,
                    timeout_ms=timeout_ms,
                    pages=session_pages(i, pages_per_session, pages),
                    context=shared,
                    run=run,
                )
                for i in range(2, report.sessions + 1)
            ]
        )
        report.concurrent_wall_s = time.perf_counter() - t0
        await asyncio.sleep(2)  # let the server settle; every session is still connected
        report.memory_all_mib = _mib(server.memory_kib())
        report.rss_all_mib = report.memory_all_mib["VmRSS"]
        for ctx in [first, *others]:
            await ctx.close()
        if shared is not None:
            await shared.close()
        await browser.close()


def measure(
    cache: Path,
    sessions: int,
    log: Path,
    timeout_ms: int = 900_000,
    pages_per_session: int | None = None,
    tabs: bool = False,
    run: str = RUN,
    pages: tuple[str, ...] = bt.PAGES,
) -> Report:
    """Start the hosted server over ``cache`` and drive ``sessions`` browser sessions.

    Session 1 always visits every page first; sessions 2..N then run at once, each on
    every page or, with ``pages_per_session``, on its slice (``session_pages``). With
    ``tabs`` every session is a tab of one browser context instead of a context of its own."""
    import json as _json

    manifest = _json.loads((cache / "runs" / run / "manifest.json").read_text())
    report = Report(sessions=sessions, documents=int(manifest["counts"]["documents"]))
    with hosted.serve(cache, log, TOPICTRENDS_AUTH="off") as server:
        report.rss_start_mib = server.rss_kib() / 1024
        with Sampler(server) as sampler:
            asyncio.run(
                _run(server.base, server, report, timeout_ms, pages_per_session, tabs, run, pages)
            )
        report.memory_peak_mib = _mib(sampler.peak)
    report.per_session_mib = (report.rss_all_mib - report.rss_one_mib) / max(1, sessions - 1)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    ap.add_argument(
        "--pages-per-session",
        type=int,
        help="sessions 2..N visit this many pages each (rotating) instead of all of them",
    )
    ap.add_argument(
        "--tabs",
        action="store_true",
        help="every session a tab of one browser context (shared HTTP cache) instead of its own",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--big",
        action="store_true",
        help=f"serve {BIG_RUN} (the run tiled to {BIG_DOCS:,} documents)",
    )
    ap.add_argument(
        "--run",
        help="serve this run of --cache-dir as it is (built elsewhere: e.g. bench/big_run.py)",
    )
    ap.add_argument(
        "--pages",
        help=f"comma-separated pages every session visits (default: all, {','.join(bt.PAGES)})",
    )
    args = ap.parse_args()
    run = args.run or (BIG_RUN if args.big else RUN)
    if not args.run:
        (build_big_run if args.big else build_run)(args.cache_dir)
    pages = tuple(args.pages.split(",")) if args.pages else bt.PAGES
    unknown = sorted(set(pages) - set(bt.PAGES))
    if unknown:
        ap.error(f"unknown pages {unknown}; pages are {','.join(bt.PAGES)}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    report = measure(
        args.cache_dir,
        args.sessions,
        args.cache_dir.parent / "load-serve.log",
        pages_per_session=args.pages_per_session,
        tabs=args.tabs,
        run=run,
        pages=pages,
    )
    print(report.summary())
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()
