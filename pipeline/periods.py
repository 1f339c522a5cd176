"""The period rules: how dates are binned, which period a run uses, how a period is named.

One module for every reader: the pipeline bins ``topics_over_time.parquet``, the trends
and the keywords over time by these rules, and the dashboard rebins, labels and offers
granularities by the same ones. The automatic choice: the finest of
week/month/quarter/year/decade that gives at most ``AUTO_PERIOD_MAX_BINS`` bins over the
span with at least ``MIN_DOCS_PER_PERIOD`` documents per bin on average (the span's bins,
empty ones included), never finer than the dates' own precision (``PRECISION_FLOOR``) and
never finer than their cadence (``cadence_days``): papers all dated the 15th of their month
are not binned by week, which would leave three weeks in four empty.
"""

from __future__ import annotations

import pandas as pd

PERIODS = ("week", "month", "quarter", "year", "decade")
# The automatic period choice never picks a granularity with more bins than this.
AUTO_PERIOD_MAX_BINS = 250
# The dashboard does not offer a granularity that would draw more bins than this.
OFFERED_PERIOD_MAX_BINS = 600
MIN_DOCS_PER_PERIOD = 15
# A period shorter than this fraction of the dates' cadence is too fine for them: months
# (28-31 days) pass for a monthly cadence (median gap 30-31 days), weeks do not.
CADENCE_TOLERANCE = 0.8
# Nominal length of each period in days (bins over a span, cadence comparison).
PERIOD_DAYS = {"week": 7.0, "month": 30.44, "quarter": 91.3, "year": 365.25, "decade": 3652.5}
# A date known only to the month cannot be binned by week, and so on.
PRECISION_FLOOR = {"day": "week", "month": "month", "year": "year"}
# What one date of each precision covers.
PRECISION_STEP = {
    "day": pd.DateOffset(days=1),
    "month": pd.DateOffset(months=1),
    "year": pd.DateOffset(years=1),
}
_FREQ = {"week": "7D", "month": "MS", "quarter": "QS-JAN", "year": "YS", "decade": "10YS"}
_STEP = {
    "week": pd.DateOffset(days=7),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
    "decade": pd.DateOffset(years=10),
}


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


def period_grid(first: pd.Timestamp, last: pd.Timestamp, period: str) -> pd.DatetimeIndex:
    """Every period start from ``first`` to ``last`` inclusive, empty periods included."""
    return pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=_FREQ[period])


def period_end(start: pd.Timestamp, period: str) -> pd.Timestamp:
    """Exclusive end of the period starting at ``start``."""
    return pd.Timestamp(start) + _STEP[period]


def period_label(ts: pd.Timestamp, period: str) -> str:
    """How a period is named on an axis or in a table: 2024-03-04, 2024-03, 2024 Q1, 2020s."""
    ts = pd.Timestamp(ts)
    if period == "week":
        return ts.strftime("%Y-%m-%d")
    if period == "month":
        return ts.strftime("%Y-%m")
    if period == "quarter":
        return f"{ts.year} Q{ts.quarter}"
    if period == "decade":
        return f"{ts.year}s"
    return str(ts.year)


def precision_floor(precisions: pd.Series) -> str:
    """The finest period the dates allow: set by the coarsest precision held by >= 10%."""
    counts = precisions.dropna().value_counts(normalize=True)
    for prec in ("year", "month", "day"):
        if counts.get(prec, 0) >= 0.10:
            return PRECISION_FLOOR[prec]
    return "week"


def choose_period(dates: pd.Series, precisions: pd.Series) -> str:
    """The automatic period: see the module docstring (precision, cadence, bins over the span).

    Documents per bin are counted over the *span* (empty bins included): dividing by the
    occupied bins alone made a monthly corpus look dense by week.
    """
    d = pd.to_datetime(dates.dropna())
    if d.empty:
        return "year"
    candidates = PERIODS[PERIODS.index(precision_floor(precisions)) :]
    cadence = cadence_days(d)
    for period in candidates:
        if PERIOD_DAYS[period] < CADENCE_TOLERANCE * cadence:
            continue
        span_bins = _span_bins(d, period)
        if span_bins <= AUTO_PERIOD_MAX_BINS and len(d) / span_bins >= MIN_DOCS_PER_PERIOD:
            return period
    return candidates[-1]


def cadence_days(dates: pd.Series) -> float:
    """The dates' cadence: the median gap in days between consecutive distinct dates.

    1 for a daily feed, about 30 for papers all dated the 15th of their month, 365 for
    yearly speeches; 0 with fewer than two distinct dates. The median, so a few long gaps
    (a sparse early stretch) do not make a daily corpus look yearly.
    """
    days = pd.to_datetime(dates.dropna()).dt.normalize().drop_duplicates().sort_values()
    if len(days) < 2:
        return 0.0
    return float(days.diff().dt.days.iloc[1:].median())


def resolve_period(
    setting: str, dates: pd.Series, precisions: pd.Series, current: str | None = None
) -> str:
    """The period of a run: the one it already has, else ``[time] period``, else chosen."""
    if current is not None:
        return current
    return setting if setting != "auto" else choose_period(dates, precisions)


def _span_bins(d: pd.Series, period: str) -> int:
    lo, hi = d.min(), d.max()
    days = (hi - lo).days + 1
    return int(days / PERIOD_DAYS[period]) + 1
