"""The dashboard in Streamlit's AppTest: every page on the prebuilt runs, URL state, errors.

Each test opens the app the way a copied link does: query parameters first, then a run.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from frames import listed
from streamlit.testing.v1 import AppTest

from dashboard import nav, ui
from dashboard.run_data import RunData
from pipeline import SCHEMA_VERSION
from pipeline.stages.ingest import modelled_texts

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"
# Page -> the heading it shows (None: the run's name), as the app declares them.
PAGES = {name: spec.heading for name, spec in nav.PAGES.items()}


@pytest.fixture
def app(dashboard_runs, monkeypatch):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))

    def open_app(run: str | None = None, page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        if run:
            at.query_params["run"] = run
        if page:
            at.query_params["page"] = page
        for k, v in params.items():
            at.query_params[k.replace("__", ".")] = v
        return at.run()

    return open_app


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def header(at: AppTest) -> str:
    """The first header as shown (the app backslash-escapes Markdown in labels)."""
    return re.sub(r"\\(.)", r"\1", at.header[0].value)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def markdown_sources(at: AppTest) -> list[str]:
    """Everything the app rendered through Markdown: titles, headers, captions, markdown, alerts."""
    out = []
    for kind in (
        "title",
        "header",
        "subheader",
        "caption",
        "markdown",
        "info",
        "warning",
        "error",
        "success",
    ):
        out += [str(e.value) for e in getattr(at, kind)]
    return out


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("run", ["trending", "arxiv"])
def test_every_page_renders(app, run, page):
    at = ok(app(run, page))
    assert at.title[0].value == (PAGES[page] or run)
    assert at.query_params["page"] == page and at.query_params["run"] == run


def test_run_info_says_whether_titles_are_part_of_the_modelled_text(app):
    corpus = ok(app(run="arxiv", page="run-info")).dataframe[0].value
    said = dict(zip(corpus["field"], corpus["value"], strict=True))["titles"]
    assert said.startswith("titles are part of the modelled text:"), said


def test_empty_cache_explains_how_to_build(empty_root, monkeypatch):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(empty_root))
    at = ok(AppTest.from_file(str(APP), default_timeout=60).run())
    code = [c.value for c in at.code]
    assert "topictrends build hf-trending-papers" in code
    assert f"topictrends build hf-trending-papers --cache-dir {empty_root}" in code


def test_broken_run_shows_the_error_and_other_runs_keep_working(app):
    at = app("broken", "topics")
    assert not at.exception
    (err,) = at.error
    assert (
        "checksum mismatch" in err.value
        and "topictrends build" in err.value
        and "--force" in err.value
    )
    at.sidebar.selectbox(key="w.run").select("arxiv").run()
    ok(at)
    assert at.query_params["run"] == "arxiv"


@pytest.mark.parametrize("name", ["../../etc", "/tmp", "nope"])
def test_unknown_run_names_are_never_used_as_paths(app, name):
    at = app(name, "overview")
    assert not at.exception
    assert any("no run named" in w.value for w in at.warning)
    assert at.query_params["run"] == "arxiv"  # the first listed run
    assert at.title[0].value == "arxiv"


def test_topic_in_the_url_opens_its_detail(app, dated_run):
    at = ok(app("arxiv", "topics", topic="1"))
    assert header(at).startswith("1: ")
    rep_ids = [str(i) for i in dated_run.topics.set_index("topic").loc[1, "representative_doc_ids"]]
    rep_titles = set(
        dated_run.docs.set_index(dated_run.docs["doc_id"].astype(str)).loc[rep_ids, "title"]
    )
    assert rep_titles <= set(texts(at))
    assert listed(at)[-1] == int((dated_run.docs["topic"] == 1).sum())
    per_period = [d.value for d in at.dataframe if "period" in d.value.columns]
    assert per_period and per_period[0]["documents"].sum() == int(
        ((dated_run.docs["topic"] == 1) & dated_run.docs["date"].notna()).sum()
    )
    at.selectbox(key="w.topic").select(2).run()
    assert ok(at).query_params["topic"] == "2"
    assert header(at).startswith("2: ")


def test_topic_table_search_and_row_selection(app):
    at = ok(app("arxiv", "topics", tq="segmentation"))
    table = at.dataframe[0].value
    assert len(table) > 0 and table["label"].str.contains("segmentation").all()
    assert "share_over_time" in table.columns
    key = at.dataframe[0].key
    at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert ok(at).query_params["topic"] == str(int(table["topic"].iloc[0]))


def test_filters_from_the_url_apply_to_documents(app, dated_run):
    word = "segmentation"
    docs = dated_run.read_documents()
    blob = (docs["title"] + "\n" + docs["text"]).str.lower()
    match = blob.str.contains(word) & (docs["label"] == "Instance_Segmentation")
    # The two topics holding most matching papers (which ids they get depends on clustering),
    # plus a topic with none, so the topic filter has something to exclude.
    counts = docs.loc[match & (docs["topic"] >= 0), "topic"].value_counts()
    pair = sorted(int(t) for t in counts.index[:2])
    assert len(pair) == 2
    at = ok(
        app(
            "arxiv",
            "documents",
            topics=",".join(map(str, pair)),
            q=word,
            **{"f__label": "Instance_Segmentation"},
        )
    )
    want = docs["topic"].isin(pair) & match
    table = at.dataframe[0].value
    assert listed(at)[0] == int(want.sum()) > 0
    assert int(want.sum()) < int(match.sum())  # the topic filter took some matches away
    assert set(table["topic"]) <= set(pair)
    assert at.sidebar.multiselect(key="w.topics").value == pair
    assert at.sidebar.text_input(key="w.q").value == word


def test_a_column_header_sorts_every_matching_row_on_the_server(app, dated_run):
    titles = dated_run.docs["title"]
    assert titles.iloc[: ui.PAGE_ROWS].min() != titles.min()  # a page's own sort would not do
    at = ok(app("arxiv", "documents"))
    for order in ("ascending", "descending"):
        grid = at.dataframe[0]
        at.session_state[grid.key] = {"selection": {"rows": [], "columns": ["title"], "cells": []}}
        at.run()
        shown = ok(at).dataframe[0].value["title"].tolist()
        assert at.query_params["sort"] == "title"
        if order == "ascending":
            assert "desc" not in at.query_params and shown[0] == titles.min()
            assert shown == sorted(shown)
        else:
            assert at.query_params["desc"] == "1" and shown[0] == titles.max()
            assert shown == sorted(shown, reverse=True)


def test_sidebar_filters_write_the_url_and_clear(app):
    at = ok(app("arxiv", "documents"))
    at.sidebar.text_input(key="w.q").input("imitation").run()
    assert ok(at).query_params["q"] == "imitation"
    n = listed(at)[0]
    assert 0 < n < 300
    at.sidebar.multiselect(key="w.topics").select(0).run()
    assert ok(at).query_params["topics"] == "0"
    at.sidebar.button[0].click().run()  # Clear filters
    assert "q" not in ok(at).query_params and "topics" not in at.query_params
    assert listed(at)[0] == 300


def test_date_range_filter(app, dated_run):
    at = ok(app("arxiv", "documents", **{"from": "2018-01-01", "to": "2018-12-31"}))
    assert listed(at)[0] == int((dated_run.docs["date"].dt.year == 2018).sum())
    assert at.sidebar.date_input(key="w.dates").value[0].isoformat() == "2018-01-01"


def test_map_selection_lists_the_selected_documents(app, dated_run):
    at = ok(app("arxiv", "map"))
    at.session_state["doc_map"] = {
        "selection": {
            "points": [{"customdata": 3}, {"customdata": [5]}, {"customdata": 8}],
            "point_indices": [],
            "box": [],
            "lasso": [],
        }
    }
    at.run()
    ok(at)
    assert at.subheader[0].value == "3 selected documents"
    table = at.dataframe[0].value
    assert table["title"].tolist() == dated_run.docs["title"].iloc[[3, 5, 8]].tolist()
    assert dated_run.docs["title"].iloc[3] in texts(at)  # the preview


def test_map_colour_by_metadata_and_hide_outliers(app):
    at = ok(app("arxiv", "map", color="label", outliers="0"))
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name") for t in spec["data"]]
    assert "Semantic_Segmentation" in names and "Outliers" not in names
    assert at.selectbox(key="w.color").value == "label"
    assert at.checkbox(key="w.outliers").value is False


def _array(value) -> np.ndarray:
    """A figure array as the spec holds it: a list, or plotly's typed array (base64)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def test_map_above_the_point_budget_selects_documents_that_were_not_drawn(
    app, dated_run, monkeypatch
):
    monkeypatch.setenv("TOPICTRENDS_MAP_POINTS", "60")
    at = ok(app("arxiv", "map"))
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["type"] for t in spec["data"]].count("heatmap") == 1
    drawn = {
        int(r) for t in spec["data"] if t["type"] == "scattergl" for r in _array(t["customdata"])
    }
    assert len(drawn) <= 60 + 10
    x, y = dated_run.docs["x"].to_numpy(), dated_run.docs["y"].to_numpy()
    x0, x1 = float(np.quantile(x, 0.2)), float(np.quantile(x, 0.8))
    y0, y1 = float(np.quantile(y, 0.2)), float(np.quantile(y, 0.8))
    box = {"xref": "x", "yref": "y", "x": [x0, x1], "y": [y0, y1]}
    at.session_state["doc_map"] = {
        "selection": {"points": [], "point_indices": [], "box": [box], "lasso": []}
    }
    at.run()
    ok(at)
    inside = set(np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).tolist())
    assert at.subheader[0].value == f"{len(inside)} selected documents"
    listed = set(at.dataframe[0].value["title"])
    assert listed == set(dated_run.docs["title"].iloc[sorted(inside)])
    assert inside - drawn  # documents that were not drawn are listed too
    zoom = next(b for b in at.button if b.label == "Zoom to selection")
    zoom.click().run()
    ok(at)
    zx0, zx1, zy0, zy1 = (float(v) for v in at.query_params["zoom"].split(","))
    assert zx0 < x0 < x1 < zx1 and zy0 < y0 < y1 < zy1
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["xaxis"]["range"] == pytest.approx([zx0, zx1], rel=1e-5)
    in_view = spec["layout"]["meta"]["in_view"]
    assert in_view == int(((x >= zx0) & (x <= zx1) & (y >= zy0) & (y <= zy1)).sum())
    heat = [t for t in spec["data"] if t["type"] == "heatmap"]
    assert bool(heat) == (in_view > 60)  # full detail once the view is within the budget
    assert any("zoomed view" in c.value for c in at.caption)


