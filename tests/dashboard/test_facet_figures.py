"""facet_figures: facet bars and histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import facet_data, facet_figures, figure_style

EVIL = "<img src=x onerror=alert(1)> [click](http://evil.example)"


def test_facet_bar_escapes_labels_and_keeps_raw_values():
    counts = pd.DataFrame({"value": ["A", EVIL], "count": [5, 2]})
    fig = facet_figures.facet_bar(counts, selected=[EVIL], column="venue")
    bar = fig.data[0]
    assert list(bar.customdata) == [EVIL, "A"]  # largest on top: drawn last
    assert bar.y[0].startswith("&lt;img") and list(bar.marker.color) == [
        figure_style.SELECTED_COLOR,
        figure_style.BAR_COLOR,
    ]
    assert facet_figures.picked_values({"selection": {"points": [{"customdata": EVIL}]}}) == [EVIL]


def test_facet_hist_marks_the_selected_range():
    bins = facet_data.facet_bins(pd.Series(np.arange(100.0)), "numeric", nbins=4)
    fig = facet_figures.facet_hist(bins, "numeric", selected=(0, 30))
    assert list(fig.data[0].marker.color) == [
        figure_style.SELECTED_COLOR,
        figure_style.SELECTED_COLOR,
        figure_style.BAR_COLOR,
        figure_style.BAR_COLOR,
    ]
    dbins = facet_data.facet_bins(
        pd.Series(pd.to_datetime(["2020-01-01", "2020-12-31"])), "date", nbins=2
    )
    fig = facet_figures.facet_hist(dbins, "date")
    assert fig.data[0].customdata[0][0] == "2020-01-01"
