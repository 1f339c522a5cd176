"""Theme-level trend calls: the hierarchy nodes that carry a call, with their fragments.

A subject split into several small topics is called once, on the hierarchy node that merges
them (docs/trends.md, "Themes"); the nodes' scores are columns of ``hierarchy.parquet`` in
dated runs, rescored with the topics when curation moves documents (``RunData.themes``).
Pure functions of a run's frames; no Streamlit here. The Overview and Trends pages list
these calls with the topics under each, and leave those topics out of the topic movers so
no document is called twice: the rule is ``pipeline.curation.themes``' (the digest's too).
"""

from __future__ import annotations

import pandas as pd

from pipeline.curation.themes import by_direction, covered_topics, headline_calls
from pipeline.store.contract import TOO_FEW

__all__ = ["SHOWN", "covered_topics", "split", "theme_calls", "theme_note"]

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
split = by_direction  # (rising themes, fading themes)


def theme_calls(
    themes: pd.DataFrame | None,
    trends: pd.DataFrame | None,
    labels: dict[int, str],
) -> pd.DataFrame:
    """The headline nodes of ``themes`` (``RunData.themes``), strongest change first, each
    with its fragments.

    ``fragments`` reads "12: label (too few documents); 15: label (rising)": every topic
    under the node with its own category. Empty when the run has no node scores (undated,
    or built before theme calls).
    """
    need = {"headline", "category", "growth", "topics"}
    if themes is None or trends is None or not need <= set(themes.columns):
        return pd.DataFrame(columns=SHOWN)
    heads = headline_calls(themes)
    if heads.empty:
        return pd.DataFrame(columns=SHOWN)
    own = dict(zip(trends["topic"].astype(int), trends["category"].astype(str), strict=True))

    def fragments(topics: list[int]) -> str:
        return "; ".join(
            f"{t}: {labels.get(t, '?')} ({own.get(t, TOO_FEW)})" for t in sorted(topics)
        )

    heads["fragments"] = heads["topics"].map(fragments)
    return heads[SHOWN].reset_index(drop=True)


def theme_note(row: pd.Series) -> str:
    """One line for a theme call: its category, share change and how many topics it joins."""
    return (
        f"{row['category']}, {row['previous_share']:.1%}→{row['recent_share']:.1%}, "
        f"{len(row['topics'])} topics"
    )
