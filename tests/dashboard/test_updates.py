"""Updates in the dashboard: "New since the last update", the Lineage page, a topic's history.

The pure functions are tested on small hand-made frames; the pages in AppTest on
``updates`` (conftest: a first build, then 80 documents on two new subjects added as
step 1), on ``evil-updates`` (the same with markup in every topic label) and on runs
without update history, which must say how to get one instead of failing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_app import APP, PAGES, header, markdown_sources, ok
from update_fixture import republish

from dashboard import figures
from dashboard.data import (
    HISTORY_TABLE_COLUMNS,
    NO_HISTORY,
    RELATIONS,
    RunData,
    hierarchy_tree,
    lineage_rows,
    nearest_topics,
    relation_counts,
    sizes_at_step,
    topic_history_rows,
    topic_lineage,
    update_info,
)
from pipeline.store.cache import Store

EVIL = "<script>alert(1)</script> [x](http://evil.example)"


def strings(obj: object) -> list[str]:
    """Every string in a decoded figure spec (Plotly's JSON writes ``<`` as ``\\u003c``)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, list | tuple):
        return [s for v in obj for s in strings(v)]
    return []


def raw_markup(fig_json: str) -> list[str]:
    return [s for s in strings(json.loads(fig_json)) if "<script" in s or "<img" in s]


# --------------------------------------------------------------------------- small frames


@pytest.fixture
def lineage() -> pd.DataFrame:
    """Previous 0 -> 0 (grew); 1 split into 1 and 5; 2 and 3 merged into 2; 4 gone; 6 new."""
    i = "Int64"
    return pd.DataFrame(
        {
            "previous_topic": pd.array([3, 0, 1, 1, 2, 4, None], dtype=i),
            "topic": pd.array([2, 0, 1, 5, 2, None, 6], dtype=i),
            "relation": ["merged", "grew", "split", "split", "merged", "gone", "new"],
            "similarity": [0.7, 0.9, 0.8, 0.6, 0.85, None, None],
            "document_overlap": [0.9, 0.95, 0.6, 0.4, 1.0, None, None],
            "shared_documents": pd.array([9, 19, 6, 4, 10, 0, 0], dtype=i),
            "previous_label": ["c", "a", "b", "b", "two", EVIL, None],
            "label": ["two", "a", "b", "b2", "two", None, "six"],
        }
    )


@pytest.fixture
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": np.array([0, 0, 1, 1, 2], dtype=np.int64),
            "build": ["b0", "b0", "b1", "b1", "b2"],
            "created_at": ["2026-01-01T00:00:00+00:00"] * 2
            + ["2026-02-01T00:00:00+00:00"] * 2
            + ["2026-03-01T00:00:00+00:00"],
            "topic": np.array([0, 1, 0, 1, 0], dtype=np.int64),
            "label": ["a", "b", "a", "b", EVIL],
            "size": np.array([20, 10, 30, 10, 31], dtype=np.int64),
            "relation": ["new", "new", "grew", "same", "same"],
        }
    )


def test_lineage_rows_orders_by_relation_and_filters(lineage):
    rows = lineage_rows(lineage)
    assert list(rows["relation"]) == ["grew", "split", "split", "merged", "merged", "new", "gone"]
    assert list(rows.loc[rows["relation"] == "merged", "previous_topic"]) == [2, 3]
    only = lineage_rows(lineage, ["new", "gone"])
    assert list(only["relation"]) == ["new", "gone"]
    assert only["previous_topic"].isna().iloc[0] and only["topic"].isna().iloc[1]
    # A lineage written without the optional columns still makes the full table.
    bare = lineage_rows(lineage[["previous_topic", "topic", "relation"]])
    assert list(bare.columns) == list(lineage_rows(lineage).columns)
    assert len(bare) == len(rows) and bare["shared_documents"].isna().all()


def test_relation_counts_in_contract_order(lineage):
    assert relation_counts(lineage) == {"grew": 1, "split": 2, "merged": 2, "new": 1, "gone": 1}
    assert list(relation_counts(lineage)) == [r for r in RELATIONS if r != "same"]


def test_topic_lineage_lists_merge_partners_and_split_siblings(lineage):
    merged = topic_lineage(lineage, 2)
    assert sorted(merged["previous_topic"]) == [2, 3] and set(merged["topic"]) == {2}
    split = topic_lineage(lineage, 5)  # 5 came from 1, which also became 1
    assert sorted(zip(split["previous_topic"], split["topic"], strict=True)) == [(1, 1), (1, 5)]
    new = topic_lineage(lineage, 6)
    assert list(new["relation"]) == ["new"]
    assert topic_lineage(lineage, 99).empty


def test_topic_history_rows(history):
    rows = topic_history_rows(history, 0)
    assert list(rows["step"]) == [0, 1, 2]
    assert list(rows["size"]) == [20, 30, 31]
    assert list(rows["relation"]) == ["new", "grew", "same"]
    assert list(rows["date"]) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert list(rows.columns) == ["step", "date", "build", "label", "size", "relation"]
    assert topic_history_rows(history, 7).empty


def test_sizes_at_step(history):
    assert sizes_at_step(history, 1) == {0: 30, 1: 10}
    assert sizes_at_step(None, 0) == {}


def _topics(ids: list[int], sizes: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"topic": ids, "label": [f"t{i}" for i in ids], "size": sizes})