def test_map_zoom_from_a_link_and_a_broken_zoom_is_dropped(app):
    at = ok(app("arxiv", "map", zoom="0,1,0,1"))
    assert "zoom" in at.query_params
    at = ok(app("arxiv", "map", zoom="not,a,view,!"))
    assert "zoom" not in at.query_params


def test_map_colour_by_hierarchy_branch(app):
    at = ok(app("arxiv", "map", color="topic-branch"))
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    colors = {t["marker"]["color"] for t in spec["data"] if t["name"] != "Outliers"}
    assert len(colors) > 1 and at.selectbox(key="w.color").value == "topic-branch"


def test_intertopic_click_picks_a_topic(app):
    at = ok(app("arxiv", "map", view="intertopic"))
    at.session_state["intertopic"] = {
        "selection": {"points": [{"customdata": 2}], "point_indices": [], "box": [], "lasso": []}
    }
    at.run()
    assert ok(at).query_params["topic"] == "2"
    at.button[0].click().run()  # Open in Topics
    assert ok(at).query_params["page"] == "topics"
    assert header(at).startswith("2: ")


def test_trends_granularity_and_default_topics(app):
    at = ok(app("arxiv", "trends"))
    assert at.selectbox(key="w.gran").options == ["month", "quarter", "year", "decade"]
    assert len(at.multiselect(key="w.tt").value) == 5
    at.selectbox(key="w.gran").select("quarter").run()
    assert ok(at).query_params["gran"] == "quarter"
    counts = at.dataframe[-1].value
    assert len(counts) > 1 and all(re.fullmatch(r"\d{4} Q[1-4]", i) for i in counts.index)


