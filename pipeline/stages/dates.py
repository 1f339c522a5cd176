"""Date parsing that keeps precision.

A paper dated ``2024-03`` is known to the month, not to the 1st of March; trend binning
must not pretend otherwise, so each parsed date carries its precision (day, month, year)
and is stored as the start of that interval.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pipeline.errors import UserError

_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_SLASH_DAY = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})(?:\.0)?$")
_WRITTEN_DAY = (
    "%B %d, %Y",  # March 5, 2024
    "%b %d, %Y",  # Mar 5, 2024
    "%B %d %Y",
    "%b %d %Y",
    "%d %B %Y",  # 5 March 2024
    "%d %b %Y",  # 5 Mar 2024
    "%d %b. %Y",
    "%b. %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z",  # RFC 2822 (RSS feeds)
    "%a, %d %b %Y %H:%M:%S %Z",
    "%a, %d %b %Y",
    "%A, %B %d, %Y",  # Tuesday, March 5, 2024
)
_WRITTEN_MONTH = ("%B %Y", "%b %Y", "%b. %Y")

PRECISIONS = ("day", "month", "year")

# Dates are stored as nanosecond timestamps (1677-09-21 .. 2262-04-11), and binning adds up
# to a decade on either side of a date (the decade a date falls in, the period after the
# last one), so only dates with that much room are accepted. Outside it, a date would fail
# deep in a later stage or silently become missing; ingest refuses it instead.
EARLIEST = dt.date(1680, 1, 1)
LATEST = dt.date(2249, 12, 31)
# A nanosecond timedelta holds 292 years: a longer span overflows when binning measures it.
MAX_SPAN_YEARS = 250


def parse_one(value: object, fmt: str | None = None) -> tuple[dt.date, str] | None:
    """Parse one value to (interval start, precision); None if it cannot be read."""
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date(), "day"
    if isinstance(value, dt.date):
        return value, "day"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value == int(value) and 1000 <= value <= 2999:
            return dt.date(int(value), 1, 1), "year"
        return None
    s = " ".join(str(value).split())
    if fmt:
        try:
            parsed = dt.datetime.strptime(s, fmt)
        except ValueError:
            return None
        precision = (
            "day"
            if "%d" in fmt or "%j" in fmt
            else "month"
            if ("%m" in fmt or "%b" in fmt or "%B" in fmt)
            else "year"
        )
        return parsed.date(), precision
    try:
        if m := _ISO_DAY.match(s) or _SLASH_DAY.match(s):
            return dt.date(int(m[1]), int(m[2]), int(m[3])), "day"
        if m := _MONTH.match(s):
            return dt.date(int(m[1]), int(m[2]), 1), "month"
        if m := _YEAR.match(s):
            return dt.date(int(m[1]), 1, 1), "year"
    except ValueError:
        return None
    for f in _WRITTEN_DAY:
        try:
            return dt.datetime.strptime(s, f).date(), "day"
        except ValueError:
            continue
    for f in _WRITTEN_MONTH:
        try:
            return dt.datetime.strptime(s, f).date(), "month"
        except ValueError:
            continue
    return None


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def parse_column(
    values: Iterable[object], fmt: str | None = None
) -> tuple[list[dt.date | None], list[str | None], int | None]:
    """Parse a column. Returns dates, precisions and the index of the first bad value (or None).

    Unique values are parsed once: a 20k-row column usually has a few hundred distinct dates.
    """
    values = list(values)
    memo: dict[object, tuple[dt.date, str] | None] = {}
    dates: list[dt.date | None] = []
    precs: list[str | None] = []
    for i, v in enumerate(values):
        if is_missing(v):
            dates.append(None)
            precs.append(None)
            continue
        key = v if isinstance(v, str | int | float) else repr(v)
        if key not in memo:
            memo[key] = parse_one(v, fmt)
        got = memo[key]
        if got is None:
            return [], [], i
        dates.append(got[0])
        precs.append(got[1])
    return dates, precs, None


def first_out_of_range(dates: list[dt.date | None]) -> int | None:
    """Index of the first date outside EARLIEST..LATEST, or None when all fit."""
    for i, d in enumerate(dates):
        if d is not None and not EARLIEST <= d <= LATEST:
            return i
    return None


def too_long_span(dates: list[dt.date | None]) -> tuple[int, int] | None:
    """Indices of the earliest and latest date when they lie over MAX_SPAN_YEARS apart."""
    known = [(d, i) for i, d in enumerate(dates) if d is not None]
    if not known:
        return None
    (lo, i_lo), (hi, i_hi) = min(known), max(known)
    if (hi - lo).days > MAX_SPAN_YEARS * 365.25:
        return i_lo, i_hi
    return None


def _shown(value: object) -> str:
    """A date value as the user wrote it: text quoted, a timestamp as ISO."""
    if isinstance(value, str):
        return repr(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def read_date_column(
    path: Path, col: str, values: list[object], fmt: str | None
) -> tuple[list, list[str | None]]:
    """Parse the date column, refusing a value that cannot be read or binned.

    Dates are nanosecond timestamps downstream: a date outside EARLIEST..LATEST, or a span
    longer than MAX_SPAN_YEARS, would fail after every stage has run or vanish silently.
    """
    dates, precs, bad = parse_column(values, fmt)
    if bad is not None:
        raise UserError(
            f"{path}: column '{col}', row {bad + 1}: cannot parse date {_shown(values[bad])}. "
            "Use ISO dates (2024-03-05, 2024-03, 2024), pass --date-format (e.g. '%d/%m/%Y'), "
            "or --date-col none to ignore dates."
        )
    if (i := first_out_of_range(dates)) is not None:
        raise UserError(
            f"{path}: column '{col}', row {i + 1}: date {_shown(values[i])} is outside the supported "
            f"range {EARLIEST} to {LATEST}. Correct the date or remove the row, "
            "or pass --date-col none to ignore dates."
        )
    if (span := too_long_span(dates)) is not None:
        lo, hi = span
        raise UserError(
            f"{path}: column '{col}', rows {lo + 1} and {hi + 1}: the dates span {_shown(values[lo])} "
            f"to {_shown(values[hi])}, more than {MAX_SPAN_YEARS} years. Split the corpus by period, "
            "correct the outlying dates, or pass --date-col none to ignore dates."
        )
    return dates, precs
