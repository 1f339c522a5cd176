"""The container's dashboard, run through deploy/entrypoint.sh: read-only, and safe from URLs.

The server is started exactly as the image starts it (entrypoint, production config, hosted
mode), over a copy of the test cache that is made read-only, with a read-only home
directory (docker-compose.yml runs the container ``read_only``). Every page of a dated run
is opened in Chromium, a semantic search is run, and URLs carrying path traversal are
opened; afterwards every file, directory and link under the cache is byte-for-byte, mode
and mtime what it was. (Tests may run as root, for whom chmod does not stop writes, so the
before/after comparison is the real check.)
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request

import dashboard_browser as bt
import hosted
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TRAVERSAL = ("../../../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc", "runs/../../x", "\x00")


@pytest.fixture(scope="module")
def read_only_cache(dashboard_runs, tmp_path_factory):
    base = tmp_path_factory.mktemp("hosted")
    cache = base / "cache"
    shutil.copytree(dashboard_runs.root, cache, symlinks=True)
    outside = base / "outside-run"  # a run that lives outside the root, linked into it
    shutil.copytree((dashboard_runs.root / "runs" / dashboard_runs.undated).resolve(), outside)
    (cache / "runs" / "escape").symlink_to(outside)
    home = base / "home"
    home.mkdir()
    hosted.set_writable(cache, False)
    hosted.set_writable(home, False)
    yield cache, home
    hosted.set_writable(cache, True)
    hosted.set_writable(home, True)


def test_entrypoint_serves_every_page_without_writing(read_only_cache, tmp_path):
    cache, home = read_only_cache
    before = hosted.tree_state(cache)
    with (
        hosted.serve(cache, tmp_path / "serve.log", TOPICTRENDS_AUTH="off", HOME=str(home)) as srv,
        hosted.chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1440, "height": 1200})
        bt.open_page(page, srv.base, "overview", run="arxiv")
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert str(cache) not in sidebar  # no server paths in hosted mode
        run_names = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
        run_names.click()
        listed = page.get_by_role("option").all_inner_texts()
        page.keyboard.press("Escape")
        assert "escape" not in listed and "arxiv" in listed  # the outside link is not a run
        manifest = json.loads((cache / "runs" / "arxiv" / "manifest.json").read_text())
        secrets = (str(cache), str(cache.resolve()), manifest["corpus"]["input"])
        for name in bt.PAGES[1:]:
            bt.navigate(page, name)
            assert bt.exceptions(page) == [], name
            html = page.content()  # the whole page: text, attributes, tooltips' sources
            assert not [s for s in secrets if s in html], name
        bt.open_page(page, srv.base, "documents", run="arxiv", sem="neural networks")
        assert bt.exceptions(page) == []
        main = page.locator('[data-testid="stMain"]')
        assert (
            main.get_by_text(
                re.compile(r"^Top 50 of [\d,]+ matching documents by similarity")
            ).count()
            == 1
        )
        for bad in TRAVERSAL:
            params = {"run": bad, "topic": bad, "node": bad, "q": bad, "f.label": bad}
            bt.open_page(page, srv.base, "topics", **params)
            assert bt.exceptions(page) == [], bad
            assert main.locator("h1").first.inner_text() == "Topics", bad  # it did render
            assert "root:" not in page.locator("body").inner_text()
        bt.open_page(page, srv.base, "overview", run="escape")  # not listed: the first run
        assert page.locator('[data-testid="stMain"] h1').first.inner_text() != "escape"
        # XSRF protection is on: a cross-site upload without the token is refused.
        req = urllib.request.Request(f"{srv.base}/_stcore/upload_file/s/f", method="PUT", data=b"x")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        assert refused.value.code == 403
        srv.proc.poll()
        assert srv.proc.returncode is None
    assert hosted.tree_state(cache) == before
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]