def test_undated_run_explains_how_to_add_dates(app):
    at = ok(app("trending", "trends"))
    assert "no date column" in at.info[0].value
    assert any("--date-col" in c.value for c in at.code)


def test_semantic_search_finds_the_document_it_is_asked_for(app, dated_run):
    # The start of a document's own modelled text as the query (a search is cut to
    # TEXT_CHARS): in the run's (hashing) space that is closest to the document itself, so it
    # must come first, well ahead of the rest.
    from dashboard.state import TEXT_CHARS

    docs = dated_run.read_documents()
    target = int(docs["text"].str.len().iloc[:100].idxmin())
    (query,) = modelled_texts(docs.loc[[target]])
    at = ok(app("arxiv", "documents", sem=query[:TEXT_CHARS], k="20"))
    table = at.dataframe[0].value
    assert len(table) == 20 and "similarity" in table.columns
    assert table["title"].iloc[0] == docs.loc[target, "title"]
    assert table["similarity"].iloc[0] > 0.5
    assert table["similarity"].iloc[1] < table["similarity"].iloc[0] - 0.1  # other documents
    assert np.all(np.diff(table["similarity"].to_numpy()) <= 1e-6)
    assert at.number_input(key="w.k").value == 20
    assert len(at.get("download_button")) == 1


