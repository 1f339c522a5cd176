"""Curation end to end: the real browser, the hosted server, the OIDC provider on loopback.

The dashboard runs through the container's entrypoint (read-only cache, sign-in on) with
``TOPICTRENDS_CURATION_DIR`` as the writable mount. Two editors edit at once and undo,
a viewer sees their edits without the controls, and an update of the run keeps them.
"""

from __future__ import annotations

import re
import shutil
import time
import warnings

import dashboard_browser as bt
import hosted
import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_sso import config, shown, sign_in

from pipeline.curation.log import read_log
from pipeline.flows import update
from pipeline.store.cache import Store

pytestmark = [pytest.mark.slow, pytest.mark.browser]

EDITORS = ("ed@team.example", "ed2@team.example")
VIEWER = "viv@team.example"
ARXIV = bt.REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"


@pytest.fixture(scope="module")
def site(dashboard_runs, provider, tmp_path_factory):
    """A copy of the runs (an update writes to it), served hosted with an editors list."""
    tmp = tmp_path_factory.mktemp("curation")
    cache = tmp / "cache"
    shutil.copytree(
        dashboard_runs.root, cache, symlinks=True, ignore=shutil.ignore_patterns("curation")
    )
    mount = tmp / "curation"
    mount.mkdir()
    port = bt.free_port()
    secrets_file = tmp / "secrets.toml"
    editors = ", ".join(f'"{e}"' for e in EDITORS)
    secrets_file.write_text(config(provider, port) + f"editors = [{editors}]\n")
    with hosted.serve(
        cache,
        tmp / "serve.log",
        TOPICTRENDS_SECRETS=str(secrets_file),
        TOPICTRENDS_CURATION_DIR=str(mount),
        port=port,
    ) as srv:
        yield srv.base, cache, mount


@pytest.fixture(scope="module")
def browser():
    with hosted.chromium() as b:
        yield b


def session(browser, base: str, email: str):  # noqa: ANN201
    ctx = browser.new_context(viewport={"width": 1440, "height": 1400})
    page = ctx.new_page()
    sign_in(page, base, email)
    return page


def last_entry(mount, action: str, tries: int = 60):  # noqa: ANN201
    """The log's last entry once it is ``action``: the click's rerun may still be writing."""
    for _ in range(tries):
        entry = read_log(mount, "arxiv")[-1]
        if entry.action == action:
            return entry
        time.sleep(0.5)
    return read_log(mount, "arxiv")[-1]


def click_until_said(page, button, mount, action: str) -> None:  # noqa: ANN001
    """Click ``button`` and wait for the dashboard's reply ("Saved: ..." or an error).

    Once in a full CI run the click on a just-opened expander's button reached no script
    run: no reply, no log entry, 30 s later. A click with no reply *and* no new entry is
    made again (once, with a warning), so a lost click is not taken for a lost edit; a
    second click after an edit that was written would undo twice, so the log decides.
    """
    reply = page.get_by_text(re.compile(r"^Saved: |^nothing to undo|^editing is off"))
    for attempt in range(2):
        button.click()
        bt.wait_idle(page)
        try:
            reply.first.wait_for(state="visible", timeout=20_000)
            return
        except PlaywrightTimeout:
            if read_log(mount, "arxiv")[-1].action == action or attempt:
                return  # written without a reply shown: the assertions after say if wrong
            warnings.warn(f"{action}: the click got no reply; clicking once more", stacklevel=2)


def open_topic(page, base: str, topic: int) -> None:
    page.goto(f"{base}/topics?run=arxiv&topic={topic}")
    bt.wait_idle(page)


def heading(page) -> str:
    return shown(page.locator('[data-testid="stMain"] h2').first.inner_text())


def test_editors_at_once_undo_viewer_and_update(site, browser):
    base, cache, mount = site
    a, b = (session(browser, base, e) for e in EDITORS)
    open_topic(a, base, 1)
    open_topic(b, base, 2)
    for page, topic, label in ((a, 1, "Vision <b>models</b>"), (b, 2, "Speech & audio")):
        page.get_by_text(f"Curate topic {topic}").click()
        page.get_by_label("New label").fill(label)
        page.get_by_label("New label").press("Tab")
    bt.wait_idle(a)
    bt.wait_idle(b)
    a.get_by_role("button", name="Rename").click()  # both requests in flight together
    b.get_by_role("button", name="Rename").click()
    bt.wait_idle(a)
    bt.wait_idle(b)
    entries = read_log(mount, "arxiv")
    assert sorted((e.who, e.topic, e.value) for e in entries) == [
        ("ed2@team.example", 2, "Speech & audio"),
        ("ed@team.example", 1, "Vision <b>models</b>"),
    ]
    open_topic(a, base, 2)
    assert heading(a) == "2: Speech & audio"  # each editor sees the other's edit

    a.get_by_text("Curate topic 2").click()
    undo_button = a.get_by_role("button", name="Undo last edit")
    undo_button.wait_for(state="visible")
    click_until_said(a, undo_button, mount, "undo")
    undo = last_entry(mount, "undo")
    assert undo.action == "undo" and undo.who == EDITORS[0]
    kept = [e for e in entries if e.id != undo.target][0]

    viewer = session(browser, base, VIEWER)
    open_topic(viewer, base, kept.topic)
    assert heading(viewer) == f"{kept.topic}: {kept.value}"
    assert viewer.get_by_text(re.compile("^Curate topic")).count() == 0
    assert "View only: only the dashboard's editors may curate topics" in shown(
        viewer.locator("body").inner_text()
    )
    assert bt.exceptions(viewer) == []

    # Tomorrow's update: new documents, topic ids kept, the curated label still wins.
    docs = pd.read_parquet(ARXIV).sort_values("id")
    new = tmp = cache.parent / "new.parquet"
    docs.tail(40).to_parquet(tmp, index=False)
    update("arxiv", str(new), Store(cache))
    open_topic(viewer, base, kept.topic)
    assert heading(viewer) == f"{kept.topic}: {kept.value}"
    assert bt.exceptions(viewer) == []
