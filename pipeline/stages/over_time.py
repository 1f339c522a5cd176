"""Topics over time: documents per topic and period, and each topic's share of the period.

Shares are of *all* documents in the period (outliers included), so a corpus that grows
over time does not make every topic look like it is rising. The period is chosen from the
span and density of the dates unless set: the finest of week/month/quarter/year/decade
that gives at most ``MAX_PERIODS`` bins with at least ``MIN_DOCS_PER_PERIOD`` documents per
bin on average, and never finer than the dates' own precision.
"""

from __future__ import annotations

import pandas as pd

PERIODS = ("week", "month", "quarter", "year", "decade")
MAX_PERIODS = 250
MIN_DOCS_PER_PERIOD = 15
_PRECISION_FLOOR = {"day": "week", "month": "month", "year": "year"}


def period_start(dates: pd.Series, period: str) -> pd.Series:
    d = pd.to_datetime(dates)
    if period == "week":
        return (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).dt.normalize()
    if period == "month":
        return d.dt.to_period("M").dt.start_time
    if period == "quarter":
        return d.dt.to_period("Q").dt.start_time
    if period == "year":
        return d.dt.to_period("Y").dt.start_time
    if period == "decade":
        return pd.to_datetime(
            (d.dt.year // 10 * 10).astype("Int64").astype(str) + "-01-01", errors="coerce"
        )
    raise ValueError(f"unknown period {period!r}")


def choose_period(dates: pd.Series, precisions: pd.Series) -> str:
    d = pd.to_datetime(dates.dropna())
    if d.empty:
        return "year"
    # Coarsest precision held by at least 10% of the documents sets the floor.
    counts = precisions.dropna().value_counts(normalize=True)
    floor = "week"
    for prec in ("year", "month", "day"):
        if counts.get(prec, 0) >= 0.10:
            floor = _PRECISION_FLOOR[prec]
            break
    candidates = PERIODS[PERIODS.index(floor) :]
    for period in candidates:
        n_bins = period_start(d, period).nunique()
        span_bins = _span_bins(d, period)
        if span_bins <= MAX_PERIODS and len(d) / max(n_bins, 1) >= MIN_DOCS_PER_PERIOD:
            return period
    return candidates[-1]


def _span_bins(d: pd.Series, period: str) -> int:
    lo, hi = d.min(), d.max()
    days = (hi - lo).days + 1
    per = {"week": 7, "month": 30.44, "quarter": 91.3, "year": 365.25, "decade": 3652.5}[period]
    return int(days / per) + 1


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
