"""What the Trends page may claim: the dense window it opens on, the sparse periods it must
not join, the interval around each share, and the order of the heatmap's rows.

The rules (documented in docs/dashboard.md, "The Trends page"):

* **Sparse period**: fewer than ``SPARSE_PERIOD_DOCS`` documents in all. One paper in a
  quarter is a 100% share of nothing; such a period is drawn as a faded marker, not joined to
  the line and given no band.
* **Dense window**: the page opens at the first period that starts ``DENSE_RUN`` periods in
  a row each holding at least ``max(SPARSE_PERIOD_DOCS, DENSE_FRACTION x the median count
  of the periods with documents)``. Earlier periods are one toggle away ("Whole span").
* **Interval**: the 95% Wilson score interval of the share (count of the period total).

No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SPARSE_PERIOD_DOCS = 10
DENSE_FRACTION = 0.25
DENSE_RUN = 3
WILSON_Z = 1.959963984540054  # 95%


def period_totals(over_time: pd.DataFrame, columns: Iterable[pd.Timestamp]) -> pd.Series:
    """All documents per period (outliers included) on ``columns``; 0 where none."""
    cols = pd.DatetimeIndex(list(columns))
    if over_time.empty:
        return pd.Series(0, index=cols, dtype="int64")
    totals = over_time.drop_duplicates("period_start").set_index("period_start")["period_total"]
    totals.index = pd.DatetimeIndex(totals.index)
    return totals.reindex(cols).fillna(0).astype("int64")


def sparse_periods(totals: pd.Series) -> set[pd.Timestamp]:
    """Periods with documents, but fewer than ``SPARSE_PERIOD_DOCS`` (empty ones are gaps)."""
    mask = (totals > 0) & (totals < SPARSE_PERIOD_DOCS)
    return {pd.Timestamp(p) for p in totals.index[mask.to_numpy()]}


def dense_threshold(totals: pd.Series) -> float:
    """Documents a period needs to count towards the dense window (see the module docstring)."""
    occupied = totals[totals > 0]
    if occupied.empty:
        return float(SPARSE_PERIOD_DOCS)
    return max(float(SPARSE_PERIOD_DOCS), DENSE_FRACTION * float(occupied.median()))


def dense_start(totals: pd.Series) -> pd.Timestamp | None:
    """First period of the dense window, or None when the whole span is dense (or nothing is).

    The window starts at the first period beginning ``DENSE_RUN`` periods in a row that all
    reach ``dense_threshold`` (a shorter run that reaches the last period counts too).
    """
    if totals.empty:
        return None
    ok = (totals >= dense_threshold(totals)).to_numpy()
    n = len(ok)
    for i in range(n):
        run = ok[i : min(n, i + DENSE_RUN)]
        if run.all():
            return None if i == 0 else pd.Timestamp(totals.index[i])
    return None


def clip_from(frame: pd.DataFrame, start: pd.Timestamp | None) -> pd.DataFrame:
    """The columns (periods) of ``frame`` from ``start`` on; all of them when None."""
    if start is None or frame.empty:
        return frame
    return frame.loc[:, frame.columns >= start]


def wilson(
    count: np.ndarray, total: np.ndarray, z: float = WILSON_Z
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of count/total; NaN where total is 0 or NaN.

    Unlike the normal approximation it stays inside [0, 1] and is not zero-width at a
    count of 0 or of the whole total.
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(total, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(n > 0)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo, hi


def hierarchy_order(hierarchy: pd.DataFrame, topics: Iterable[int]) -> list[int]:
    """``topics`` in the hierarchy's leaf order (left before right from the root), so that
    neighbouring rows are related topics; topics in no merge follow, in the order given."""
    wanted = [int(t) for t in topics]
    if hierarchy is None or hierarchy.empty:
        return wanted
    children = {int(r.node): (int(r.left), int(r.right)) for r in hierarchy.itertuples()}
    roots = [int(r.node) for r in hierarchy.itertuples() if int(r.parent) < 0]
    leaves: list[int] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in children:
            left, right = children[node]
            stack.extend([right, left])
        else:
            leaves.append(node)
    pos = {t: i for i, t in enumerate(leaves)}
    inside = sorted((t for t in wanted if t in pos), key=pos.__getitem__)
    return inside + [t for t in wanted if t not in pos]


def trend_order(trends: pd.DataFrame | None, topics: Iterable[int]) -> list[int]:
    """``topics`` from the most rising to the most fading (growth, then slope); topics
    without a score keep their order at the end."""
    wanted = [int(t) for t in topics]
    if trends is None or trends.empty:
        return wanted
    t = trends.set_index("topic")
    score = t["growth"].where(t["growth"].notna(), t["slope"])
    scored = [x for x in wanted if x in score.index and pd.notna(score.get(x))]
    scored.sort(key=lambda x: -float(score[x]))
    return scored + [x for x in wanted if x not in set(scored)]