def test_facet_bar_selection_cross_filters(app, dated_run):
    at = ok(app("arxiv", "facets"))
    at.session_state["facet.label"] = {
        "selection": {
            "points": [{"customdata": "Keyword_Spotting"}],
            "point_indices": [],
            "box": [],
            "lasso": [],
        }
    }
    at.run()
    ok(at)
    assert at.query_params["f.label"] == "Keyword_Spotting"
    assert at.sidebar.multiselect(key="w.f.label").value == ["Keyword_Spotting"]
    spotting = int((dated_run.docs["label"] == "Keyword_Spotting").sum())
    assert listed(at)[-1] == spotting
    at.switch_page("app_pages/documents.py").run()
    assert listed(ok(at))[0] == spotting  # the filter follows to other pages


def test_hierarchy_node_lists_its_topics_and_documents(app, dated_run):
    root = int(dated_run.hierarchy.loc[dated_run.hierarchy["parent"] == -1, "node"].iloc[0])
    child = int(dated_run.hierarchy.loc[dated_run.hierarchy["parent"] == root, "node"].iloc[0])
    topics = [int(t) for t in dated_run.hierarchy.set_index("node").loc[child, "topics"]]
    at = ok(app("arxiv", "hierarchy", node=str(child)))
    assert sorted(at.dataframe[0].value["topic"]) == sorted(topics)
    assert listed(at)[-1] == int(dated_run.docs["topic"].isin(topics).sum())


