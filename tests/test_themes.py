"""Trend calls on hierarchy nodes (pipeline.stages.themes): themes split into small topics
are still called, small topics are `too few documents` rather than stable or declining, and
each call is headlined once (docs/trends.md, "Themes" and "Too few documents")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.config import TrendsConfig
from pipeline.stages.themes import DOWN, UP, Tree, headlines, tree_of, with_scores
from pipeline.stages.trend_stats import detectable_support
from pipeline.stages.trends import compute_trends
from pipeline.store.contract import THEME_COLUMNS, TOO_FEW, TREND_COLUMNS
from tests.trends_fragmented import fragmented


@pytest.fixture(scope="module")
def scored() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    docs, hierarchy = fragmented(seed=0)
    result = compute_trends(
        docs["date"],
        docs["topic"].to_numpy(),
        "month",
        TrendsConfig(),
        precisions=pd.Series(["day"] * len(docs)),
        hierarchy=hierarchy,
    )
    return docs, hierarchy, result.table, result.themes


def _units(topics: pd.DataFrame, themes: pd.DataFrame) -> list[tuple[list[int], str, bool]]:
    """(topics, category, headline) of every scored unit: topics, then nodes."""
    rows = [([int(t)], c, bool(h)) for t, c, h in topics[["topic", "category", "headline"]].values]
    rows += [
        ([int(x) for x in ts], c, bool(h))
        for ts, c, h in themes[["topics", "category", "headline"]].values
    ]
    return rows


def test_fragmented_themes_are_called_at_the_node_level(scored) -> None:
    docs, _, topics, themes = scored
    assert list(topics.columns) == list(TREND_COLUMNS)
    assert list(themes.columns) == list(THEME_COLUMNS)
    role = docs.groupby("topic")["role"].first()
    units = _units(topics, themes)
    for theme, mine in docs.groupby("theme"):
        want = {"rising": UP, "late": UP, "fading": DOWN}.get(mine["role"].iloc[0])
        if want is None:
            continue
        size = mine["topic"].value_counts()
        held = [
            size.reindex(ts).fillna(0).sum() / len(mine)
            for ts, c, head in units
            if head and c in want
        ]
        assert max(held, default=0) > 0.5, f"theme {theme} ({mine['role'].iloc[0]}) not called"
    # The fragments alone: every one is too small for the test, so none carries the call.
    rising = topics[topics["topic"].map(role) == "rising"]
    assert (rising["category"] == TOO_FEW).all()
    # No unit made of steady papers only is called anything, and no steady fragment is
    # called stable either: it has too few documents to say.
    for ts, c, _ in units:
        if set(role[ts]) == {"steady"}:
            assert c not in UP | DOWN
            if len(ts) == 1:
                assert c == TOO_FEW
    # Each called document is headlined once.
    heads = [set(ts) for ts, _, h in units if h]
    assert sum(len(h) for h in heads) == len(set().union(*heads))


def test_without_the_hierarchy_the_fragments_go_uncalled(scored) -> None:
    docs, _, _, _ = scored
    flat = compute_trends(
        docs["date"],
        docs["topic"].to_numpy(),
        "month",
        TrendsConfig(),
        precisions=pd.Series(["day"] * len(docs)),
    )
    role = docs.groupby("topic")["role"].first()
    called = flat.table[flat.table["category"].isin(UP)]
    assert not (called["topic"].map(role) == "rising").any()
    assert (
        flat.themes.empty
        and flat.table["headline"].eq(flat.table["category"].isin(UP | DOWN)).all()
    )


def test_too_few_documents_follows_the_power_of_the_test() -> None:
    # Recent window 20% of the documents: a doubling needs ~39 documents to be seen, a
    # halving ~68 (fewer documents fall in the smaller window to show it).
    need = detectable_support(200, 800, 1.0, 0.05, np.log(2))
    assert 35 < need < 45 and 60 < detectable_support(200, 800, 1.0, 0.05, -np.log(2)) < 75
    assert detectable_support(200, 800, 2.0, 0.05, np.log(2)) == pytest.approx(2 * need)
    assert detectable_support(0, 800, 1.0, 0.05, np.log(2)) == float("inf")


def _early_topic(papers: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """36 months of 25 documents; topic 1 holds ``papers`` of them, spread over the first 29
    months and none after; the rest are topic 0."""
    months = pd.date_range("2021-01-01", periods=36, freq="MS")
    dates = np.repeat(months, 25)
    labels = np.zeros(len(dates), dtype=np.int64)
    early = np.flatnonzero(dates < months[29])
    labels[early[:: len(early) // papers][:papers]] = 1
    return dates, labels


def test_a_steady_21_paper_topic_with_an_empty_recent_window_is_too_few() -> None:
    # 36 months of 25 documents; topic 1 holds 21 papers, none in the last 7 months (about
    # 4 expected): significant on its own, but 21 documents cannot show a halving reliably.
    dates, labels = _early_topic(21)
    precisions = pd.Series(["month"] * len(dates))
    table = compute_trends(pd.Series(dates), labels, "month", TrendsConfig(), precisions).table
    row = table.set_index("topic").loc[1]
    assert row["recent_count"] == 0 and row["q_value"] < 0.05
    assert row["category"] == TOO_FEW
    assert table.set_index("topic").loc[0, "category"] == "stable"


def _tree(rows: list[tuple[int, int, int, int]]) -> Tree:
    """(node, parent, left, right) rows; topics filled from the leaves."""
    h = pd.DataFrame(rows, columns=["node", "parent", "left", "right"])

    def of(u: int) -> list[int]:
        if u not in set(h["node"]):
            return [u]
        r = h.set_index("node").loc[u]
        return of(int(r["left"])) + of(int(r["right"]))

    h["topics"] = [sorted(of(n)) for n in h["node"]]
    leaves = set(h[["left", "right"]].to_numpy().ravel().tolist()) - set(h["node"])
    return tree_of(h, 1 + max(leaves))


def test_headline_is_the_largest_theme_whose_parts_agree() -> None:
    # Topics 0-3; node 4 = {0, 1}, node 5 = {4, 2}, root 6 = {5, 3}.
    tree = _tree([(4, 5, 0, 1), (5, 6, 4, 2), (6, -1, 5, 3)])
    assert tree.nodes == [4, 5]  # the root is not a theme
    ids = [0, 1, 2, 3, 4, 5]

    def heads(cats: list[str]) -> list[int]:
        return [u for u, h in zip(ids, headlines(ids, cats, tree), strict=True) if h]

    # Fragments too small, node 4 rising, node 5 rising with a too-small third part: 5 carries.
    assert heads([TOO_FEW, TOO_FEW, TOO_FEW, "stable", "rising", "rising"]) == [5]
    # Topic 2 was tested and is stable: node 5 mixes a trend with a steady topic, 4 carries.
    assert heads([TOO_FEW, TOO_FEW, "stable", "stable", "rising", "rising"]) == [4]
    # Both fragments called on their own: the theme above them carries, once.
    assert heads(["rising", "emerging", "stable", "stable", "rising", "stable"]) == [4]
    # A part moving the other way breaks the theme: each carries its own call.
    assert heads(["rising", "declining", "stable", "stable", "rising", "stable"]) == [0, 1]
    # A node called while its parts were not tested stands alone; a stable node calls nothing.
    assert heads([TOO_FEW, TOO_FEW, TOO_FEW, "fading", "stable", "stable"]) == [3]


def test_an_uncalled_part_agrees_when_its_interval_holds_the_themes_change() -> None:
    # Topics 0-3; node 4 = {0, 1}, node 5 = {4, 2}, root 6 = {5, 3}. Node 4 rises by 0.55;
    # its fragments, each tested, were left uncalled by the adjustment for many tests.
    tree = _tree([(4, 5, 0, 1), (5, 6, 4, 2), (6, -1, 5, 3)])
    ids = [0, 1, 2, 3, 4, 5]
    cats = ["stable", "stable", "stable", "stable", "rising", "stable"]

    def heads(lows: list[float], highs: list[float]) -> list[int]:
        growth = [0.5, 0.6, 0.0, 0.0, 0.55, 0.3]
        flags = headlines(ids, cats, tree, (growth, lows, highs))
        return [u for u, h in zip(ids, flags, strict=True) if h]

    wide = [-0.5, -0.5, -0.3, -0.3, 0.2, 0.0]
    # Both fragments' intervals hold 0.55: the theme is their common change.
    assert heads([0.1, 0.05, *wide[2:]], [1.0, 1.1, 0.3, 0.3, 0.9, 0.6]) == [4]
    # One fragment's interval shows it steady (up to 0.3): the node mixes, nothing carries.
    assert heads([0.1, -0.2, *wide[2:]], [1.0, 0.3, 0.3, 0.3, 0.9, 0.6]) == []
    # A wide interval holding both 0.55 and no change at all: it may be steady, so it breaks.
    assert heads([0.1, -0.3, *wide[2:]], [1.0, 1.2, 0.3, 0.3, 0.9, 0.6]) == []
    # Without the scores an uncalled fragment of testable size breaks the theme, as before.
    assert not headlines(ids, cats, tree).any()
    # A part called the other way breaks it whatever its interval.
    down = ["declining", "stable", "stable", "stable", "rising", "stable"]
    flags = headlines(ids, down, tree, ([-0.5, 0.6, 0, 0, 0.55, 0.3], [-1.0] * 6, [1.0] * 6))
    assert [u for u, h in zip(ids, flags, strict=True) if h] == [0]


def test_a_kept_hierarchy_whose_node_ids_are_now_topics_never_lends_a_topic_its_call() -> None:
    # After an update: the build had topics 0-2 and nodes 3 = {0, 1}, 4 = {3, 2} (root);
    # the update added topics 3 and 4. Topics 0 and 1 rise at topic 4's expense; new topic 3
    # keeps its share.
    rng = np.random.default_rng(0)
    months = pd.date_range("2020-01-15", periods=36, freq="MS") + pd.Timedelta(days=14)
    rows = []
    for m, when in enumerate(months):
        rows += [(when, t) for t in (2, 3) for _ in range(rng.poisson(20))]
        rows += [(when, 4) for _ in range(rng.poisson(80 - 2 * m))]
        rows += [(when, t) for t in (0, 1) for _ in range(rng.poisson(4 + m))]
    docs = pd.DataFrame(rows, columns=["date", "topic"])
    hierarchy = pd.DataFrame(
        {"node": [3, 4], "parent": [4, -1], "left": [0, 3], "right": [1, 2],
         "topics": [[0, 1], [0, 1, 2]]}
    )  # fmt: skip
    r = compute_trends(docs["date"], docs["topic"].to_numpy(), "month", TrendsConfig(),
                       hierarchy=hierarchy)  # fmt: skip
    assert r.themes["node"].tolist() == [3]  # the kept node keeps its id in the output
    node = r.themes.iloc[0]
    assert node["category"] in UP and node["headline"]
    topics = r.table.set_index("topic")
    assert topics.loc[3, "category"] == "stable" and not topics.loc[3, "headline"]


def test_node_scores_join_the_hierarchy_and_replace_old_ones(scored) -> None:
    _, hierarchy, _, themes = scored
    out = with_scores(hierarchy, themes)
    assert list(out.columns[: len(hierarchy.columns)]) == list(hierarchy.columns)
    root = out["parent"] == -1
    assert out.loc[root, "category"].isna().all() and not out.loc[root, "headline"].any()
    assert out.loc[~root, "category"].notna().all() and len(out) == len(hierarchy)
    # An update keeps the previous hierarchy: its old scores are replaced, not duplicated.
    again = with_scores(out.assign(category="stale"), themes)
    assert list(again.columns) == list(out.columns)
    pd.testing.assert_frame_equal(again, out)
    assert with_scores(hierarchy, None) is hierarchy  # an undated run: no scores


def test_a_fall_needs_the_documents_to_show_a_halving() -> None:
    # Recent window 7 of 36 months (19% of the documents): a doubling shows from ~40
    # documents, a halving from ~70. Topic 1 has 50 papers, none recent: clearly significant,
    # enough to have seen a rise, too few to call a fall.
    dates, labels = _early_topic(50)
    result = compute_trends(
        pd.Series(dates), labels, "month", TrendsConfig(), pd.Series(["month"] * len(dates))
    )
    info, row = result.info, result.table.set_index("topic").loc[1]
    assert info["testable_support"] < 50 < info["testable_support_decline"]
    assert row["recent_count"] == 0 and row["q_value"] < 0.001
    assert row["category"] == TOO_FEW
