"""Digests that show themes (issue 19 follow-up): a rising subject split into fragments too
small to call alone reaches the digest as one theme, in the run's own window and in a
recomputed one, through curation (pipeline.curation.themes), in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from pipeline.config import TrendsConfig
from pipeline.curation.log import Entry
from pipeline.curation.themes import CUT, curated_hierarchy, dense_hierarchy
from pipeline.curation.view import curated_run, recompute_trends
from pipeline.digest import render
from pipeline.digest.content import build_digest
from pipeline.digest.send import message
from pipeline.stages.over_time import topics_over_time
from pipeline.stages.themes import tree_of, with_scores
from pipeline.stages.trends import compute_trends
from pipeline.store.contract import TOO_FEW
from tests.trends_fragmented import fragmented

EVIL = "<script>alert(1)</script> [x](javascript:alert(1))"


@dataclass
class Tables:
    """A dated run held in memory: what ``curated_run`` reads of a RunHandle."""

    name: str
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def has(self, filename: str) -> bool:
        return filename in self.tables

    def read_table(self, filename: str, columns: list[str] | None = None) -> pd.DataFrame:
        return self.tables[filename].copy()


@pytest.fixture(scope="module")
def run() -> tuple[Tables, pd.DataFrame]:
    """The fragmented corpus (tests/trends_fragmented.py) as a scored run, and its documents
    with their theme's role."""
    docs, hierarchy = fragmented(seed=0)
    docs = docs.assign(
        doc_id=[f"d{i}" for i in range(len(docs))],
        title=[f"paper {i}" for i in range(len(docs))],
        url=None,
        date_precision="day",
    )
    result = compute_trends(
        docs["date"], docs["topic"].to_numpy(), "month", TrendsConfig(), docs["date_precision"],
        hierarchy=hierarchy,
    )  # fmt: skip
    by = docs.groupby("topic")
    topics = pd.DataFrame(
        {
            "topic": by.size().index.astype("int64"),
            "label": [f"{r} {t}" for t, r in by["role"].first().items()],
            "size": by.size().to_numpy(),
            "share": by.size().to_numpy() / len(docs),
            "keywords": [[f"kw{t}"] for t in by.size().index],
            "representative_doc_ids": [list(g["doc_id"][:3]) for _, g in by],
        }
    )
    ot = topics_over_time(docs["date"], docs["topic"], "month").assign(partial=False)
    manifest = {
        "dated": True,
        "period": "month",
        "config": {"trends": {}},
        "trends": result.info,
    }
    tables = {
        "topics.parquet": topics,
        "documents.parquet": docs,
        "topics_over_time.parquet": ot,
        "trends.parquet": result.table,
        "hierarchy.parquet": with_scores(hierarchy, result.themes),
    }
    return Tables("frag", manifest, tables), docs


def edit(action: str, topic: int, into: int | None = None) -> Entry:
    return Entry(action, "ann", "2026-01-01T00:00:00", 0, topic=topic, into=into)


def roles_of(docs: pd.DataFrame) -> pd.Series:
    return docs.groupby("topic")["role"].first()


def covered(items: list[dict]) -> set[int]:
    return {t["topic"] for i in items for t in i["topics"]}


def listed_topics(d: dict) -> set[int]:
    return {i["topic"] for items in d["sections"].values() for i in items}


def check_themes(d: dict, docs: pd.DataFrame) -> None:
    """Every fragment of a rising (late) theme of the corpus is under a rising theme, every
    fragment of a fading one under a fading theme, no theme mixes in other fragments, and
    no fragment is listed again as a topic."""
    roles = roles_of(docs)
    for way, want in (("rising", {"rising", "late"}), ("fading", {"fading"})):
        items = d["themes"][way]
        assert set(roles[roles.isin(want)].index) == covered(items), (way, d["themes"])
        for i in items:
            assert {roles[t["topic"]] for t in i["topics"]} <= want and len(i["topics"]) >= 2
            assert (i["growth"] > 0) == (way == "rising") and i["q_value"] < 0.05
            assert len(i["documents"]) == 3 and len(i["series"]) == 12
    assert not covered([i for s in d["themes"].values() for i in s]) & listed_topics(d)


def test_the_digest_lists_the_theme_not_its_fragments(run) -> None:
    handle, docs = run
    d = build_digest(curated_run(handle, []))
    check_themes(d, docs)
    # The fragments are too small to be called alone: without themes no reader would see them.
    fragments = [t for i in d["themes"]["rising"] for t in i["topics"]]
    assert fragments and all(t["category"] == TOO_FEW for t in fragments)
    assert d["themes_note"] is None
    # Watching a fragment: its theme moved, so the theme is the match.
    theme = d["themes"]["rising"][0]
    watch = f"topic:{theme['topics'][0]['topic']}"
    d = build_digest(curated_run(handle, []), watch=(watch,))
    assert [(i.get("node"), i["watch"]) for i in d["matches"]] == [(theme["node"], [watch])]


def test_a_window_recomputes_the_node_scores(run) -> None:
    handle, docs = run
    d = build_digest(curated_run(handle, []), last=9)
    assert d["recent_window"]["periods"] == 9
    assert d["recent_window"] != handle.manifest["trends"]["recent_window"]
    check_themes(d, docs)
    # The late theme's fragments are each `new` in this window: listed under their theme only.
    late = [t for i in d["themes"]["rising"] for t in i["topics"] if t["category"] == "new"]
    assert late and not {t["topic"] for t in late} & listed_topics(d)


