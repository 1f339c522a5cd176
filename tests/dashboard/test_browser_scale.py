"""The dashboard on a run larger than a page and than the map's point budget, in Chromium.

The run is the fixture's dated arXiv run tiled to ``DOCS`` documents (bench/big_run.py:
same topics, repeated documents with unique ids), so it is built in seconds. Checked:
every page opens without an exception; the documents table is paged on the server (the
browser gets one page, the page switch and the sort come from the server); the CSV export
(the streamed route) holds every matching row, not only the page shown.

Skipped when /usr/bin/chromium or Playwright is missing; under CI=true that is a failure.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import dashboard_browser as bt
import hosted
import pandas as pd
import pytest

from dashboard.ui import PAGE_ROWS

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))
from big_run import tile_run  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.browser]
DOCS = 6_000
BUDGET = 1_000  # map points: the run is six times over it
RUN = "arxiv-big"


@pytest.fixture(scope="module")
def big_root(dashboard_runs, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big") / "cache"
    tile_run(dashboard_runs.root / "runs" / dashboard_runs.dated, root, DOCS, RUN)
    return root


@pytest.fixture(scope="module")
def documents(big_root) -> pd.DataFrame:
    return pd.read_parquet(big_root / "runs" / RUN / "documents.parquet")


@pytest.fixture(scope="module")
def page(big_root, tmp_path_factory):
    hosted.require_browser()
    from playwright.sync_api import sync_playwright

    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {"TOPICTRENDS_MAP_POINTS": str(BUDGET)}  # the map draws a density layer + a sample
    with bt.serve(big_root, log=log, env=env) as base, sync_playwright() as p:
        browser = bt.launch(p)
        context = browser.new_context(viewport={"width": 1440, "height": 1500})
        page = context.new_page()
        page.base = base
        yield page
        browser.close()


def caption(page) -> str:
    return page.get_by_text(re.compile(r"^Rows [\d,]+–[\d,]+ of [\d,]+")).first.inner_text()


def preview_title(page) -> str:
    """The title in the preview of the first listed document (the line after its caption)."""
    lines = [x.strip() for x in page.locator('[data-testid="stMain"]').inner_text().splitlines()]
    lines = [x for x in lines if x]
    return lines[lines.index("Document (the first listed; select a row to read another)") + 1]


def test_every_page_opens_on_a_run_larger_than_a_page(page):
    bt.open_page(page, page.base, "overview", run=RUN)
    for name in bt.PAGES:
        if name != "overview":
            bt.navigate(page, name)
        assert bt.exceptions(page) == [], name


def test_documents_are_paged_and_sorted_on_the_server(page, documents):
    bt.open_page(page, page.base, "documents", run=RUN)
    assert caption(page).startswith(f"Rows 1–{PAGE_ROWS} of {DOCS:,}")
    assert preview_title(page) == documents["title"].iloc[0]
    pages = -(-DOCS // PAGE_ROWS)
    box = page.get_by_label(re.compile(r"^Page \(of"))
    box.fill("3")
    box.press("Enter")
    page.wait_for_url(re.compile(r"[?&]pg=3\b"), timeout=30_000)
    bt.wait_idle(page)
    assert caption(page).startswith(f"Rows {2 * PAGE_ROWS + 1}–{3 * PAGE_ROWS} of")
    assert preview_title(page) == documents["title"].iloc[2 * PAGE_ROWS]
    assert f"Page (of {pages:,})" in page.locator('[data-testid="stMain"]').inner_text()
    # the last page of the documents sorted by title, descending: the smallest titles
    bt.open_page(page, page.base, "documents", run=RUN, sort="title", desc="1", pg=str(pages))
    order = documents.assign(_row=range(DOCS)).sort_values(
        ["title", "_row"], ascending=[False, True], kind="stable"
    )
    first = (pages - 1) * PAGE_ROWS
    assert caption(page).startswith(f"Rows {first + 1:,}–{DOCS:,} of {DOCS:,}")
    assert preview_title(page) == order["title"].iloc[first]
    assert bt.exceptions(page) == []


def test_the_csv_export_holds_every_matching_row(page, documents):
    topic = int(documents.loc[documents["topic"] >= 0, "topic"].value_counts().index[0])
    matching = documents[documents["topic"] == topic]
    assert len(matching) > 2 * PAGE_ROWS  # more than the pages the browser was sent
    bt.open_page(page, page.base, "documents", run=RUN, topics=str(topic))
    csv = pd.read_csv(io.BytesIO(bt.download_csv(page)), dtype={"doc_id": str})
    assert csv["doc_id"].tolist() == matching["doc_id"].astype(str).tolist()
    assert {"title", "text", "topic", "topic_prob", "label", "year"} <= set(csv.columns)
    bt.open_page(page, page.base, "documents", run=RUN)
    everything = pd.read_csv(io.BytesIO(bt.download_csv(page)), usecols=["doc_id"])
    assert len(everything) == DOCS
    gone = page.request.get(page.base + "/export/not-a-ticket")
    assert gone.status == 404 and "expired" in gone.text()
