"""20 concurrent browser sessions against one hosted server serving a 23k-document run.

The run is built from ../shared/corpora/sotu_paragraphs.parquet (22,910 paragraphs) with the
hashing backend into test-output/load-cache, so the pipeline's own cache makes every later
run of this test skip the build (the first takes about two minutes on 2 cores). The figures
(memory per session, page times) are printed and recorded in docs/deploy.md; nothing here
asserts on time.

Twenty Chromium tabs each drawing every page of a 23k-point run are far more work for the
test machine than for the server: on 2 cores this test takes well over ten minutes, more
than the whole suite's budget, so it runs only when asked: ``make test-load`` (or
``TOPICTRENDS_LOAD_TEST=1 pytest tests/dashboard/test_load.py``). Skipped too when the
shared corpus is not there.
"""

from __future__ import annotations

import os

import load_sessions
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SESSIONS = 20


def test_twenty_sessions_render_every_page(tmp_path):
    if os.environ.get("TOPICTRENDS_LOAD_TEST") != "1":
        pytest.skip("20 browser sessions take >10 min on 2 cores: make test-load to run it")
    if not load_sessions.CORPUS.exists():
        pytest.skip(f"{load_sessions.CORPUS} is not here (the shared corpora)")
    if not os.path.exists(load_sessions.bt.CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{load_sessions.bt.CHROMIUM} is missing")
        pytest.skip(f"{load_sessions.bt.CHROMIUM} is missing")
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