def test_a_merge_inside_a_theme_keeps_it_and_one_across_leaves_it_out(run) -> None:
    handle, docs = run
    parts = docs.groupby("theme")["topic"].unique()
    a, b = sorted(parts[0])[:2]  # two fragments of the first rising theme
    d = build_digest(curated_run(handle, [edit("merge", b, a)]))
    mine = [i for i in d["themes"]["rising"] if a in [t["topic"] for t in i["topics"]]]
    assert len(mine) == 1 and b not in covered(mine)  # merged into a: shown as a
    assert set(parts[0]) - {b} <= covered(mine) and d["themes_note"] is None
    # A rising fragment merged into a steady topic: the nodes holding it no longer hold the
    # same documents, so they are left out, and the digest says so in one line.
    steady = int(docs.loc[docs["role"] == "steady", "topic"].min())
    c = int(sorted(parts[1])[0])
    d = build_digest(curated_run(handle, [edit("merge", c, steady)]))
    assert not covered(d["themes"]["rising"]) & set(parts[1])
    assert set(parts[2]) <= covered(d["themes"]["rising"])  # the other rising theme stays
    assert "left out" in d["themes_note"]
    # Hiding all fragments of a theme but one: the theme is gone, the last one stands alone.
    keep, *hide = sorted(parts[3])  # a fading theme
    d = build_digest(curated_run(handle, [edit("hide", int(t)) for t in hide]))
    assert keep not in covered(d["themes"]["fading"]) and d["themes_note"] is None
    assert set(parts[4]) <= covered(d["themes"]["fading"])


def test_without_curation_the_recompute_is_the_trends_stage(run) -> None:
    """One code path: rescoring the run's own window on the carried hierarchy gives back
    the stage's own topic and node scores."""
    handle, docs = run
    view = curated_run(handle, [])
    table, themes = recompute_trends(view.docs, "month", TrendsConfig(), hierarchy=view.hierarchy)
    pd.testing.assert_frame_equal(table, handle.tables["trends.parquet"])
    stored = view.themes.set_index("node").sort_index()
    mine = themes.set_index("node").sort_index()
    assert mine["topics"].tolist() == stored["topics"].tolist()
    for c in ("category", "headline", "q_value", "growth", "recent_count"):
        assert mine[c].astype(object).tolist() == stored[c].astype(object).tolist(), c


def test_curated_hierarchy_maps_merges_hides_and_dedupes() -> None:
    # Topics 0-4; node 5 = {0, 1}, 6 = {5, 2}, 7 = {3, 4}, root 8 = {6, 7}.
    h = pd.DataFrame(
        {
            "node": [5, 6, 7, 8],
            "parent": [6, 8, 8, -1],
            "left": [0, 5, 3, 6],
            "right": [1, 2, 4, 7],
            "label": ["a", "b", "c", "root"],
            "topics": [[0, 1], [0, 1, 2], [3, 4], [0, 1, 2, 3, 4]],
        }
    )
    where = {1: 0, 4: -1}  # 1 merged into 0, 4 hidden
    out = curated_hierarchy(h, lambda t: where.get(t, t), range(5))
    # 5 -> {0} and 7 -> {3}: single topics, dropped; 6 -> {0, 2}; the root -> {0, 2, 3}.
    assert out[["node", "parent"]].values.tolist() == [[6, 8], [8, -1]]
    assert out["topics"].tolist() == [[0, 2], [0, 2, 3]] and out.attrs[CUT] == 0
    # Hiding 3 and 4 makes the root identical to node 6: kept once, as the top (untested).
    out = curated_hierarchy(h, lambda t: -1 if t in (3, 4) else t, range(5))
    assert out[["node", "parent"]].values.tolist() == [[5, 6], [6, -1]]
    # 2 merged into 3 cuts across node 6 (it holds 2, not 3) and node 7 (3, not 2): both
    # left out; the root then merges node 5 and topics 3 (with 2's documents) and 4.
    out = curated_hierarchy(h, lambda t: 3 if t == 2 else t, range(5))
    assert out["node"].tolist() == [5, 8] and out.attrs[CUT] == 2
    dense, nodes = dense_hierarchy(out, np.array([0, 1, 3, 4]))
    tree = tree_of(dense, 4)
    assert nodes.tolist() == [5, 8] and tree.nodes == [4]  # the root is not tested
    assert tree.children[5] == (4, 2, 3) and tree.children[4] == (0, 1)


def test_every_format_shows_the_theme_escaped(run) -> None:
    handle, docs = run
    d0 = build_digest(curated_run(handle, []))
    theme = d0["themes"]["rising"][0]
    t = theme["topics"][0]["topic"]
    rename = Entry("rename", "ann", "2026-01-01T00:00:00", 0, topic=t, value=EVIL)
    d = build_digest(curated_run(handle, [rename]))
    item = next(i for i in d["themes"]["rising"] if i["node"] == theme["node"])
    assert EVIL in [x["label"] for x in item["topics"]]
    md = render.to_markdown(d)
    assert "## Rising themes" in md and "<script>" not in md and "](javascript" not in md
    assert md.index("## Rising themes") < md.index("## Fading themes")
    assert r"\<script\>alert\(1\)\</script\>" in md
    page = render.to_html(d)
    assert "<h2>Rising themes</h2>" in page and "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"theme-{theme['node']}" in render.charts(d)
    text = render.to_text(d)
    assert "RISING THEMES" in text and EVIL in text
    assert json.loads(render.to_json(d))["themes"]["rising"][0]["topics"]
    mail = message(d, "bot@example.com", ["team@example.com"])
    body = mail.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in body and "<script>" not in body
    assert f"theme-{theme['node']}.png" in [p.get_filename() for p in mail.walk()]
    assert "RISING THEMES" in mail.get_body(("plain",)).get_content()
    items = ET.fromstring(render.to_rss(d).encode())[0].findall("item")
    assert any(it.findtext("title") == f"Rising themes: Theme: {theme['label']}" for it in items)
    assert all("<script>" not in (it.findtext("description") or "") for it in items)
