"""Theme-level trend calls: the hierarchy nodes that carry a call, with their fragments.

A subject split into several small topics is called once, on the hierarchy node that merges
them (docs/trends.md, "Themes"); the nodes' scores are columns of ``hierarchy.parquet`` in
dated runs. Pure functions of a run's frames; no Streamlit here. The Overview and Trends
pages list these calls with the topics under each, and leave those topics out of the topic
movers so no document is called twice.
"""

from __future__ import annotations

import pandas as pd

from dashboard.overview_data import FADING, RISING
from pipeline.store.contract import TOO_FEW

SHOWN = [
    "node",
    "label",
    "category",
    "previous_share",
    "recent_share",
    "growth",
    "q_value",
    "topics",
    "fragments",
]


def theme_calls(
    hierarchy: pd.DataFrame | None,
    trends: pd.DataFrame | None,
    labels: dict[int, str],
    stale: bool = False,
) -> pd.DataFrame:
    """The headline hierarchy nodes, strongest change first, each with its fragments.

    ``fragments`` reads "12: label (too few documents); 15: label (rising)": every topic
    under the node with its own category. Empty when the run has no node scores (undated,
    or built before theme calls), or when ``stale``: curation moved documents, so the
    build's node scores no longer describe the topics shown.
    """
    need = {"headline", "category", "growth", "topics"}
    if stale or hierarchy is None or trends is None or not need <= set(hierarchy.columns):
        return pd.DataFrame(columns=SHOWN)
    heads = hierarchy[hierarchy["headline"].fillna(False).astype(bool)].copy()
    if heads.empty:
        return pd.DataFrame(columns=SHOWN)
    own = dict(zip(trends["topic"].astype(int), trends["category"].astype(str), strict=True))

    def fragments(topics: list[int]) -> str:
        return "; ".join(
            f"{t}: {labels.get(t, '?')} ({own.get(t, TOO_FEW)})" for t in sorted(topics)
        )

    heads["topics"] = heads["topics"].map(lambda ts: [int(t) for t in ts])
    heads["fragments"] = heads["topics"].map(fragments)
    heads = heads.assign(_size=heads["growth"].astype(float).abs())
    heads = heads.sort_values(["_size", "node"], ascending=[False, True])
    return heads[SHOWN].reset_index(drop=True)


def covered_topics(themes: pd.DataFrame) -> set[int]:
    """Topics whose call a theme carries: left out of the topic movers."""
    return {int(t) for ts in themes["topics"] for t in ts}


def split(themes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rising themes, fading themes)."""
    cat = themes["category"].astype(str)
    return themes[cat.isin(RISING)], themes[cat.isin(FADING)]


def theme_note(row: pd.Series) -> str:
    """One line for a theme call: its category, share change and how many topics it joins."""
    return (
        f"{row['category']}, {row['previous_share']:.1%}→{row['recent_share']:.1%}, "
        f"{len(row['topics'])} topics"
    )
