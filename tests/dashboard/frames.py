"""Small hand-made frames the data and figure tests share."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

# Markup in a label or title: it must reach a page or figure escaped, never as markup.
EVIL = "<script>alert(1)</script> [x](http://evil.example)"


def over_time_frame(rows: list[tuple[int, str, int]]) -> pd.DataFrame:
    """A ``topics_over_time`` table from (topic, period start, count) rows."""
    df = pd.DataFrame(rows, columns=["topic", "period_start", "count"])
    df["period_start"] = pd.to_datetime(df["period_start"])
    df["period_total"] = df.groupby("period_start")["count"].transform("sum")
    df["share"] = df["count"] / df["period_total"]
    return df


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


def lineage_frame() -> pd.DataFrame:
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


def history_frame() -> pd.DataFrame:
    """Topic 0 new, grown, relabelled (with markup) over steps 0-2; topic 1 steady."""
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


def topics_frame(ids: list[int], sizes: list[int]) -> pd.DataFrame:
    """A minimal topics table: ids, labels t<id>, sizes."""
    return pd.DataFrame({"topic": ids, "label": [f"t{i}" for i in ids], "size": sizes})


def listed(at) -> list[int]:  # noqa: ANN001 - a streamlit AppTest
    """How many documents each paged document table of a page holds (its "Rows a–b of N"
    caption): the grid itself holds only the page of rows the server sent."""
    import re

    found = (re.match(r"Rows [\d,]+–[\d,]+ of ([\d,]+)", c.value) for c in at.caption)
    return [int(m.group(1).replace(",", "")) for m in found if m]
