"""Document filters and their URL form. No Streamlit here.

A ``Filters`` value is what the sidebar shows: topics, a date range, a keyword query and
one selection per metadata column. It round-trips through URL query parameters::

    topics=3,7          topic ids
    from=2020-01-01     first day (inclusive)
    to=2021-12-31       last day (inclusive)
    q=graph neural      keyword search: every word must appear in the title or text
    f.<column>=a        categorical metadata values (repeat the parameter for more)
    f.<column>=lo..hi   numeric or date metadata range (inclusive)

``parse_filters`` validates everything against the run: unknown topics, columns and
malformed values are dropped, never trusted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dashboard.facet_data import as_strings

FACET_PREFIX = "f."
FILTER_PARAMS = ("topics", "from", "to", "q")
QUERY_CHARS = 200
_INT = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: int() also takes "١٢" and "1_000"


def parse_int(value: object) -> int | None:
    """An id from a link (a topic, a node, a count), or None: at most 18 ASCII digits, so
    "²", "1e5" or 5,000 nines are refused here rather than raising inside a page."""
    text = str(value).strip()
    return int(text) if _INT.fullmatch(text) else None


@dataclass(frozen=True)
class Filters:
    topics: tuple[int, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    query: str = ""
    # column -> ("in", (values...)) or ("range", (lo, hi))
    facets: tuple[tuple[str, tuple[str, tuple[Any, ...]]], ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return bool(
            self.topics or self.date_from or self.date_to or self.query.strip() or self.facets
        )

    def facet(self, column: str) -> tuple[str, tuple[Any, ...]] | None:
        return dict(self.facets).get(column)

    def without_facet(self, column: str) -> Filters:
        return Filters(
            self.topics,
            self.date_from,
            self.date_to,
            self.query,
            tuple((c, s) for c, s in self.facets if c != column),
        )


def _parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def parse_range(value: str, kind: str) -> tuple[Any, Any] | None:
    """'lo..hi' for a numeric (floats) or date (ISO days) column; None if malformed."""
    lo_s, sep, hi_s = value.partition("..")
    if not sep:
        return None
    try:
        if kind == "date":
            lo, hi = dt.date.fromisoformat(lo_s.strip()), dt.date.fromisoformat(hi_s.strip())
        else:
            lo, hi = float(lo_s), float(hi_s)
            if not (np.isfinite(lo) and np.isfinite(hi)):
                return None
            lo, hi = (int(lo) if lo.is_integer() else lo), (int(hi) if hi.is_integer() else hi)
    except ValueError:
        return None
    return (lo, hi) if lo <= hi else (hi, lo)


def format_range(lo: Any, hi: Any) -> str:
    def one(v: Any) -> str:
        if isinstance(v, dt.datetime | pd.Timestamp):
            return pd.Timestamp(v).date().isoformat()
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return f"{one(lo)}..{one(hi)}"


def parse_filters(
    params: Mapping[str, str | list[str]], topic_ids: set[int], facet_kinds: Mapping[str, str]
) -> Filters:
    """Filters from URL parameters, keeping only what is valid for this run."""
    topics: list[int] = []
    for part in ",".join(_as_list(params.get("topics"))).split(","):
        n = parse_int(part)
        if n is not None and n in topic_ids and n not in topics:
            topics.append(n)
    date_from = _parse_date(_as_list(params.get("from"))[-1] if params.get("from") else None)
    date_to = _parse_date(_as_list(params.get("to"))[-1] if params.get("to") else None)
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from
    query = " ".join(_as_list(params.get("q"))).strip()[:QUERY_CHARS]
    facets = []
    for key, value in params.items():
        if not key.startswith(FACET_PREFIX):
            continue
        col = key[len(FACET_PREFIX) :]
        kind = facet_kinds.get(col)
        values = [v for v in _as_list(value) if v != ""]
        if kind is None or not values:
            continue
        if kind == "categorical":
            facets.append((col, ("in", tuple(dict.fromkeys(values)))))
        elif (rng := parse_range(values[-1], kind)) is not None:
            facets.append((col, ("range", rng)))
    return Filters(tuple(topics), date_from, date_to, query, tuple(sorted(facets)))


def unusable(params: Mapping[str, str | list[str]], f: Filters, dated: bool) -> list[str]:
    """The filter parameters of a link that ``f`` (parsed from them) could not use as given:
    unknown topics, malformed dates or ranges, a search cut to ``QUERY_CHARS``, dates on an
    undated run. The dashboard names them in a notice instead of failing."""
    got = filters_to_params(f)
    out = []
    for key, value in params.items():
        if key not in FILTER_PARAMS and not key.startswith(FACET_PREFIX):
            continue
        raw = [v for v in _as_list(value) if v.strip()]
        if not raw:
            continue
        if key not in got or (key in ("from", "to") and not dated):
            out.append(key)
        elif key == "topics":
            parts = {p.strip() for p in ",".join(raw).split(",") if p.strip()}
            if len(parts) > len(f.topics):
                out.append(key)
        elif key == "q" and len(" ".join(raw).strip()) > QUERY_CHARS:
            out.append(key)
    return out


def filters_to_params(f: Filters) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    if f.topics:
        out["topics"] = ",".join(str(t) for t in f.topics)
    if f.date_from:
        out["from"] = f.date_from.isoformat()
    if f.date_to:
        out["to"] = f.date_to.isoformat()
    if f.query.strip():
        out["q"] = f.query.strip()
    for col, (op, vals) in f.facets:
        out[FACET_PREFIX + col] = list(vals) if op == "in" else format_range(*vals)
    return out


def keyword_mask(blob: np.ndarray, query: str) -> np.ndarray:
    """Documents whose lower-cased title+text contain every word of ``query``."""
    words = query.lower().split()
    mask = np.ones(len(blob), dtype=bool)
    if not words:
        return mask
    s = pd.Series(blob, copy=False)
    for w in words:
        mask &= s.str.contains(w, regex=False).to_numpy(dtype=bool)
    return mask


def facet_mask(values: pd.Series, kind: str, selection: tuple[str, tuple[Any, ...]]) -> np.ndarray:
    op, vals = selection
    if op == "in":
        strings = values if pd.api.types.is_string_dtype(values) else as_strings(values)
        return strings.isin([str(v) for v in vals]).to_numpy(dtype=bool)
    lo, hi = vals
    if kind == "date":
        d = pd.to_datetime(values)
        lo_t = pd.Timestamp(lo)
        hi_t = pd.Timestamp(hi) + pd.Timedelta(days=1)
        return ((d >= lo_t) & (d < hi_t)).fillna(False).to_numpy(dtype=bool)
    num = pd.to_numeric(values, errors="coerce")
    return ((num >= lo) & (num <= hi)).fillna(False).to_numpy(dtype=bool)


def filter_mask(
    docs: pd.DataFrame, f: Filters, facet_kinds: Mapping[str, str], blob: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask over ``docs`` for every filter in ``f``.

    ``blob`` is the lower-cased title+text of ``docs`` (built from them when not given); the
    dashboard passes a query-less ``f`` and runs the keyword search over the Parquet file
    (``RunData.keyword_rows``), so no lower-cased copy of the corpus is held.
    """
    mask = np.ones(len(docs), dtype=bool)
    if f.topics:
        mask &= docs["topic"].isin(f.topics).to_numpy(dtype=bool)
    if f.date_from or f.date_to:
        d = docs["date"]
        ok = d.notna()
        if f.date_from:
            ok &= d >= pd.Timestamp(f.date_from)
        if f.date_to:
            ok &= d < pd.Timestamp(f.date_to) + pd.Timedelta(days=1)
        mask &= ok.fillna(False).to_numpy(dtype=bool)
    if f.query.strip():
        if blob is None:
            blob = (
                (docs["title"].astype(str) + "\n" + docs["text"].astype(str)).str.lower().to_numpy()
            )
        mask &= keyword_mask(blob, f.query)
    for col, sel in f.facets:
        if col in docs.columns and col in facet_kinds:
            mask &= facet_mask(docs[col], facet_kinds[col], sel)
    return mask


def semantic_rank(
    embeddings: np.ndarray, query_vec: np.ndarray, mask: np.ndarray | None = None, k: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the ``k`` documents most similar (cosine) to the query, and the scores.

    Embeddings are unit-normalised by the pipeline; the query is normalised here. Only rows
    where ``mask`` is true are ranked.
    """
    q = np.asarray(query_vec, dtype=np.float32).ravel()
    n = np.linalg.norm(q)
    if n == 0 or len(embeddings) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
    q /= n
    rows = np.flatnonzero(mask) if mask is not None else np.arange(len(embeddings))
    if rows.size == 0:
        return rows.astype(np.int64), np.array([], dtype=np.float32)
    scores = np.asarray(embeddings[rows], dtype=np.float32) @ q
    k = min(k, rows.size)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((rows[top], -scores[top]))]
    return rows[top].astype(np.int64), scores[top]
