"""20 concurrent browser sessions against one hosted server serving a 23k-document run.

The run is built from ../shared/corpora/sotu_paragraphs.parquet (22,910 paragraphs) with the
hashing backend into test-output/load-cache, so the pipeline's own cache makes every later
run of this test skip the build (the first takes about two minutes on 2 cores). The figures
(memory per session, page times) are printed and recorded in docs/deploy.md; nothing here
asserts on time.

Two tests, on the same server code path:

- ``test_twenty_concurrent_sessions`` (in ``make test``): session 1 visits every page, then
  sessions 2..20 open at once, each on one page by URL, round the nine pages, so every page
  renders at least twice under 20 concurrent sessions (28 page renders in all). The
  sessions are 20 tabs of one browser context: each tab is its own Streamlit session (own
  websocket, session state and script runs), and the tabs share the HTTP cache, so
  Chromium fetches and compiles the frontend once instead of 20 times.
- ``test_twenty_sessions_render_every_page`` (``make test-load``): sessions 2..20 each visit
  every page (180 page renders). Twenty Chromium tabs each drawing every page of a 23k-point
  run are far more work for the test machine than for the server: on 2 cores this takes
  well over ten minutes, more than the whole suite's budget, so it runs only when asked
  (``TOPICTRENDS_LOAD_TEST=1``).

Both skip when the shared corpus, Chromium or Playwright is missing, and fail instead under
``CI=true`` (``tests.prereq.require``); the second also skips, in CI too, unless asked for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hosted
import pytest

from tests.prereq import optional, require

# The load script is a bench script (bench/load_sessions.py); this test drives it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load_sessions  # noqa: E402

SESSIONS = 20


PAGES = load_sessions.bt.PAGES


def _prerequisites() -> None:
    """The shared corpus, Chromium and Playwright: skipped without them, failed under CI=true."""
    require(
        load_sessions.CORPUS.exists(),
        f"{load_sessions.CORPUS} is not here: clone the shared corpora next to the repository",
    )
    hosted.require_browser()


def test_session_pages_cover_every_page_evenly():
    """19 concurrent sessions of one page each, round the list: every page is visited, and
    no page twice more than another (with 11 pages: 8 pages twice, 3 once)."""
    visits = [p for s in range(2, SESSIONS + 1) for p in load_sessions.session_pages(s, 1)]
    assert len(visits) == SESSIONS - 1
    counts = [visits.count(p) for p in PAGES]
    assert min(counts) >= (SESSIONS - 1) // len(PAGES) >= 1
    assert max(counts) - min(counts) <= 1
    assert load_sessions.session_pages(5, None) == PAGES


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("run", [load_sessions.RUN, load_sessions.BIG_RUN])
def test_twenty_concurrent_sessions(tmp_path, run):
    """On the 23k-document run, and on it tiled to 60k documents (above the map's point
    budget, and a hundred pages of documents)."""
    _prerequisites()
    cache = load_sessions.DEFAULT_CACHE
    if run == load_sessions.BIG_RUN:
        load_sessions.build_big_run(cache)
    else:
        load_sessions.build_run(cache)
    sessions = int(os.environ.get("TOPICTRENDS_LOAD_SESSIONS", SESSIONS))  # 2: a smoke run
    report = load_sessions.measure(
        cache, sessions, tmp_path / "serve.log", pages_per_session=1, tabs=True, run=run
    )
    print(report.summary())
    assert report.documents > (50_000 if run == load_sessions.BIG_RUN else 20_000)
    assert report.errors == []
    assert report.pages_rendered == len(PAGES) + sessions - 1
    if sessions == SESSIONS:
        assert set(report.page_times) == set(PAGES)
        assert all(len(t) >= (SESSIONS - 1) // len(PAGES) for t in report.page_times.values())
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.slow
@pytest.mark.browser
def test_twenty_sessions_render_every_page(tmp_path):
    optional(
        os.environ.get("TOPICTRENDS_LOAD_TEST") == "1",
        "20 sessions x every page take >10 min on 2 cores: make test-load runs it",
    )
    _prerequisites()
    cache = load_sessions.DEFAULT_CACHE
    load_sessions.build_run(cache)
    report = load_sessions.measure(cache, SESSIONS, tmp_path / "serve.log")
    print(report.summary())
    assert report.documents > 20_000
    assert report.errors == []
    assert report.pages_rendered == SESSIONS * len(load_sessions.bt.PAGES)
    assert all(len(t) == SESSIONS - 1 for t in report.page_times.values())
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]
