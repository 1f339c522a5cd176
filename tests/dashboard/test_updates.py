"""Updates in the dashboard: "New since the last update", the Lineage page, a topic's history.

The pages, in AppTest (the functions behind them are tested on small hand-made frames in
test_lineage_data.py and test_lineage_figures.py), on
``updates`` (conftest: a first build, then 80 documents on two new subjects added as
step 1), on ``evil-updates`` (the same with markup in every topic label) and on runs
without update history, which must say how to get one instead of failing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from frames import raw_markup, strings
from test_app import APP, PAGES, header, markdown_sources, ok
from update_fixture import republish

from dashboard.lineage_data import (
    HISTORY_TABLE_COLUMNS,
    NO_HISTORY,
    lineage_rows,
    topic_history_rows,
    topic_lineage,
)
from dashboard.run_data import RunData
from pipeline.store.cache import Store


@pytest.fixture(scope="module")
def updated(dashboard_runs) -> RunData:
    """Step 1, ``topictrends update``: 80 documents added to a 200-document build."""
    return RunData.open(dashboard_runs.root / "runs" / dashboard_runs.updated)


@pytest.fixture(scope="module")
def refitted(dashboard_runs) -> RunData:
    """Step 2, ``topictrends build --refit`` of the updated run."""
    return RunData.open(dashboard_runs.root / "runs" / dashboard_runs.refitted)


@pytest.fixture
def app(dashboard_runs, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))

    def open_app(run: str, page: str, **params: str) -> AppTest:
        """Open ``page`` of ``run`` under $TOPICTRENDS_CACHE (a test may point it elsewhere)."""
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["run"] = run
        at.query_params["page"] = page
        for k, v in params.items():
            at.query_params[k] = v
        return at.run()

    return open_app


def history_table(at) -> pd.DataFrame:  # noqa: ANN001 - AppTest
    (table,) = [
        d.value for d in at.dataframe if list(d.value.columns) == list(HISTORY_TABLE_COLUMNS)
    ]
    return table


def select_row(at, key: str, row: int):  # noqa: ANN001, ANN201 - AppTest types
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def test_the_update_fixtures_are_what_the_pages_are_tested_on(updated, refitted):
    """The runs from the real commands hold what the page tests below rely on."""
    u = updated.update
    assert u["step"] == 1 and u["kind"] == "update" and u["previous_build"]
    assert int((updated.docs["added_step"] == 1).sum()) == u["new_documents"] == 80
    assert u["new_topics"] and set(updated.lineage["relation"]) <= {"same", "grew", "new"}
    r = refitted.update
    assert r["step"] == 2 and r["kind"] == "refit"
    assert {"split", "merged", "gone", "new"} <= set(refitted.lineage["relation"])
    for run in (updated, refitted):
        ids = set(run.topics["topic"])
        lin = run.lineage
        assert set(lin["topic"].dropna().astype(int)) == ids  # every current topic has a row
        new = lin.loc[lin["relation"] == "new", "topic"].astype(int)
        assert sorted(run.update["new_topics"]) == sorted(new)
        hist = run.topic_history
        now = hist[hist["step"] == run.update_step].set_index("topic")
        assert now["size"].to_dict() == run.topics.set_index("topic")["size"].to_dict()


# Every page after an update; after a refit (ids with gaps, a renumbered tree) the pages
# that draw topics by id and are not covered by the tests further down.
@pytest.mark.parametrize(
    ("run", "page"),
    [("updates", p) for p in PAGES] + [("refits", p) for p in ("map", "trends", "hierarchy")],
)
def test_every_page_renders_on_an_updated_run(app, run, page):
    at = ok(app(run, page))
    assert at.title[0].value == (PAGES[page] or run)


def test_overview_shows_what_the_update_added(app, updated):
    at = ok(app("updates", "overview"))
    assert "New since the last update" in [s.value for s in at.subheader]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["New documents"] == "80"
    new = sorted(int(t) for t in updated.update["new_topics"])
    assert metrics["New topics"] == str(len(new))
    table = next(d.value for d in at.dataframe if d.key == "overview_new_topics")
    assert sorted(table["topic"]) == new
    assert list(table["size"]) == sorted(table["size"], reverse=True)
    assert not any(NO_HISTORY in c.value for c in at.caption)
    at = ok(select_row(at, "overview_new_topics", 0))
    assert at.query_params["page"] == "topics"
    assert at.query_params["topic"] == str(int(table["topic"].iloc[0]))
    assert header(at).startswith(f"{int(table['topic'].iloc[0])}: ")


def test_hierarchy_page_names_the_topics_an_update_added(app, updated):
    at = ok(app("updates", "hierarchy"))
    new = sorted(int(t) for t in updated.update["new_topics"])
    (note,) = [c.value for c in at.caption if "not in the hierarchy yet" in c.value]
    assert f"topics {', '.join(str(t) for t in new)})" in note and "--refit" in note
    assert not set(new) & set(at.selectbox(key="w.node").options)


def test_overview_after_a_refit(app, refitted):
    at = ok(app("refits", "overview"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["New documents"] == "0"  # a refit adds no documents
    assert metrics["New topics"] == str(len(refitted.update["new_topics"]))
    assert metrics["Step"] == "2 (refit)"


@pytest.fixture(scope="module")
def legacy_root(dashboard_runs, tmp_path_factory) -> Path:
    """A copy of ``arxiv`` as built before updates existed: no ``manifest.update``, no
    topic_history.parquet, no ``added_step`` column."""
    root = tmp_path_factory.mktemp("legacy") / "cache"
    src = (dashboard_runs.root / "runs" / dashboard_runs.dated).resolve()
    docs = pd.read_parquet(src / "documents.parquet")
    republish(
        Store(root),
        "legacy",
        frames={"documents": docs.drop(columns=["added_step"], errors="ignore")},
        source=src,
        manifest_patch={"run": "legacy"},
        drop=("update", "topic_history.parquet", "lineage.parquet"),
    )
    return root


@pytest.mark.parametrize("page", ["overview", "lineage", "topics"])
@pytest.mark.parametrize("run", ["arxiv", "legacy"])
def test_a_run_without_update_history_says_how_to_get_one(app, legacy_root, monkeypatch, run, page):
    if run == "legacy":
        monkeypatch.setenv("TOPICTRENDS_CACHE", str(legacy_root))
        legacy = RunData.open(legacy_root / "runs" / "legacy")
        assert legacy.update is None and legacy.topic_history is None
        assert "added_step" not in legacy.docs.columns
    at = ok(app(run, page, topic="1"))
    shown = [c.value for c in at.caption] + [i.value for i in at.info]
    assert any(NO_HISTORY in s for s in shown)
    commands = [c.value for c in at.code] + [t.value for t in at.text]  # the Overview: plain text
    assert f"topictrends update {run} NEW_INPUT" in commands
    assert "New since the last update" not in [s.value for s in at.subheader]
    if page == "lineage":
        assert not at.get("plotly_chart")  # no Sankey without a lineage


def test_lineage_page_sankey_table_and_relation_filter(app, refitted):
    at = ok(app("refits", "lineage"))
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    (sankey,) = spec["data"]
    assert sankey["type"] == "sankey" and len(sankey["link"]["source"]) == len(refitted.lineage)
    table = at.dataframe[0].value
    assert len(table) == len(refitted.lineage)
    assert list(table["relation"]) == list(lineage_rows(refitted.lineage)["relation"])
    assert any("**split**" in c.value for c in at.caption)  # the relations are explained

    at = ok(app("refits", "lineage", rel="new"))
    assert at.multiselect(key="w.rel").value == ["new"]
    table = at.dataframe[0].value
    want = int((refitted.lineage["relation"] == "new").sum())
    assert len(table) == want and set(table["relation"]) == {"new"}
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["data"][0]["link"]["source"]) == want

    at.multiselect(key="w.rel").select("same").run()
    assert set(ok(at).query_params["rel"]) == {"new", "same"}
    shown = at.dataframe[0].value
    assert set(shown["relation"]) == {"new", "same"} & set(refitted.lineage["relation"])
    at = ok(select_row(at, at.dataframe[0].key, 0))
    assert at.query_params["page"] == "topics"
    assert at.query_params["topic"] == str(int(shown["topic"].iloc[0]))


def test_topic_history_panel_of_a_carried_topic(app, refitted):
    hist = refitted.topic_history
    steps = hist.groupby("topic")["step"].nunique()
    topic = int(steps[steps == 3].index[0])  # there since the first build
    at = ok(app("refits", "topics", topic=str(topic)))
    assert "History" in [s.value for s in at.subheader]
    shown = history_table(at)
    want = topic_history_rows(hist, topic)
    assert list(shown["step"]) == [0, 1, 2] == list(want["step"])
    assert list(shown["size"]) == list(want["size"])
    assert list(shown["label"]) == list(want["label"])
    assert list(shown["relation"]) == list(want["relation"])
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(d["data"][0].get("x") == [0, 1, 2] for d in charts)
    rows = next(d.value for d in at.dataframe if d.key == f"topic_lineage.{topic}")
    want = topic_lineage(refitted.lineage, topic)
    assert list(rows["previous_topic"]) == list(want["previous_topic"])
    assert (rows["topic"] == topic).any()


def test_topic_history_panel_of_a_new_topic(app, updated):
    new = sorted(int(t) for t in updated.update["new_topics"])
    at = ok(app("updates", "topics", topic=str(new[0])))
    shown = history_table(at)
    assert list(shown["step"]) == [1] and list(shown["relation"]) == ["new"]
    assert any("first appears at step 1" in c.value for c in at.caption)


def test_split_siblings_are_listed_and_open(app, refitted):
    split = refitted.lineage[refitted.lineage["relation"] == "split"]
    parent = int(split["previous_topic"].iloc[0])
    children = sorted(int(t) for t in split.loc[split["previous_topic"] == parent, "topic"])
    at = ok(app("refits", "topics", topic=str(children[0])))
    key = f"topic_lineage.{children[0]}"
    rows = next(d.value for d in at.dataframe if d.key == key)
    split_rows = rows[(rows["previous_topic"] == parent) & (rows["relation"] == "split")]
    assert sorted(int(t) for t in split_rows["topic"]) == children
    sibling = int(rows.index[rows["topic"] == children[1]][0])
    at = ok(select_row(at, key, sibling))
    assert at.query_params["topic"] == str(children[1])
    assert header(at).startswith(f"{children[1]}: ")


@pytest.mark.parametrize("page", ["overview", "lineage", "topics"])
def test_labels_with_markup_are_never_markdown(app, dashboard_runs, page):
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.evil_updated)
    topic = int(run.update["new_topics"][0])
    at = ok(app("evil-updates", page, topic=str(topic)))
    for source in markdown_sources(at):
        for evil in dashboard_runs.evil_strings:
            assert evil not in source, (page, source)
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    for spec in specs:
        assert raw_markup(spec) == []
    if page in ("lineage", "topics"):  # the Sankey's nodes, the history's hover: escaped text
        assert any("&lt;script&gt;" in s for spec in specs for s in strings(json.loads(spec)))
    tables = pd.concat(
        [d.value.astype(str) for d in at.dataframe if "label" in d.value.columns], ignore_index=True
    )
    assert tables["label"].str.contains("<script>alert(1)</script>", regex=False).any()


@pytest.mark.parametrize(
    "text",
    [
        "[click](http://evil.example)",
        "see https://x.org/a",
        "www.evil.example",
        "a@b.co",
        "mailto:a",
    ],
)
def test_md_escape_leaves_nothing_for_the_autolinker(text):
    """A label in a header must not become a link: GFM autolinks bare URLs and addresses
    even after backslash escapes (found with the markup labels of ``evil-updates``)."""
    from dashboard.ui import ZWSP, md_escape

    out = md_escape(text)
    plain = re.sub(r"\\(.)", r"\1", out)
    assert plain.replace(ZWSP, "") == text  # shown as the same characters
    assert not re.search(r"(?i)https?:|www\.|mailto:|\w@", plain)