def test_dendrogram_click_chooses_a_node(app, dated_run):
    at = ok(app("arxiv", "hierarchy"))
    node = int(dated_run.hierarchy["node"].iloc[0])
    at.session_state["dendrogram"] = {
        "selection": {"points": [{"customdata": node}], "point_indices": [], "box": [], "lasso": []}
    }
    at.run()
    assert ok(at).query_params["node"] == str(node)
    assert at.selectbox(key="w.node").value == node
    at = ok(app("arxiv", "hierarchy", hview="icicle", node=str(node)))
    assert len(at.get("plotly_chart")) == 1 and at.selectbox(key="w.node").value == node


def test_switching_runs_drops_the_old_runs_state(app):
    at = ok(app("arxiv", "topics", topic="3", q="image", tq="mask"))
    at.sidebar.selectbox(key="w.run").select("trending").run()
    assert ok(at).query_params == {"run": "trending", "page": "topics"}


def test_state_follows_navigation_between_pages(app):
    at = ok(app("arxiv", "topics", topic="1", q="learning"))
    at.switch_page("app_pages/trends.py").run()
    assert ok(at).query_params["page"] == "trends"
    assert at.query_params["topic"] == "1" and at.query_params["q"] == "learning"


@pytest.mark.parametrize("page", list(PAGES))
def test_document_text_never_goes_through_markdown(app, dashboard_runs, page):
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.evil)
    evil_topic = int(run.docs.loc[run.docs["title"].str.contains("<script>"), "topic"].iloc[0])
    at = ok(app("evil", page, topic=str(max(evil_topic, 0))))
    for source in markdown_sources(at):
        for evil in dashboard_runs.evil_strings:
            assert evil not in source
    if page in ("topics", "documents"):  # the markup is there, as plain text or table cells
        shown = texts(at) + [
            str(v) for df in at.dataframe if "title" in df.value for v in df.value["title"]
        ]
        assert any("<script>" in t for t in shown), page


def test_dashboard_source_never_allows_html():
    sources = "\n".join(p.read_text() for p in APP.parent.rglob("*.py"))
    assert "unsafe_allow_html" not in sources
    assert "st.html" not in sources


def test_background_builds_show_their_progress(dashboard_runs, tmp_path, monkeypatch):
    import os

    root = tmp_path / "cache"
    (root / "runs").mkdir(parents=True)
    (root / "runs" / "arxiv").symlink_to((dashboard_runs.root / "runs" / "arxiv").resolve())
    progress = root / ".progress"
    progress.mkdir()
    running = {
        "run": "big",
        "state": "running",
        "stage": "embed",
        "done": 250,
        "total": 1000,
        "pid": os.getpid(),
        "stages_done": ["ingest"],
    }
    (progress / "big.json").write_text(json.dumps(running))
    failed = {
        "run": "bad",
        "state": "failed",
        "stage": "reduce",
        "error": "disk full",
        "pid": os.getpid(),
        "stages_done": ["ingest", "embed"],
    }
    (progress / "bad.json").write_text(json.dumps(failed))
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(root))
    at = ok_but_warnings(AppTest.from_file(str(APP), default_timeout=60).run())
    bars = at.get("progress")
    assert (
        len(bars) == 1
        and "Building big" in bars[0].proto.text
        and "250/1,000" in bars[0].proto.text
    )
    assert any("disk full" in w.value for w in at.sidebar.warning)


