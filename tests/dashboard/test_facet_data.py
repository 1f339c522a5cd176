"""facet_data: facet kinds, counts, bins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import facet_data


def test_facet_kinds_and_counts(dated_run):
    assert dated_run.facet_kinds() == {
        "year": "categorical",
        "label": "categorical",
        "all_labels": "categorical",
        "n_labels": "categorical",
    }
    assert facet_data.facet_kind(pd.Series(np.arange(100.0))) == "numeric"
    assert facet_data.facet_kind(pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"]))) == "date"
    assert facet_data.facet_kind(pd.Series([np.nan, np.nan])) is None
    counts = facet_data.facet_counts(pd.Series(["a", "b", "a", None, "c"]), top=2)
    assert counts["value"].tolist() == ["a", "(missing)"]  # ties in value order
    assert counts.attrs == {"others": 2, "n_values": 4}
    years = facet_data.facet_counts(dated_run.docs["year"])
    assert years["value"].tolist() == sorted(years["value"].tolist())  # numbers in order


def test_facet_bins_cover_every_value():
    values = pd.Series(np.arange(1000.0))
    bins = facet_data.facet_bins(values, "numeric", nbins=10)
    assert len(bins) == 10 and bins["count"].sum() == 1000
    ints = facet_data.facet_bins(pd.Series([1, 2, 2, 5]), "numeric")
    assert ints["lo"].tolist() == [1, 2, 3, 4, 5] and ints["count"].tolist() == [1, 2, 0, 0, 1]
    dates = facet_data.facet_bins(
        pd.Series(pd.to_datetime(["2020-01-01", "2020-06-01", None])), "date", nbins=4
    )
    assert dates["count"].sum() == 2 and pd.api.types.is_datetime64_any_dtype(dates["lo"])
