"""Trend calls on hierarchy nodes: themes that merge the fragments of one subject.

Clustering often splits one subject into several small topics; each fragment then holds too
few documents for the trend test, while the subject as a whole has plenty. The hierarchy
(``hierarchy.parquet``) merges related topics step by step, so every merge node is tested
as a unit of its own: its documents are those of its leaf topics. Pure functions, no I/O:
``pipeline.stages.trends.compute_trends`` scores topics and nodes with the same statistics
and asks this module which unit carries each call (``headline``). The rule is in
``headlines`` and docs/trends.md ("Themes").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.stages.base import Context, digest
from pipeline.store.contract import CATEGORIES, TOO_FEW

UP = frozenset({"new", "emerging", "rising"})
DOWN = frozenset({"declining", "fading"})


@dataclass
class Tree:
    """The merge nodes that are tested (every node but the root), and how units nest.

    ``children`` and ``parent`` use the hierarchy's id space: topics are 0..K-1, merge
    nodes the ids ``hierarchy.parquet`` gives them.
    """

    nodes: list[int] = field(default_factory=list)
    topics: list[np.ndarray] = field(default_factory=list)
    children: dict[int, tuple[int, ...]] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    original: dict[int, int] = field(default_factory=dict)  # renumbered node -> its id

    def node_id(self, node: int) -> int:
        """The id ``hierarchy.parquet`` gives a node (``tree_of`` may renumber it)."""
        return self.original.get(node, node)


def tree_of(hierarchy: pd.DataFrame | None, n_topics: int) -> Tree:
    """The tested nodes of ``hierarchy`` over topics ``0..n_topics-1``.

    The root (``parent == -1``) holds every topic: its share is one minus the outliers'
    share, not a theme, so it is not tested. A node's topics outside ``0..n_topics-1``
    (a stale hierarchy) are ignored, and a node left with fewer than two topics is not a
    theme either. A ``children`` column, when there is one, replaces ``left``/``right``:
    the curated view's hierarchy (``pipeline.curation.themes``) can merge more than two.
    """
    tree = Tree()
    if hierarchy is None or hierarchy.empty:
        return tree
    wide = "children" in hierarchy.columns  # a curated hierarchy: a node may merge more
    ids = [int(n) for n in hierarchy["node"]]
    # After an update the kept hierarchy's node ids can equal new topics' ids: then every
    # node is renumbered above both, so a topic never reads a node's call.
    step = max(n_topics, max(ids) + 1) if min(ids) < n_topics else 0
    known = {n: n + step for n in ids}
    tree.original = {n + step: n for n in ids} if step else {}
    for r in hierarchy.itertuples(index=False):
        node = known[int(r.node)]
        kids = tuple(known.get(int(c), int(c)) for c in (r.children if wide else (r.left, r.right)))
        tree.children[node] = kids
        for c in kids:
            tree.parent[c] = node
        topics = np.array([int(t) for t in r.topics if 0 <= int(t) < n_topics], dtype=np.int64)
        if int(r.parent) >= 0 and len(topics) >= 2:
            tree.nodes.append(node)
            tree.topics.append(topics)
    return tree


def node_counts(counts: np.ndarray, tree: Tree) -> np.ndarray:
    """Documents per period of each tested node: the sum over its topics (nodes x periods)."""
    if not tree.nodes:
        return np.zeros((0, counts.shape[1]), dtype=counts.dtype)
    return np.stack([counts[t].sum(axis=0) for t in tree.topics])


def direction(category: str) -> int:
    """+1 for the rising calls, -1 for the falling ones, 0 for no call."""
    return 1 if category in UP else -1 if category in DOWN else 0


def headlines(
    ids: list[int],
    categories: list[str],
    tree: Tree,
    scores: tuple[list[float], list[float], list[float]] | None = None,
) -> np.ndarray:
    """Which units carry a call in the headline lists, so no document is called twice.

    A unit is *coherent* in a direction (up or down) when it is called in that direction
    and each of its children *agrees* with its change: the child has too few documents to
    be tested (``TOO_FEW``), or is itself coherent in that direction, or, left uncalled,
    its own growth interval lies on the side of the change and holds the unit's growth
    (``scores``: growth, interval low and high per unit) and its own children agree
    likewise. A fragment left uncalled only by the adjustment for many tests agrees with
    the theme it moves with; a child called the other way, whose interval holds no change
    (it may be steady: a wide interval around 0 would otherwise hold a mixture's diluted
    growth), or whose interval shows a change unlike the unit's (one moving much faster),
    breaks coherence: the node would be a mixture. Without ``scores`` an uncalled child of
    testable size always breaks it. The
    headline units are the coherent units whose parent is not coherent in the same
    direction: the largest theme all of whose parts agree. The topics under a headline node
    are its fragments; their own calls stay in trends.parquet but are not headlined.
    """
    cat = dict(zip(ids, categories, strict=True))
    growth: dict[int, float] = {}
    low: dict[int, float] = {}
    high: dict[int, float] = {}
    if scores is not None:
        growth, low, high = (dict(zip(ids, col, strict=True)) for col in scores)
    memo: dict[tuple[int, int], bool] = {}

    def agrees(c: int, d: int, g: float) -> bool:
        if cat.get(c) == TOO_FEW:
            return True
        if c not in cat or direction(cat[c]) == d:
            return coherent(c, d)
        if direction(cat[c]) == -d or c not in low or not low[c] <= g <= high[c]:
            return False
        if not (low[c] > 0 if d > 0 else high[c] < 0):
            return False  # its interval holds no change: it may be steady
        return all(agrees(k, d, g) for k in tree.children.get(c, ()))

    def coherent(u: int, d: int) -> bool:
        if (u, d) not in memo:
            ok = u in cat and direction(cat[u]) == d
            g = growth.get(u, float("nan"))
            memo[u, d] = ok and all(agrees(c, d, g) for c in tree.children.get(u, ()))
        return memo[u, d]

    out = np.zeros(len(ids), dtype=bool)
    for i, u in enumerate(ids):
        d = direction(cat[u])
        if d and coherent(u, d):
            p = tree.parent.get(u, -1)
            out[i] = not (p in cat and coherent(p, d))
    return out


def theme_of(trends: pd.DataFrame, themes: pd.DataFrame) -> dict[int, int]:
    """Topic -> the headline node whose theme it belongs to (topics under no theme: absent)."""
    out: dict[int, int] = {}
    if themes is None or themes.empty or "headline" not in themes.columns:
        return out
    for r in themes[themes["headline"].astype(bool)].itertuples(index=False):
        for t in r.topics:
            out[int(t)] = int(r.node)
    return out


def with_scores(hierarchy: pd.DataFrame | None, themes: pd.DataFrame | None) -> pd.DataFrame | None:
    """``hierarchy`` with each node's trend scores (SCORE_COLUMNS) joined by node id.

    Scores the hierarchy already carries (an update keeps the previous build's hierarchy)
    are replaced. The root, which is not tested, gets empty scores and ``headline`` false.
    Without ``themes`` (an undated run) the hierarchy is returned as it is.
    """
    from pipeline.store.contract import SCORE_COLUMNS

    if hierarchy is None or themes is None:
        return hierarchy
    base = hierarchy.drop(columns=[c for c in SCORE_COLUMNS if c in hierarchy.columns])
    scores = themes[["node", *SCORE_COLUMNS]].astype({"node": "int64"})
    out = base.merge(scores, on="node", how="left", validate="one_to_one")
    for c in ("recent_count", "previous_count"):
        out[c] = out[c].astype("Int64")
    out["headline"] = out["headline"].fillna(False).astype(bool)
    out["category"] = out["category"].astype("string")
    return out


def theme_info(themes: pd.DataFrame, floor: float, floor_down: float) -> dict[str, Any]:
    """What the manifest says about the power floors and the hierarchy nodes' calls."""
    heads = themes[themes["headline"]]
    return {
        "testable_support": None if not np.isfinite(floor) else round(floor, 1),
        "testable_support_decline": None if not np.isfinite(floor_down) else round(floor_down, 1),
        "themes_tested": len(themes),
        "theme_headlines": {c: int((heads["category"] == c).sum()) for c in CATEGORIES},
    }


def hierarchy_of(ctx: Context) -> pd.DataFrame | None:
    """The hierarchy whose nodes are scored: this build's (the hierarchy stage ran before
    this one), or in an update the previous build's, which an update keeps."""
    if "hierarchy" in ctx.out:
        return ctx.out["hierarchy"]["hierarchy"]
    previous = ctx.inputs.get("previous")
    return getattr(previous, "hierarchy", None)


def key_part(ctx: Context) -> str:
    """The trends key's last part: the hierarchy's nodes and their topics, which the
    theme calls and (through the shared q-values) the topics' calls depend on."""
    h = hierarchy_of(ctx)
    rows = (
        []
        if h is None
        else [f"{n}:{[int(x) for x in t]}" for n, t in zip(h["node"], h["topics"], strict=True)]
    )
    return f"themes-2:{digest(rows)}"  # 2: uncalled fragments can agree (headlines)
