"""Hierarchy: BERTopic's hierarchical topics, flattened into one row per merge node.

Leaves are the topics (ids 0..K-1); merge nodes get ids K, K+1, ... in merge order, so
``node``, ``left``, ``right`` and ``parent`` all live in one id space and the tree can be
drawn as a dendrogram, icicle or sunburst without the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import HierarchyConfig
from pipeline.stages.base import Context
from pipeline.stages.represent import make_label

COLUMNS = ["node", "parent", "left", "right", "distance", "label", "topics"]


def empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(dtype=t)
            for c, t in zip(
                COLUMNS,
                ["int64", "int64", "int64", "int64", "float64", "object", "object"],
                strict=True,
            )
        }
    )


def hierarchy(
    model, texts: list[str], cfg: HierarchyConfig, model_topic_ids: dict[int, int]
) -> pd.DataFrame:  # noqa: ANN001
    """``model_topic_ids`` maps our topic ids to the model's (BERTopic numbers them its own way)."""
    to_ours = {b: t for t, b in model_topic_ids.items()}
    from scipy.cluster import hierarchy as sch

    n_topics = len([t for t in model.get_topics() if t != -1])
    if not cfg.enabled or n_topics < 2:
        return empty()

    def linkage(x):  # noqa: ANN001, ANN202
        return sch.linkage(x, cfg.linkage, optimal_ordering=True)

    # Merged topics are named by plain c-TF-IDF: refining every merge node costs minutes.
    rep, model.representation_model = model.representation_model, None
    try:
        raw = model.hierarchical_topics(texts, linkage_function=linkage)
    finally:
        model.representation_model = rep
    rows = []
    parent_of: dict[int, int] = {}
    for r in raw.itertuples(index=False):
        node = int(r.Parent_ID)
        left, right = (to_ours.get(int(c), int(c)) for c in (r.Child_Left_ID, r.Child_Right_ID))
        parent_of[left] = node
        parent_of[right] = node
        words = [w for w in str(r.Parent_Name).split("_") if w]
        rows.append(
            {
                "node": node,
                "left": left,
                "right": right,
                "distance": float(r.Distance),
                "label": make_label(words, 3),
                "topics": sorted(to_ours[int(t)] for t in r.Topics),
            }
        )
    df = pd.DataFrame(rows)
    df["parent"] = df["node"].map(lambda n: parent_of.get(n, -1)).astype(np.int64)
    return df.sort_values("node").reset_index(drop=True)[COLUMNS]


def run(ctx: Context) -> dict[str, Any]:
    """The hierarchy stage, from the model the represent stage fitted in this flow."""
    rep = ctx.out["represent"]
    return {
        "hierarchy": hierarchy(
            rep["model"], ctx.inputs["texts"], ctx.cfg.hierarchy, rep["model_ids"]
        )
    }
