"""Metadata facets: how a column is faceted, its value counts, histogram bins and bounds.

No Streamlit here; the Facets page and the sidebar filters read these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MISSING = "(missing)"


def as_strings(s: pd.Series) -> pd.Series:
    """Metadata values as display strings; missing values become '(missing)'."""
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return s.fillna(MISSING).astype(str)  # already strings (pandas' str dtype): vectorised

    def one(v: object) -> str:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            return MISSING
        if isinstance(v, list | tuple | np.ndarray):
            return ", ".join(str(x) for x in v)
        return str(v)

    return s.map(one).astype(str)


def facet_kind(s: pd.Series) -> str | None:
    """How a metadata column is faceted: 'categorical' (bars), 'numeric' or 'date' (histogram)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date" if s.notna().any() else None
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s):
        n = s.nunique(dropna=True)
        if n == 0:
            return None
        return "categorical" if n <= 15 else "numeric"
    return "categorical"


def facet_counts(values: pd.Series, top: int = 20) -> pd.DataFrame:
    """The ``top`` most frequent values (as strings) with counts; numbers are listed in order.

    ``attrs`` holds ``others`` (documents with a value not listed) and ``n_values``.
    """
    vc = as_strings(values).value_counts().sort_index().sort_values(ascending=False, kind="stable")
    out = pd.DataFrame({"value": vc.index.astype(str), "count": vc.to_numpy()}).head(top)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(out["value"], errors="coerce")
        out = out.assign(_n=num).sort_values("_n", na_position="last").drop(columns="_n")
    out = out.reset_index(drop=True)
    out.attrs["others"] = int(vc.iloc[top:].sum()) if len(vc) > top else 0
    out.attrs["n_values"] = int(len(vc))
    return out


def facet_bins(values: pd.Series, kind: str, nbins: int = 30) -> pd.DataFrame:
    """Histogram of a numeric or date column: lo, hi (bin edges, numbers or timestamps), count."""
    v = values.dropna()
    if v.empty:
        return pd.DataFrame(columns=["lo", "hi", "count"])
    if kind == "date":
        num = (
            pd.to_datetime(v).astype("datetime64[ns]").astype("int64").to_numpy().astype(np.float64)
        )
    else:
        num = v.astype(float).to_numpy()
    lo, hi = float(num.min()), float(num.max())
    if lo == hi:
        edges = np.array([lo, hi + 1.0])
    else:
        all_int = kind != "date" and np.all(np.equal(np.mod(num, 1), 0))
        if all_int and hi - lo + 1 <= nbins:
            edges = np.arange(lo, hi + 2, 1.0)
        else:
            edges = np.linspace(lo, hi, nbins + 1)
    counts, _ = np.histogram(num, bins=edges)
    out = pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts.astype(int)})
    if kind == "date":
        out["lo"] = pd.to_datetime(out["lo"].astype("int64"), unit="ns")
        out["hi"] = pd.to_datetime(out["hi"].astype("int64"), unit="ns")
    return out


def facet_bounds(values: pd.Series, kind: str) -> tuple[Any, Any] | None:
    v = values.dropna()
    if v.empty:
        return None
    if kind == "date":
        return pd.Timestamp(v.min()).date(), pd.Timestamp(v.max()).date()
    lo, hi = v.min(), v.max()
    if pd.api.types.is_integer_dtype(v):
        return int(lo), int(hi)
    return float(lo), float(hi)
