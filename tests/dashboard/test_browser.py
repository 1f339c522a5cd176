"""The dashboard in a real browser: ``topictrends serve`` driven by Playwright in Chromium.

Every page of the undated and the dated run loads without an exception box (a screenshot
of each goes to test-output/screenshots/), a topic is chosen and a filter applied through
the widgets, and a copied URL reopens the same view. The security test opens every page of
a run whose titles and abstracts carry ``<script>``, ``<img onerror>`` and Markdown links
and checks they are shown as literal text: no such element exists and no dialog fires.

Skipped when /usr/bin/chromium or Playwright is missing; under CI=true that is a failure
(``hosted.require_browser``).
"""

from __future__ import annotations

import io
import re

import dashboard_browser as bt
import hosted
import pandas as pd
import pytest

from dashboard.run_data import RunData

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def chromium():
    hosted.require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = bt.launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(dashboard_runs, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with bt.serve(dashboard_runs.root, log=log) as base:
        yield base


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1440, "height": 1500})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()


def shot(page, name: str) -> None:
    bt.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(bt.SCREENSHOTS / f"{name}.png"))


def wait_url(page, pattern: str) -> None:
    page.wait_for_url(re.compile(pattern), timeout=30_000)
    bt.wait_idle(page)


@pytest.mark.parametrize("run", ["trending", "arxiv"])
def test_every_page_renders_in_chromium(server, page, run):
    bt.open_page(page, server, "overview", run=run)
    for name in bt.PAGES:
        if name != "overview":
            bt.navigate(page, name)
        assert bt.exceptions(page) == [], f"{run}/{name}"
        assert f"page={name}" in page.url and f"run={run}" in page.url
        shot(page, f"{run}-{name}")
    assert page.dialogs == []


def _topic_partly_matching(docs: pd.DataFrame, word: str) -> int:
    """The topic whose documents ``word`` matches in part: the filter must narrow it, not empty it.

    Chosen from the run instead of hard-coded, because which topic holds the keyword-spotting
    papers depends on the clustering, which may differ between machines.
    """
    hits = (docs["title"] + "\n" + docs["text"]).str.lower().str.contains(word)
    per_topic = hits.groupby(docs["topic"]).agg(["sum", "size"])
    partly = per_topic[(per_topic["sum"] > 0) & (per_topic["sum"] < per_topic["size"])]
    partly = partly[partly.index >= 0]
    assert len(partly), f"no topic of the fixture run has some documents matching {word!r}"
    return int(partly["sum"].idxmax())


def test_choose_a_topic_apply_a_filter_and_reopen_the_link(server, page, dated_run):
    topic = _topic_partly_matching(dated_run.read_documents(), "spotting")
    bt.open_page(page, server, "topics", run="arxiv")
    main = page.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stSelectbox"]').filter(has_text="Topic").click()
    page.get_by_role("option", name=re.compile(rf"^{topic}: ")).click()
    wait_url(page, rf"topic={topic}\b")
    assert main.locator("h2").first.inner_text().startswith(f"{topic}: ")
    assert bt.exceptions(page) == []
    shot(page, "arxiv-topics-topic-1")

    keyword = page.locator('[data-testid="stSidebar"] input[aria-label="Keyword search"]')
    keyword.fill("spotting")
    keyword.press("Enter")
    wait_url(page, r"q=spotting")
    want = int((dated_run.docs["topic"] == topic).sum())
    caption = main.get_by_text(re.compile(r"documents match the sidebar filters")).inner_text()
    n = int(re.match(r"([\d,]+) of", caption).group(1).replace(",", ""))
    assert 0 < n < want
    shot(page, "arxiv-topics-filtered")

    link = page.url
    page.goto("about:blank")
    page.goto(link)
    bt.wait_idle(page)
    assert main.locator("h2").first.inner_text().startswith(f"{topic}: ")
    assert (
        page.locator('[data-testid="stSidebar"] input[aria-label="Keyword search"]').input_value()
        == "spotting"
    )
    assert main.get_by_text(caption).count() == 1
    bt.navigate(page, "documents")  # the view state follows sidebar navigation
    assert f"topic={topic}" in page.url and "q=spotting" in page.url
    shot(page, "arxiv-documents-filtered")
    full = dated_run.read_documents()
    matching = full[(full["title"] + "\n" + full["text"]).str.lower().str.contains("spotting")]
    csv = pd.read_csv(io.BytesIO(bt.download_csv(page)), dtype={"doc_id": str})
    assert sorted(csv["doc_id"].astype(str)) == sorted(matching["doc_id"].astype(str))
    assert {"title", "text", "topic", "topic_prob", "label", "year"} <= set(csv.columns)
    assert bt.exceptions(page) == [] and page.dialogs == []


