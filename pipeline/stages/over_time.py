"""Topics over time: documents per topic and period, and each topic's share of the period.

Shares are of *all* documents in the period (outliers included), so a corpus that grows
over time does not make every topic look like it is rising. The period rules (bins, the
automatic choice) are in ``pipeline.periods``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
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


def touched(ctx: Context, table: str) -> tuple[pd.DataFrame, np.ndarray] | None:
    """For an update: the previous build's ``table`` without the periods the update
    touches, and which documents fall in those periods; None to count everything.

    A period is touched when one of its documents is new or changed topic (an earlier
    leftover joining a new topic). Every row of these tables is computed from one period's
    documents alone, so the rows of the other periods are the previous build's, and
    counting only the touched periods gives exactly what counting everything would
    (a test checks it): an update of 1% of a million documents reads a few periods.
    """
    prev = ctx.inputs.get("previous")
    rows = getattr(prev, table, None) if prev is not None else None
    if rows is None or prev.period != ctx.inputs["period"]:
        return None  # a first build, a run from before, or the period changed
    labels = np.asarray(ctx.get("labels"), dtype=np.int64)
    before = np.full(len(labels), -2, dtype=np.int64)  # new documents: changed
    before[: len(prev.docs)] = prev.docs["topic"].to_numpy(np.int64)
    dates = pd.to_datetime(pd.Series(ctx.inputs["dates"]).reset_index(drop=True))
    starts = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[ns]")
    dated = dates.notna().to_numpy()
    starts[dated] = period_start(dates[dated], ctx.inputs["period"]).to_numpy()
    hit = starts[(labels != before) & dated].unique()
    in_touched = starts.isin(hit).to_numpy()
    kept = rows[~rows["period_start"].isin(hit)]
    return kept.reset_index(drop=True), in_touched


def merged(kept: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame:
    """The kept rows and the recounted ones, in the order and types of a full count."""
    out = pd.concat([kept[fresh.columns], fresh], ignore_index=True).astype(fresh.dtypes)
    return out.sort_values(["topic", "period_start"]).reset_index(drop=True)


def run(ctx: Context) -> dict[str, Any]:
    """The over_time stage: documents per topic and period (``partial`` is added at publish)."""
    labels = pd.Series(ctx.get("labels"))
    dates, period = pd.Series(ctx.inputs["dates"]).reset_index(drop=True), ctx.inputs["period"]
    part = touched(ctx, "over_time")
    if part is None:
        return {"over_time": topics_over_time(dates, labels, period)}
    kept, rows = part
    fresh = topics_over_time(
        dates[rows].reset_index(drop=True), labels[rows].reset_index(drop=True), period
    )
    ctx.record["periods_recounted"] = int(fresh["period_start"].nunique())
    return {"over_time": merged(kept, fresh)}
