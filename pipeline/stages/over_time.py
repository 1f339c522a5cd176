"""Topics over time: documents per topic and period, and each topic's share of the period.

Shares are of *all* documents in the period (outliers included), so a corpus that grows
over time does not make every topic look like it is rising. The period rules (bins, the
automatic choice) are in ``pipeline.periods``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.periods import period_start
from pipeline.stages.base import Context


def topics_over_time(dates: pd.Series, topics: pd.Series, period: str) -> pd.DataFrame:
    """One row per (topic, period) with documents: count, share of the period, period total."""
    df = pd.DataFrame(
        {"topic": topics.to_numpy(), "date": pd.to_datetime(dates).to_numpy()}
    ).dropna(subset=["date"])
    df["period_start"] = period_start(df["date"], period)
    totals = df.groupby("period_start").size().rename("period_total")
    counts = df.groupby(["topic", "period_start"]).size().rename("count").reset_index()
    counts = counts.merge(totals, on="period_start")
    counts["share"] = counts["count"] / counts["period_total"]
    counts["topic"] = counts["topic"].astype("int64")
    counts["count"] = counts["count"].astype("int64")
    counts["period_total"] = counts["period_total"].astype("int64")
    return (
        counts[["topic", "period_start", "count", "share", "period_total"]]
        .sort_values(["topic", "period_start"])
        .reset_index(drop=True)
    )


def run(ctx: Context) -> dict[str, Any]:
    """The over_time stage: documents per topic and period (``partial`` is added at publish)."""
    labels = pd.Series(ctx.get("labels"))
    return {"over_time": topics_over_time(ctx.inputs["dates"], labels, ctx.inputs["period"])}
