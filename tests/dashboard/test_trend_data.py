"""trend_data: the dense window, sparse periods, the Wilson interval and the heatmap orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import trend_data as td


def _totals(counts: list[int], start: str = "1994-01-01") -> pd.Series:
    return pd.Series(counts, index=pd.date_range(start, periods=len(counts), freq="QS"))


def test_the_dense_window_starts_where_the_counts_stay_dense() -> None:
    # Issue 18's arXiv shape: scattered early quarters, one early quarter with a burst, then
    # a dense stretch. The burst alone (followed by sparse quarters) does not open the window.
    totals = _totals([1, 0, 2, 0, 30, 1, 0, 3, 40, 55, 60, 70, 80, 75])
    assert td.dense_threshold(totals) == pytest.approx(max(10, 0.25 * 30))
    assert td.dense_start(totals) == totals.index[8]
    assert td.sparse_periods(totals) == {totals.index[i] for i in (0, 2, 5, 7)}


def test_a_dense_span_needs_no_window_and_a_short_dense_tail_counts() -> None:
    assert td.dense_start(_totals([40, 50, 45, 60])) is None
    assert td.dense_start(_totals([1, 2, 40, 50])) == _totals([1, 2, 40, 50]).index[2]
    assert td.dense_start(_totals([1, 2, 3])) is None  # nothing dense: show everything
    m = pd.DataFrame([[1, 2, 3, 4]], columns=_totals([0] * 4).index)
    assert list(td.clip_from(m, m.columns[2]).columns) == list(m.columns[2:])
    assert td.clip_from(m, None) is m


def test_wilson_gives_the_known_intervals_and_stays_in_bounds() -> None:
    lo, hi = td.wilson(np.array([0, 5, 20, 0]), np.array([10, 10, 20, 0]))
    # Wilson 95% for 5/10: 0.2366 .. 0.7634; 0/10 has a positive upper end; 20/20 ends at 1.
    assert lo[1] == pytest.approx(0.2366, abs=1e-4) and hi[1] == pytest.approx(0.7634, abs=1e-4)
    assert lo[0] == 0 and hi[0] == pytest.approx(0.2775, abs=1e-4)
    assert hi[2] == 1 and lo[2] == pytest.approx(0.8389, abs=1e-4)
    assert np.isnan(lo[3]) and np.isnan(hi[3])


def test_heatmap_rows_follow_the_trend_or_the_hierarchy_not_the_id() -> None:
    trends = pd.DataFrame(
        {"topic": [0, 1, 2, 3], "growth": [0.1, 1.5, np.nan, -0.8], "slope": [0, 0, 0.2, 0]}
    )
    assert td.trend_order(trends, [0, 1, 2, 3, 4]) == [1, 2, 0, 3, 4]
    assert td.trend_order(None, [3, 1]) == [3, 1]
    # ((0, 3), (1, 2)): leaf order 0, 3, 1, 2; topic 4 is in no merge.
    hierarchy = pd.DataFrame(
        {
            "node": [5, 6, 7],
            "left": [0, 1, 5],
            "right": [3, 2, 6],
            "parent": [7, 7, -1],
        }
    )
    assert td.hierarchy_order(hierarchy, [4, 2, 1, 0, 3]) == [0, 3, 1, 2, 4]
    assert td.period_totals(pd.DataFrame(), []).empty
