"""time_data: granularities offered, rebinning, partial periods, period labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
from frames import over_time_frame

from dashboard import time_data


def test_allowed_periods_respect_date_precision():
    months = pd.DataFrame(
        {"date": pd.to_datetime(["2020-01-01", "2021-06-01"]), "date_precision": ["month", "month"]}
    )
    assert time_data.allowed_periods(months) == ["month", "quarter", "year", "decade"]
    days = pd.DataFrame(
        {"date": pd.to_datetime(["2020-01-03", "2020-03-05"]), "date_precision": ["day", "day"]}
    )
    assert time_data.allowed_periods(days)[0] == "week"
    years = pd.DataFrame(
        {"date": pd.to_datetime(["1800-01-01", "2020-01-01"]), "date_precision": ["year", "year"]}
    )
    assert time_data.allowed_periods(years) == ["year", "decade"]
    centuries = pd.DataFrame(
        {"date": pd.to_datetime(["1790-01-08", "2026-02-24"]), "date_precision": ["day", "day"]}
    )
    assert "week" not in time_data.allowed_periods(centuries)  # 12,000 weekly bins is not a chart
    assert (
        time_data.allowed_periods(
            pd.DataFrame({"date": pd.Series([pd.NaT]), "date_precision": [None]})
        )
        == []
    )


def test_over_time_reaggregates_and_marks_partial_periods(dated_run):
    stored = time_data.over_time_at(dated_run.docs, "year", dated_run.over_time, "year")
    assert stored.table["count"].sum() == dated_run.docs["date"].notna().sum()
    assert len(stored.partial) == 2  # the fixture starts in November 2010 and ends in November 2019
    quarters = time_data.over_time_at(dated_run.docs, "quarter", dated_run.over_time, "year")
    assert quarters.table["count"].sum() == stored.table["count"].sum()
    assert len(quarters.table) and quarters.table["period_start"].dt.month.isin([1, 4, 7, 10]).all()
    per_period = quarters.table.groupby("period_start")["share"].sum()
    assert np.allclose(per_period, 1.0)


def test_share_matrix_leaves_empty_periods_as_gaps():
    ot = over_time_frame([(0, "2020-01-01", 2), (1, "2020-01-01", 2), (0, "2022-01-01", 1)])
    m = time_data.share_matrix(ot, "year")
    assert list(m.columns.year) == [2020, 2021, 2022]
    assert m.loc[0, pd.Timestamp("2020-01-01")] == 0.5
    assert np.isnan(m.loc[0, pd.Timestamp("2021-01-01")])
    assert m.loc[1, pd.Timestamp("2022-01-01")] == 0.0