def ok_but_warnings(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_artifacts_are_read_once_per_run_and_shared(app, monkeypatch, tmp_path):
    from dashboard import loaders

    # a scratch directory of its own: the documents' memory-mapped file is written (from
    # the one read of documents.parquet) rather than found from an earlier test
    monkeypatch.setenv("TOPICTRENDS_SCRATCH", str(tmp_path / "scratch"))
    from pipeline.store.artifacts import RunHandle

    reads: list[str] = []
    original = RunHandle.read_table

    def counting(self, filename):
        reads.append(filename)
        return original(self, filename)

    monkeypatch.setattr(RunHandle, "read_table", counting)
    read_documents = RunData.read_documents

    def counting_documents(self, *, text=True):  # the documents' table, without its text
        reads.append("documents.parquet")
        return read_documents(self, text=text)

    monkeypatch.setattr(RunData, "read_documents", counting_documents)
    loaders.run_data.clear()
    at = ok(app("arxiv", "overview"))
    first = sorted(reads)
    assert first.count("documents.parquet") == 1 and first.count("topics.parquet") == 1
    for name in ("map", "topics", "trends", "documents", "facets", "hierarchy"):
        at.switch_page(f"app_pages/{'topic_map' if name == 'map' else name}.py").run()
        ok(at)
    at.sidebar.text_input(key="w.q").input("learning").run()
    ok(app("arxiv", "topics", topic="2"))  # a second session
    assert reads.count("documents.parquet") == 1 and reads.count("topics.parquet") == 1
    assert len(reads) == len(set(reads))  # every table at most once


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ("old-schema", f"schema version 0, but this topictrends reads version {SCHEMA_VERSION}"),
        ("no-documents", "documents.parquet: missing"),
    ],
)
def test_each_broken_run_says_why_and_how_to_rebuild(variant_root, monkeypatch, run, message):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(variant_root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"run": run, "page": "overview"})
    at.run()
    assert not at.exception
    (err,) = at.error
    shown = re.sub(r"\\(.)", r"\1", err.value)
    assert message in shown and "Rebuild it with: topictrends build" in shown
    at.sidebar.selectbox(key="w.run").select("no-trends").run()
    assert not at.exception and not at.error


@pytest.mark.parametrize("page", ["overview", "trends", "topics"])
def test_run_without_trend_scores_falls_back_to_share_change(variant_root, monkeypatch, page):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(variant_root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"run": "no-trends", "page": page})
    at.run()
    ok(at)
    if page == "overview":
        assert any("change in share" in c.value for c in at.caption)
    if page == "trends":
        assert any("no trend scores" in c.value for c in at.caption)
        assert "change" in at.dataframe[0].value.columns
    if page == "topics":
        assert "category" not in at.dataframe[0].value.columns


def test_overview_lists_open_their_topic_once(app, dated_run):
    """The Overview's ranked lists are pills: one opens its topic, and coming back to the
    Overview does not open it again."""
    at = ok(app("arxiv", "overview"))
    top = at.pills(key="overview_top")
    shown = [re.sub(r"\\(.)", r"\1", o) for o in top.options]  # labels are escaped Markdown
    biggest = dated_run.topics.sort_values(["size", "topic"], ascending=[False, True])
    first = biggest.iloc[0]
    assert (
        shown[0]
        == f"{int(first['topic'])}: {first['label']} ({int(first['size']):,} docs, {first['share']:.1%})"
    )
    assert len(shown) == min(12, len(biggest))
    rising = at.pills(key="overview_Rising")
    assert rising.options and all("→" in o for o in rising.options)
    second = int(biggest["topic"].iloc[1])
    top.set_value(second).run()
    ok(at)
    assert at.query_params["page"] == "topics"
    assert at.query_params["topic"] == str(second)
    assert header(at).startswith(f"{second}: ")
    at.switch_page("app_pages/overview.py").run()
    ok(at)
    assert at.query_params["page"] == "overview"
    assert at.pills(key="overview_top").value is None


def test_metadata_filters_are_drawn_only_while_their_panel_is_open(app):
    """Closed, the sidebar's Metadata panel draws no widget (each rerun is cheaper); opened,
    or with a metadata filter in the URL, it shows them."""
    at = ok(app("arxiv", "documents"))
    assert not [w for w in at.sidebar.multiselect if w.key.startswith("w.f.")]
    at.session_state["w.meta_open"] = True
    at.run()
    assert "w.f.label" in [w.key for w in ok(at).sidebar.multiselect]
    at = ok(app("arxiv", "documents", f__label="Keyword_Spotting"))
    assert at.sidebar.multiselect(key="w.f.label").value == ["Keyword_Spotting"]
