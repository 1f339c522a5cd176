"""The period rules (pipeline.periods)."""

from __future__ import annotations

import pandas as pd

from pipeline.periods import (
    AUTO_PERIOD_MAX_BINS,
    OFFERED_PERIOD_MAX_BINS,
    cadence_days,
    choose_period,
    period_end,
    period_grid,
    period_label,
    period_start,
    precision_floor,
    resolve_period,
)


def _days(n: int, start: str = "2020-01-01") -> pd.Series:
    return pd.Series(pd.date_range(start, periods=n, freq="D"))


def test_the_finest_period_with_enough_documents_per_bin_is_chosen() -> None:
    dense = pd.concat([_days(365)] * 20, ignore_index=True)  # 20 documents a day for a year
    assert choose_period(dense, pd.Series(["day"] * len(dense))) == "week"
    sparse = _days(365)  # one a day: 7 a week is too few, 30 a month is enough
    assert choose_period(sparse, pd.Series(["day"] * len(sparse))) == "month"


def test_dates_known_to_the_month_are_never_binned_by_week() -> None:
    dates = pd.concat([_days(365)] * 20, ignore_index=True)
    assert precision_floor(pd.Series(["month"] * len(dates))) == "month"
    assert choose_period(dates, pd.Series(["month"] * len(dates))) == "month"


def test_the_automatic_choice_caps_bins_below_what_the_dashboard_offers() -> None:
    assert AUTO_PERIOD_MAX_BINS < OFFERED_PERIOD_MAX_BINS
    # 300 years of yearly documents: too many year bins for the automatic choice.
    years = pd.Series(pd.date_range("1700-01-01", periods=300, freq="YS").repeat(20))
    assert choose_period(years, pd.Series(["year"] * len(years))) == "decade"


def test_a_run_keeps_its_period_and_the_setting_beats_the_choice() -> None:
    d, p = _days(30), pd.Series(["day"] * 30)
    assert resolve_period("auto", d, p, current="quarter") == "quarter"
    assert resolve_period("year", d, p) == "year"
    assert resolve_period("auto", d, p) == choose_period(d, p)


def test_bins_grid_ends_and_labels_agree() -> None:
    ts = pd.Timestamp("2024-05-15")
    starts = {p: period_start(pd.Series([ts]), p).iloc[0] for p in ("week", "month", "quarter")}
    assert starts == {
        "week": pd.Timestamp("2024-05-13"),
        "month": pd.Timestamp("2024-05-01"),
        "quarter": pd.Timestamp("2024-04-01"),
    }
    assert period_end(starts["quarter"], "quarter") == pd.Timestamp("2024-07-01")
    grid = period_grid(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-01"), "quarter")
    assert [period_label(g, "quarter") for g in grid] == [
        "2024 Q1",
        "2024 Q2",
        "2024 Q3",
        "2024 Q4",
    ]
    assert period_label(pd.Timestamp("2020-01-01"), "decade") == "2020s"


def _monthly_cadence(months: int = 36, per_month: int = 25) -> pd.Series:
    """Issue 19's planted corpus: every paper dated the 15th of its month, 25 a month."""
    fifteenths = pd.date_range("2021-01-15", periods=months, freq="MS") + pd.Timedelta(days=14)
    return pd.Series(fifteenths.repeat(per_month))


def test_a_monthly_cadence_with_day_precision_is_binned_by_month() -> None:
    dates = _monthly_cadence()
    day = pd.Series(["day"] * len(dates))
    assert cadence_days(dates) in (30.0, 31.0)
    assert choose_period(dates, day) == "month"
    # Ten times denser: still month, not week (three weeks in four would be empty).
    dense = _monthly_cadence(per_month=250)
    assert choose_period(dense, pd.Series(["day"] * len(dense))) == "month"


def test_documents_per_bin_count_the_empty_bins_of_the_span() -> None:
    # Ten bursts of 5 weekly issues (20 documents each), 20 empty weeks between bursts: the
    # cadence is weekly, and 20 documents per *occupied* week, but about 4 per week of the span.
    weeks = [b * 25 + w for b in range(10) for w in range(5)]
    start = pd.Timestamp("2020-01-06")
    dates = pd.Series([start + pd.Timedelta(weeks=w) for w in weeks for _ in range(20)])
    assert cadence_days(dates) == 7.0
    assert choose_period(dates, pd.Series(["day"] * len(dates))) == "month"
