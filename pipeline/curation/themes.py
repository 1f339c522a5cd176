"""Themes (hierarchy nodes with a trend call) in the curated view of a run.

The trends stage scores every hierarchy node below the root on the union of its topics'
documents (``pipeline.stages.themes``). Curation merges and hides topics, so the build's
node scores describe other documents than the curated view shows; this module carries the
hierarchy onto curated topic ids, so the same ``compute_trends`` can score the nodes again
(``pipeline.curation.view.recompute_trends``). The rule (docs/digests.md, "Themes"):

* a node's topics map to their curated ids: a merged topic to its target, a hidden one
  to nothing;
* a node a merge cuts across (it holds some, not all, of the topics merged into one) is
  left out: its documents would change, and it would no longer nest with the other nodes
  (the root, which is never scored, is kept to hold the tree);
* a node left with fewer than two topics drops (it is a topic, or nothing), and nodes
  that became identical are kept once (the smaller original, whose label fits);
* each kept node's parent is the smallest kept node that contains it.

The headline calls of a scored frame (``headline_calls``) and the topics they cover
(``covered_topics``) are shared with the dashboard's Overview and Trends pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from pipeline.stages.themes import DOWN, UP
from pipeline.store.contract import SCORE_COLUMNS

CUT = "cut"  # attrs key: how many nodes a merge cut across (left out)


def curated_hierarchy(
    hierarchy: pd.DataFrame | None, topic_of: Callable[[int], int], build_topics: Iterable[int]
) -> pd.DataFrame | None:
    """``hierarchy`` (build ids) on curated topic ids, by the module docstring's rule:
    ``node``, ``parent``, ``label``, ``topics`` and any score columns, carried as they are
    (they are the build's, valid only when the curation moved no document)."""
    if hierarchy is None or hierarchy.empty:
        return None
    cur = {int(t): int(topic_of(int(t))) for t in build_topics}
    parts: dict[int, set[int]] = {}  # curated id -> the build topics in it
    for t, c in cur.items():
        if c >= 0:
            parts.setdefault(c, set()).add(t)
    h = hierarchy.assign(_n=hierarchy["topics"].map(len)).sort_values(["_n", "node"])
    kept: dict[frozenset[int], int] = {}
    rows, cut = [], 0
    for at, r in zip(h.index, h.itertuples(index=False), strict=True):
        own = {int(t) for t in r.topics}
        mine = frozenset(cur[t] for t in own if cur.get(t, -1) >= 0)
        if len(mine) < 2 or mine in kept:
            continue
        if int(r.parent) >= 0 and any(not parts[c] <= own for c in mine):
            cut += 1
            continue
        kept[mine] = int(r.node)
        rows.append(at)
    keep = [c for c in ("node", "label", *SCORE_COLUMNS) if c in hierarchy.columns]
    out = h.loc[rows, keep].reset_index(drop=True)
    up = dict(zip(hierarchy["node"].astype(int), hierarchy["parent"].astype(int), strict=True))
    out.insert(1, "topics", [sorted(s) for s in kept])
    out.insert(1, "parent", [_kept_above(n, up, set(kept.values())) for n in kept.values()])
    out.attrs[CUT] = cut
    return out


def _kept_above(node: int, up: dict[int, int], kept: set[int]) -> int:
    """The nearest kept ancestor of ``node``: the smallest kept node that contains it (kept
    nodes nest as the original ones did, and a node containing another is its ancestor;
    an ancestor identical to it was not kept), or -1."""
    p = up.get(node, -1)
    for _ in range(len(up)):  # a malformed (cyclic) hierarchy ends here, not in a loop
        if p < 0 or p in kept:
            break
        p = up.get(p, -1)
    return p if p in kept else -1


def dense_hierarchy(h: pd.DataFrame, visible: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """(the hierarchy on dense topic ids 0..len(visible)-1, the original node id of each
    dense node id ``len(visible) + i``), in the columns ``tree_of`` reads (``children``
    for nodes that merge more than two units)."""
    pos = {int(t): i for i, t in enumerate(visible)}
    nodes = h["node"].astype(int).to_numpy()
    dense = {int(n): len(visible) + i for i, n in enumerate(nodes)}
    topics = [[pos[int(t)] for t in ts if int(t) in pos] for ts in h["topics"]]
    parent = [dense.get(int(p), -1) for p in h["parent"]]
    below_of: dict[int, list[int]] = {}
    for j, p in enumerate(parent):
        below_of.setdefault(p, []).append(j)
    children: list[list[int]] = []
    for i, n in enumerate(nodes):
        below = below_of.get(dense[int(n)], [])
        inside = {t for j in below for t in topics[j]}
        children.append(
            [len(visible) + j for j in below] + [t for t in topics[i] if t not in inside]
        )
    frame = pd.DataFrame(
        {"node": [dense[int(n)] for n in nodes], "parent": parent, "topics": topics}
    )
    frame["children"] = children
    return frame, nodes


def run_themes(hierarchy: pd.DataFrame | None) -> pd.DataFrame | None:
    """The scored nodes of a dated run's ``hierarchy.parquet`` (the root, never scored, left
    out); None for a run without node scores (undated, or built before theme calls)."""
    if hierarchy is None or "headline" not in hierarchy.columns:
        return None
    scored = hierarchy[hierarchy["parent"].astype(int) >= 0]
    return scored.reset_index(drop=True)


def headline_calls(themes: pd.DataFrame | None) -> pd.DataFrame:
    """The nodes that carry a call in the headline lists, strongest change first."""
    if themes is None or themes.empty or "headline" not in themes.columns:
        return pd.DataFrame(columns=["node", "topics", "category", "growth"])
    heads = themes[themes["headline"].fillna(False).astype(bool)].copy()
    heads["topics"] = heads["topics"].map(lambda ts: [int(t) for t in ts])
    heads = heads.assign(_size=heads["growth"].astype(float).abs())
    heads = heads.sort_values(["_size", "node"], ascending=[False, True])
    return heads.drop(columns="_size").reset_index(drop=True)


def covered_topics(themes: pd.DataFrame) -> set[int]:
    """Topics whose call a headline theme carries: left out of the topic lists, so no
    document is called twice."""
    return {int(t) for ts in themes["topics"] for t in ts}


def by_direction(themes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rising themes: new, emerging, rising; fading themes: declining, fading)."""
    cat = themes["category"].astype(str)
    return themes[cat.isin(UP)], themes[cat.isin(DOWN)]