def test_box_select_on_the_map_lists_the_documents(server, page):
    bt.open_page(page, server, "map", run="arxiv", topics="0")
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.hover()
    page.locator('.modebar-btn[data-title="Box Select"]').first.click()
    box = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=8)
    page.mouse.up()
    heading = page.get_by_text(re.compile(r"^\d+ selected documents$"))
    heading.wait_for(timeout=30_000)
    bt.wait_idle(page)
    caption = page.get_by_text(re.compile(r"^\d+ of 300 documents")).inner_text()
    assert (
        heading.inner_text().split()[0] == caption.split()[0]
    )  # every shown document, topic 0 only
    assert bt.exceptions(page) == []
    shot(page, "arxiv-map-selection")


def test_document_text_is_literal_text_in_every_view(server, page, dashboard_runs):
    evil = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.evil)
    hit = evil.docs[evil.docs["title"].str.contains("<script>", regex=False)].iloc[0]
    title, topic = hit["title"], max(int(hit["topic"]), 0)
    node = str(int(evil.hierarchy["node"].max())) if len(evil.hierarchy) else str(topic)
    shows_title = {
        "topics",
        "documents",
        "facets",
        "hierarchy",
    }  # pages that print a document as text
    bt.open_page(page, server, "overview", run="evil", topic=str(topic), node=node, q="attack")
    for name in bt.PAGES:
        if name != "overview":
            bt.navigate(page, name)
        assert bt.exceptions(page) == [], name
        assert page.locator('img[src="x"]').count() == 0, name
        assert page.locator('a[href^="http://evil.example"]').count() == 0, name
        assert page.locator("script", has_text="alert(1)").count() == 0, name
        body = page.locator('[data-testid="stMain"]').inner_text()
        if name in shows_title:
            assert title in body, name
        shot(page, f"evil-{name}")
    # Plotly text (axis labels) shows a metadata value `<img src=x onerror=alert(1)>` literally.
    bt.open_page(page, server, "facets", run="evil")
    labels = page.eval_on_selector_all(
        '[data-testid="stPlotlyChart"] svg text', "els => els.map(e => e.textContent)"
    )
    assert "<img src=x onerror=alert(1)>" in labels
    assert page.locator('img[src="x"]').count() == 0
    assert page.dialogs == []


def test_update_views_in_chromium_show_labels_as_literal_text(server, page, dashboard_runs):
    """Overview, Lineage and a topic's History on a re-fitted run whose topic labels carry
    markup: the Sankey and the tables show it as text, nothing runs or links out."""
    evil = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.evil_updated)
    topic = str(int(evil.update["new_topics"][0]))
    bt.open_page(page, server, "overview", run=dashboard_runs.evil_updated, topic=topic)
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_text("New since the last update").count() == 1
    for name in ("overview", "lineage", "topics"):
        if name != "overview":
            bt.navigate(page, name)
        assert bt.exceptions(page) == [], name
        assert page.locator('img[src="x"]').count() == 0, name
        assert page.locator('a[href^="http://evil.example"]').count() == 0, name
        assert page.locator("script", has_text="alert(1)").count() == 0, name
        shot(page, f"evil-updates-{name}")
        if name == "lineage":
            labels = page.eval_on_selector_all(
                '[data-testid="stPlotlyChart"] svg text', "els => els.map(e => e.textContent)"
            )
            assert any("<script>alert(1)</script>" in t for t in labels)
            assert main.get_by_text("this build").count() >= 1
    assert page.dialogs == []


def test_lineage_page_renders_in_chromium(server, page, dashboard_runs):
    run = dashboard_runs.refitted
    bt.open_page(page, server, "lineage", run=run)
    assert bt.exceptions(page) == []
    nodes = page.locator('[data-testid="stPlotlyChart"] .sankey-node')
    refitted = RunData.open(dashboard_runs.root / "runs" / run)
    lin = refitted.lineage
    # one node per previous and current topic, plus a "(new)" and a "(gone)" placeholder
    # where some topic is new or gone
    want = lin["previous_topic"].nunique() + lin["topic"].nunique()
    want += int(lin["previous_topic"].isna().any()) + int(lin["topic"].isna().any())
    assert lin["previous_topic"].isna().any() and lin["topic"].isna().any()  # both drawn
    assert nodes.count() == want
    shot(page, f"{run}-lineage")
