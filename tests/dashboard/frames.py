"""Small hand-made frames the data and figure tests share."""

from __future__ import annotations

import pandas as pd


def over_time_frame(rows: list[tuple[int, str, int]]) -> pd.DataFrame:
    """A ``topics_over_time`` table from (topic, period start, count) rows."""
    df = pd.DataFrame(rows, columns=["topic", "period_start", "count"])
    df["period_start"] = pd.to_datetime(df["period_start"])
    df["period_total"] = df.groupby("period_start")["count"].transform("sum")
    df["share"] = df["count"] / df["period_total"]
    return df
