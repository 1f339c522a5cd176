"""time_figures: share lines, stacked area, heatmap; partial periods marked."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
