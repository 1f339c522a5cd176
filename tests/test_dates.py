"""Parsing dates (pipeline.stages.dates): each value keeps its precision."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.stages.dates import parse_one


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", (dt.date(2024, 3, 5), "day")),
        ("2024-03-05T10:11:12Z", (dt.date(2024, 3, 5), "day")),
        ("2024-03", (dt.date(2024, 3, 1), "month")),
        ("2024", (dt.date(2024, 1, 1), "year")),
        (2024, (dt.date(2024, 1, 1), "year")),
        ("March 5, 2024", (dt.date(2024, 3, 5), "day")),
        ("5 Mar 2024", (dt.date(2024, 3, 5), "day")),
        ("Tue, 05 Mar 2024 10:00:00 +0000", (dt.date(2024, 3, 5), "day")),
        ("March 2024", (dt.date(2024, 3, 1), "month")),
        ("2024/03/05", (dt.date(2024, 3, 5), "day")),
    ],
)
def test_dates_keep_their_precision(value: object, expected: tuple[dt.date, str]) -> None:
    assert parse_one(value) == expected


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e300, 12.5, "not a date"])
def test_unreadable_date_values_are_none_not_crashes(value: object) -> None:
    # Found by the fuzzer: a JSON date of Infinity once raised OverflowError.
    assert parse_one(value) is None
