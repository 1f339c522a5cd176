"""Topics over time as the dashboard shows them: granularities offered, rebinning, labels.

The period rules themselves (period starts, the grid, partial periods, the precision
floor) are the pipeline's; this module only applies them, so a period reads the same in
the artifacts and on every page (period labels: ``pipeline.periods.period_label``).
No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.periods import (
    OFFERED_PERIOD_MAX_BINS,
    PERIODS,
    period_grid,
    period_start,
    precision_floor,
)
from pipeline.stages.over_time import topics_over_time
from pipeline.stages.trends import partial_periods


def allowed_periods(docs: pd.DataFrame) -> list[str]:
    """Granularities the dates support: never finer than their precision, not absurdly many bins.

    The floor is set by the coarsest precision held by at least 10% of dated documents,
    the pipeline's own rule (``pipeline.periods.precision_floor``).
    """
    dates = docs["date"].dropna()
    if dates.empty:
        return []
    floor = precision_floor(docs.loc[docs["date"].notna(), "date_precision"])
    candidates = list(PERIODS[PERIODS.index(floor) :])
    lo, hi = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    out = [p for p in candidates if len(period_range(lo, hi, p)) <= OFFERED_PERIOD_MAX_BINS]
    return out or candidates[-1:]


def period_range(lo: pd.Timestamp, hi: pd.Timestamp, period: str) -> pd.DatetimeIndex:
    """Every period start from the one holding ``lo`` to the one holding ``hi``."""
    starts = period_start(pd.Series([lo, hi]), period)
    return period_grid(starts.iloc[0], starts.iloc[1], period)


@dataclass
class OverTime:
    """Topics over time at one granularity, with its partial first/last periods."""

    period: str
    table: pd.DataFrame  # topic, period_start, count, share, period_total
    partial: dict[pd.Timestamp, str]  # period start -> why it is partial


def over_time_at(
    docs: pd.DataFrame,
    period: str,
    stored: pd.DataFrame | None = None,
    stored_period: str | None = None,
) -> OverTime:
    """Topics over time at ``period``: the stored table when it matches, else re-aggregated
    from the document dates; partial periods by the pipeline's rule (pipeline.trends)."""
    dated = docs["date"].notna()
    partial = (
        partial_periods(docs.loc[dated, "date"], docs.loc[dated, "date_precision"], period)
        if dated.any()
        else {}
    )
    cols = ["topic", "period_start", "count", "share", "period_total"]
    if stored is not None and period == stored_period:
        table = stored[cols]
    elif not dated.any():
        table = pd.DataFrame(columns=cols)
    else:
        table = topics_over_time(docs.loc[dated, "date"], docs.loc[dated, "topic"], period)
    return OverTime(period, table, {pd.Timestamp(k): v for k, v in partial.items()})


def share_matrix(
    over_time: pd.DataFrame, period: str | None = None, value: str = "share"
) -> pd.DataFrame:
    """Topic x period table of ``value`` (share or count); periods without documents are NaN.

    With ``period`` given, every period between the first and last is a column, so gaps in
    the data show as gaps, not as a line drawn across them.
    """
    if over_time.empty:
        return pd.DataFrame()
    m = over_time.pivot_table(index="topic", columns="period_start", values=value, aggfunc="sum")
    totals = over_time.drop_duplicates("period_start").set_index("period_start")["period_total"]
    if period is not None:
        cols = period_range(pd.Timestamp(m.columns.min()), pd.Timestamp(m.columns.max()), period)
        m = m.reindex(columns=cols)
        totals = totals.reindex(cols)
    m = m.fillna(0.0)
    empty = totals.reindex(m.columns).fillna(0).to_numpy() == 0
    m.loc[:, empty] = np.nan
    m.columns = pd.DatetimeIndex(m.columns)
    return m


def top_topics_by_size(topics: pd.DataFrame, n: int) -> list[int]:
    return [
        int(t)
        for t in topics.sort_values(["size", "topic"], ascending=[False, True])["topic"].head(n)
    ]
