"""time_figures: share lines, stacked area, heatmap; partial periods marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import run_data, time_figures


def _matrix() -> pd.DataFrame:
    cols = pd.DatetimeIndex(["2020-01-01", "2021-01-01", "2022-01-01"])
    return pd.DataFrame(
        [[0.5, np.nan, 0.2], [0.3, np.nan, 0.6], [0.2, np.nan, 0.2]], index=[0, 1, -1], columns=cols
    )


def test_share_lines_shade_partial_periods():
    m = _matrix()
    fig = time_figures.share_lines(
        m, {0: "a", 1: "<i>b</i>"}, [0, 1, 5], "year", partial={pd.Timestamp("2022-01-01")}
    )
    assert [t.name for t in fig.data] == ["0: a", "1: &lt;i&gt;b&lt;/i&gt;"]
    assert fig.data[0].connectgaps is False
    (shape,) = fig.layout.shapes
    assert pd.Timestamp(shape.x0) == pd.Timestamp("2022-01-01") and pd.Timestamp(
        shape.x1
    ) == pd.Timestamp("2023-01-01")
    assert fig.layout.annotations[0].text == "partial"


def test_stacked_area_groups_the_rest():
    fig = time_figures.stacked_area(_matrix(), {0: "a", 1: "b"}, [0], "year")
    assert [t.name for t in fig.data] == ["0: a", "other topics", run_data.OUTLIER_LABEL]
    assert all(t.stackgroup == "one" for t in fig.data)


def test_heatmap_stars_partial_periods():
    fig = time_figures.share_heatmap(
        _matrix(), {0: "a", 1: "b"}, [1, 0], "year", partial={pd.Timestamp("2020-01-01")}
    )
    assert list(fig.data[0].x) == ["2020 *", "2021", "2022"]
    assert list(fig.data[0].y) == ["1: b", "0: a"]


def _quarters() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    cols = pd.date_range("2020-01-01", periods=4, freq="QS")
    counts = pd.DataFrame([[1, 10, 12, 30], [1, 40, 38, 70]], index=[0, 1], columns=cols)
    totals = pd.Series([2, 50, 50, 100], index=cols)
    return counts / totals, counts, totals


def test_share_lines_fade_sparse_periods_and_band_the_rest():
    shares, counts, totals = _quarters()
    sparse = {shares.columns[0]}  # 2 documents: 50% of nothing
    fig = time_figures.share_lines(shares, {0: "a"}, [0], "quarter", (), counts, totals, sparse)
    by_meta = {}
    for t in fig.data:
        by_meta.setdefault(t.meta, []).append(t)
    (line,), (dots,), bands = by_meta["share"], by_meta["sparse"], by_meta["band"]
    assert np.isnan(line.y[0]) and list(line.y[1:]) == pytest.approx([0.2, 0.24, 0.3])
    assert line.connectgaps is False  # so the line is not joined through the sparse period
    assert dots.y[0] == 0.5 and np.isnan(dots.y[1:]).all() and dots.marker.opacity < 1
    upper, lower = bands
    assert lower.fill == "tonexty" and np.isnan(upper.y[0]) and np.isnan(lower.y[0])
    assert (np.asarray(lower.y[1:]) < line.y[1:]).all() and (line.y[1:] < upper.y[1:]).all()
    # Hover: count, period total and the interval.
    assert list(line.customdata[1][:2]) == [10, 50] and "of %{customdata[1]" in line.hovertemplate
    assert "95% interval" in line.hovertemplate


def test_count_lines_show_documents_and_the_heatmap_greys_sparse_periods():
    shares, counts, totals = _quarters()
    fig = time_figures.count_lines(counts, {0: "a", 1: "b"}, [1], "quarter", (), totals)
    assert list(fig.data[0].y) == [1, 40, 38, 70] and fig.layout.yaxis.title.text == "documents"
    heat = time_figures.share_heatmap(
        shares, {0: "a", 1: "b"}, [1, 0], "quarter", sparse={shares.columns[0]}
    )
    main, grey = heat.data
    assert np.isnan(main.z[:, 0]).all() and not np.isnan(main.z[:, 1:]).any()
    assert (grey.z[:, 0] == 1).all() and np.isnan(grey.z[:, 1:]).all()
    assert list(main.y) == ["1: b", "0: a"]  # the order given, not the id
    as_counts = time_figures.share_heatmap(counts, {}, [0, 1], "quarter", value="count")
    assert len(as_counts.data) == 1 and as_counts.data[0].z[0, 0] == 1