def test_update_info_counts_added_documents_and_new_topics(lineage):
    manifest = {
        "created_at": "2026-02-01T00:00:00+00:00",
        "update": {
            "kind": "update",
            "step": 2,
            "previous_build": "b1",
            "new_documents": 999,  # the documents table wins when it has added_step
            "new_topics": [7],
            "ids_kept": 4,
            "ids_previous": 5,
        },
    }
    docs = pd.DataFrame({"added_step": np.array([0, 1, 2, 2, 2], dtype=np.int64)})
    topics = _topics([0, 1, 2, 5, 6, 7], [30, 10, 19, 4, 3, 8])
    info = update_info(manifest, docs, topics, lineage)
    assert info is not None
    assert info.new_documents == 3 and info.step == 2 and info.kind == "update"
    assert list(info.new_topics["topic"]) == [7, 6]  # manifest + lineage, largest first
    assert (info.ids_kept, info.ids_previous, info.previous_build) == (4, 5, "b1")
    # Without added_step the manifest's count is used.
    info = update_info(manifest, docs.drop(columns="added_step"), topics, None)
    assert info.new_documents == 999 and list(info.new_topics["topic"]) == [7]


@pytest.mark.parametrize(
    "manifest",
    [{}, {"update": None}, {"update": {"kind": "build", "step": 0}}, {"update": {"step": "x"}}],
)
def test_update_info_is_none_without_an_update(manifest):
    docs = pd.DataFrame({"added_step": np.zeros(3, dtype=np.int64)})
    assert update_info(manifest, docs, _topics([0], [3]), None) is None


def test_lineage_sankey_nodes_links_and_escaping(lineage):
    fig = figures.lineage_sankey(
        lineage_rows(lineage), current_sizes={6: 12}, previous_sizes={4: 7}
    )
    (sankey,) = fig.data
    labels = list(sankey.node.label)
    left = [lab for lab, x in zip(labels, sankey.node.x, strict=True) if x < 0.5]
    right = [lab for lab, x in zip(labels, sankey.node.x, strict=True) if x > 0.5]
    assert sorted(left) == sorted(
        ["#0 a", "#1 b", "#2 two", "#3 c", figures.esc(f"#4 {EVIL}", 50), "(new)"]
    )
    assert sorted(right) == ["#0 a", "#1 b", "#2 two", "#5 b2", "#6 six", "(gone)"]
    assert not any("<script>" in lab for lab in labels) and any(
        "&lt;script&gt;" in lab for lab in labels
    )

    def link(src: str, dst: str) -> tuple[float, str]:
        for s, t, v, c in zip(
            sankey.link.source,
            sankey.link.target,
            sankey.link.value,
            sankey.link.color,
            strict=True,
        ):
            if labels[s].startswith(src) and labels[t].startswith(dst) and s < len(left) <= t:
                return v, c
        raise AssertionError(f"no link {src} -> {dst}")

    assert link("#1 ", "#5 ")[0] == 4  # shared documents
    assert link("(new)", "#6 ")[0] == 12  # a new topic: its size
    assert link("#4 ", "(gone)")[0] == 7  # a gone topic: its previous size
    assert link("#3 ", "#2 ")[1] == figures._rgba(figures.RELATION_COLORS["merged"], 0.45)
    assert link("#1 ", "#1 ")[1] == figures._rgba(figures.RELATION_COLORS["split"], 0.45)
    assert len(sankey.link.source) == len(lineage)
    assert raw_markup(fig.to_json()) == []


def test_lineage_sankey_of_an_empty_lineage():
    fig = figures.lineage_sankey(lineage_rows(pd.DataFrame()))
    assert len(fig.data[0].node.label) == 0 and len(fig.data[0].link.source) == 0


def test_topic_history_figure_marks_relations_and_label_changes(history):
    fig = figures.topic_history_figure(history, 0)
    assert list(fig.data[0].x) == [0, 1, 2] and list(fig.data[0].y) == [20, 30, 31]
    notes = {a.x: a.text for a in fig.layout.annotations}
    assert notes[0] == "new" and notes[1] == "grew"
    assert notes[2].startswith("label: &lt;script&gt;")  # same relation, new label
    assert raw_markup(fig.to_json()) == []


def test_hierarchy_tree_after_an_update_leaves_new_topics_out():
    """An update keeps the last full build's hierarchy: merge nodes numbered from its topic
    count (3, 4) while the update's new topic took id 3."""
    hier = pd.DataFrame(
        {
            "node": [3, 4],
            "parent": [4, -1],
            "left": [0, 3],
            "right": [1, 2],
            "distance": [0.5, 1.0],
            "label": ["ab", "abc"],
            "topics": [[0, 1], [0, 1, 2]],
        }
    )
    tree = hierarchy_tree(hier, _topics([0, 1, 2, 3], [5, 4, 3, 9])).set_index("node")
    assert tree.attrs["not_in_tree"] == [3]
    assert sorted(tree.index) == [0, 1, 2, 4, 5]  # merge nodes moved above topic 3
    assert not tree.loc[4, "leaf"] and tree.loc[4, "topics"] == [0, 1]
    assert tree.loc[0, "parent"] == 4 and tree.loc[2, "parent"] == 5 and tree.loc[4, "parent"] == 5
    assert tree.loc[5, "parent"] == -1 and tree.loc[5, "size"] == 12
    # Without a clash nothing moves.
    plain = hierarchy_tree(hier, _topics([0, 1, 2], [5, 4, 3]))
    assert sorted(plain["node"]) == [0, 1, 2, 3, 4] and plain.attrs["not_in_tree"] == []


def test_nearest_topics_skip_unused_ids():
    emb = np.array([[1.0, 0.0], [0.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    assert [t for t, _ in nearest_topics(emb, 0, k=5)] == [2, 3]


# --------------------------------------------------------------------------- the pages


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
