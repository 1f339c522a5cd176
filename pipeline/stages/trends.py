"""Trend scores: which topics are growing or shrinking, how sure that is, and how they read.

Pure functions, no I/O: the trends stages feed them the dated documents' topics and writes the
results. ``docs/trends.md`` explains every column; in short:

* Periods come from ``pipeline.stages.over_time`` (same bins as ``topics_over_time.parquet``). A
  topic's share in a period is its documents over *all* the period's documents, outliers
  included, so a growing corpus does not make every topic rise.
* The first and last periods are left out of the windows when they are *partial*: the
  corpus starts (ends) well inside them, or they hold far fewer documents than their
  neighbours (see ``partial_periods``).
* The recent window is the last ~20% of the complete periods (at least
  ``min_window_docs`` documents); the previous window is every complete period before it.
  Both can be set in ``[trends]``.
* ``growth`` is the log ratio of the topic's smoothed share in the recent window to its
  smoothed share in the previous one; its confidence interval and p-value come from one
  likelihood-ratio test (``share_ratio_test``), scaled by the corpus' overdispersion when
  there is any; ``q_value`` is the Benjamini-Hochberg adjusted p-value across topics.
* ``slope`` is the long-run weighted least-squares slope of the per-period share, per year.
* ``category`` turns these into one word (``new``, ``emerging``, ``rising``, ``stable``,
  ``declining``, ``fading``) by the rules in ``categorise``.

Each topic's keywords per period are the ``keywords_over_time`` stage
(``pipeline.stages.keywords``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import TrendsConfig
from pipeline.periods import PRECISION_STEP, period_end, period_grid, period_start
from pipeline.stages.base import Context
from pipeline.stages.themes import (
    Tree,
    headlines,
    hierarchy_of,
    node_counts,
    theme_info,
    tree_of,
)
from pipeline.stages.trend_stats import (
    benjamini_hochberg,
    detectable_support,
    dispersion,
    real_start,
    share_ratio_test,
    wls_slope,
)
from pipeline.store.contract import CATEGORIES, THEME_COLUMNS, TOO_FEW, TREND_COLUMNS

# An empty stretch at the edge of the first/last period counts as "the corpus starts/ends
# here" when, at the period's own document rate, a gap that long would happen by chance
# less than 1% of the time: rate * gap_days > ln(100).
EDGE_GAP_LOG_ODDS = math.log(100.0)
# A first/last period with less than half the median count of its three inner neighbours,
# and a count that unlikely under Poisson(median) (< 1%), is partial as well.
EDGE_COUNT_RATIO = 0.5
EDGE_COUNT_PVALUE = 0.01
EDGE_NEIGHBOURS = 3


def partial_periods(
    dates: pd.Series, precisions: pd.Series | None, period: str
) -> dict[pd.Timestamp, str]:
    """First/last periods the corpus covers only part of, with the reason for each.

    A document dated to a month (year) covers that whole month (year), so a monthly corpus
    binned by month is never partial by its dates. Only the two edge periods are examined:
    a gap in the middle of the span is data, not an edge effect.
    """
    d = pd.to_datetime(dates)
    keep = d.notna()
    d = d[keep].reset_index(drop=True)
    if d.empty:
        return {}
    prec = (
        precisions[keep].reset_index(drop=True).fillna("day").astype(str)
        if precisions is not None
        else pd.Series(["day"] * len(d))
    )
    starts = period_start(d, period)
    grid = period_grid(starts.min(), starts.max(), period)
    counts = starts.value_counts().reindex(grid, fill_value=0).to_numpy()
    # End of each document's date interval (exclusive): a month-precision date covers the month.
    ends = d.copy()
    for p, step in PRECISION_STEP.items():
        mask = (prec == p).to_numpy()
        if mask.any():
            ends[mask] = d[mask] + step
    other = ~prec.isin(list(PRECISION_STEP)).to_numpy()
    if other.any():
        ends[other] = d[other] + pd.DateOffset(days=1)

    out: dict[pd.Timestamp, str] = {}
    edges = [(0, "first")] if len(grid) == 1 else [(0, "first"), (len(grid) - 1, "last")]
    for idx, which in edges:
        p0 = grid[idx]
        p1 = period_end(p0, period)
        span_days = max((p1 - p0).days, 1)
        n = int(counts[idx])
        gap = (d.min() - p0).days if which == "first" else (p1 - ends.max()).days
        covered = max(span_days - max(gap, 0), 1)
        rate = n / covered
        if gap >= 1 and rate * gap > EDGE_GAP_LOG_ODDS:
            out[p0] = (
                f"{which} period: documents only from {gap} of its {span_days} days onward"
                if which == "first"
                else (f"last period: no documents in its final {gap} of {span_days} days")
            )
            continue
        inner = (
            counts[1 : 1 + EDGE_NEIGHBOURS]
            if which == "first"
            else counts[max(0, len(counts) - 1 - EDGE_NEIGHBOURS) : -1]
        )
        if len(inner) >= 2:
            med = float(np.median(inner))
            if med > 0 and n < EDGE_COUNT_RATIO * med:
                from scipy.stats import poisson

                if poisson.cdf(n, med) < EDGE_COUNT_PVALUE:
                    out[p0] = (
                        f"{which} period: {n} documents against a median of {med:g} in the {len(inner)} periods next to it"
                    )
    return out


@dataclass
class Windows:
    """The periods each window covers (period starts, ascending)."""

    complete: list[pd.Timestamp]
    recent: list[pd.Timestamp]
    previous: list[pd.Timestamp]
    note: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.recent) and bool(self.previous)


def choose_windows(
    grid: pd.DatetimeIndex, totals: np.ndarray, partial: set[pd.Timestamp], cfg: TrendsConfig
) -> Windows:
    """Recent window = the last ``recent_fraction`` of the complete periods, grown until it
    holds ``min_window_docs`` documents (but at most half the complete periods); previous
    window = every complete period before it. ``recent_periods``/``previous_periods`` override.
    """
    lo, hi = 0, len(grid)
    if hi and grid[0] in partial:
        lo += 1
    if hi > lo and grid[hi - 1] in partial:
        hi -= 1
    complete = list(grid[lo:hi])
    tot = np.asarray(totals[lo:hi], dtype=float)
    m = len(complete)
    if m < 2:
        return Windows(
            complete,
            [],
            [],
            note=f"{m} complete period(s): at least 2 are needed to compare a recent window with a previous one",
        )
    note = None
    if cfg.recent_periods is not None:
        r = min(cfg.recent_periods, m - 1)
        if r != cfg.recent_periods:
            note = f"recent_periods={cfg.recent_periods} cut to {r}: only {m} complete periods"
    else:
        r = max(1, round(cfg.recent_fraction * m))
        while r < m // 2 and tot[m - r :].sum() < cfg.min_window_docs:
            r += 1
        r = min(r, m - 1)
    p = m - r if cfg.previous_periods is None else min(cfg.previous_periods, m - r)
    # A window of empty periods (a gap in the dates) has no share to compare: say so instead
    # of calling trends on nothing.
    for window, docs in (
        ("recent", tot[m - r :].sum()),
        ("previous", tot[m - r - p : m - r].sum()),
    ):
        if docs == 0:
            return Windows(
                complete,
                [],
                [],
                note=f"the {window} window holds no documents (a gap in the dates): "
                "no recent-vs-previous comparison",
            )
    return Windows(complete, complete[m - r :], complete[m - r - p : m - r], note=note)


@dataclass
class TrendsResult:
    table: pd.DataFrame  # one row per topic (TREND_COLUMNS)
    partial: dict[pd.Timestamp, str]
    windows: Windows
    info: dict[str, Any] = field(default_factory=dict)
    themes: pd.DataFrame | None = None  # one row per tested hierarchy node (THEME_COLUMNS)


def compute_trends(
    dates: pd.Series,
    labels: np.ndarray | pd.Series,
    period: str,
    cfg: TrendsConfig,
    precisions: pd.Series | None = None,
    hierarchy: pd.DataFrame | None = None,
) -> TrendsResult:
    """Trend scores for every topic (label >= 0) of a dated corpus and, given the run's
    ``hierarchy``, for every merge node below its root (``result.themes``). Topics and
    nodes are scored by the same test and share one Benjamini-Hochberg adjustment. See the
    module docstring and ``pipeline.stages.themes``."""
    labels = np.asarray(labels, dtype=np.int64)
    d = pd.to_datetime(pd.Series(dates).reset_index(drop=True))
    dated = d.notna().to_numpy()
    n_topics = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if not dated.any() or n_topics == 0:
        return _no_trends(period)

    lab = labels[dated]
    starts = period_start(d[dated].reset_index(drop=True), period)
    grid = period_grid(starts.min(), starts.max(), period)
    pidx = grid.get_indexer(pd.DatetimeIndex(starts))
    totals = np.bincount(pidx, minlength=len(grid)).astype(float)
    counts = np.zeros((n_topics, len(grid)), dtype=np.int64)
    topical = lab >= 0
    np.add.at(counts, (lab[topical], pidx[topical]), 1)
    tree = tree_of(hierarchy, n_topics)
    units = np.vstack([counts, node_counts(counts, tree)])  # topics, then tested nodes
    # Categories sharing the smoothing mass: the topics, plus the outliers when there are any.
    k = n_topics + int((labels == -1).any())

    prec = (
        None
        if precisions is None
        else pd.Series(precisions).reset_index(drop=True)[dated].reset_index(drop=True)
    )
    partial = partial_periods(d[dated].reset_index(drop=True), prec, period)
    win = choose_windows(grid, totals, set(partial), cfg)

    first_idx, skipped = real_start(units, totals)
    nan = np.full(len(units), np.nan)
    table = pd.DataFrame(
        {
            "unit": np.concatenate([np.arange(n_topics), tree.nodes]).astype(np.int64),
            "recent_count": np.zeros(len(units), dtype=np.int64),
            "previous_count": np.zeros(len(units), dtype=np.int64),
            "recent_share": nan.copy(),
            "previous_share": nan.copy(),
            "growth": nan.copy(),
            "growth_ci_low": nan.copy(),
            "growth_ci_high": nan.copy(),
            "p_value": nan.copy(),
            "q_value": nan.copy(),
            "slope": _long_run_slope(grid, win, units, totals),
            "first_seen": pd.Series(
                [grid[i] if i >= 0 else pd.NaT for i in first_idx], dtype="datetime64[ns]"
            ),
        }
    )
    phi, floor = 1.0, (float("inf"), float("inf"))
    if win.ok:
        phi = _score_windows(table, grid, win, units, totals, k, cfg, n_topics)
        floor = _testable(grid, win, totals, phi, cfg)
    table["category"] = categorise(table, win, cfg, testable=floor, n_topics=n_topics)
    topics, themes = _headlined(table, tree, n_topics)
    info = _info(period, partial, win, totals, grid, phi, cfg, skipped[:n_topics], topics)
    info.update(theme_info(themes, *floor))
    return TrendsResult(
        table=topics[list(TREND_COLUMNS)],
        partial=partial,
        windows=win,
        info=info,
        themes=themes[list(THEME_COLUMNS)],
    )


def _headlined(table: pd.DataFrame, tree: Tree, n_topics: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark the headline units, then split the table into topics and themes (the nodes
    under the ids hierarchy.parquet gives them, with their topics)."""
    scores = tuple(table[c].tolist() for c in ("growth", "growth_ci_low", "growth_ci_high"))
    table["headline"] = headlines(table["unit"].tolist(), table["category"].tolist(), tree, scores)
    topics = table.iloc[:n_topics].rename(columns={"unit": "topic"}).reset_index(drop=True)
    themes = table.iloc[n_topics:].rename(columns={"unit": "node"}).reset_index(drop=True)
    themes["node"] = [tree.node_id(int(n)) for n in themes["node"]]
    themes.insert(1, "topics", [t.tolist() for t in tree.topics])
    return topics, themes


def _info(
    period: str,
    partial: dict[pd.Timestamp, str],
    win: Windows,
    totals: np.ndarray,
    grid: pd.DatetimeIndex,
    phi: float,
    cfg: TrendsConfig,
    skipped: np.ndarray,
    topics: pd.DataFrame,
) -> dict[str, Any]:
    """The manifest's ``trends`` block for the topics."""
    return {
        "period": period,
        "partial_periods": [
            {"period_start": str(ts.date()), "reason": why} for ts, why in sorted(partial.items())
        ],
        "complete_periods": len(win.complete),
        "recent_window": _window_info(win.recent, period, totals, grid),
        "previous_window": _window_info(win.previous, period, totals, grid),
        "dispersion": round(phi, 4),
        "variance_inflation": round(max(1.0, phi), 4),
        "smoothing": cfg.smoothing,
        "alpha": cfg.alpha,
        "multiple_testing": "Benjamini-Hochberg across topics and hierarchy nodes",
        "note": win.note,
        "first_seen_skipped": {
            str(t): int(n) for t, n in zip(topics["topic"], skipped, strict=True) if n
        },
        "categories": {c: int((topics["category"] == c).sum()) for c in CATEGORIES},
    }


def _testable(
    grid: pd.DatetimeIndex, win: Windows, totals: np.ndarray, phi: float, cfg: TrendsConfig
) -> tuple[float, float]:
    """The support below which a unit is ``too few documents`` (the larger of
    ``min_support`` and the documents the test needs to see the share double or halve,
    whichever needs fewer), and the support a unit needs to be called ``declining`` or
    ``fading`` (to see it halve: with a recent window smaller than the previous one, a
    fall takes more documents to show than a rise)."""
    nr = float(totals[grid.isin(win.recent)].sum())
    np_ = float(totals[grid.isin(win.previous)].sum())
    up = detectable_support(nr, np_, phi, cfg.alpha, cfg.strong_growth)
    down = detectable_support(nr, np_, phi, cfg.alpha, -cfg.strong_growth)
    return max(float(cfg.min_support), min(up, down)), max(float(cfg.min_support), down)


def _no_trends(period: str) -> TrendsResult:
    """The result for a corpus without a dated document in any topic: no rows, a note."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in TREND_COLUMNS})
    note = "no dated documents in any topic"
    info = {"period": period, "partial_periods": [], "complete_periods": 0, "note": note}
    themes = pd.DataFrame({c: pd.Series(dtype=object) for c in THEME_COLUMNS})
    return TrendsResult(empty, {}, Windows([], [], [], note=note), info, themes)


def _long_run_slope(
    grid: pd.DatetimeIndex, win: Windows, counts: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Each topic's share slope per year over the complete periods with documents."""
    comp = grid.isin(win.complete) & (totals > 0)
    if comp.sum() < 2:
        return np.full(len(counts), np.nan)
    t_years = ((grid[comp] - grid[comp][0]).days.to_numpy() / 365.25).astype(float)
    shares = counts[:, comp] / totals[comp]
    return wls_slope(t_years, shares, totals[comp])


def _score_windows(
    table: pd.DataFrame,
    grid: pd.DatetimeIndex,
    win: Windows,
    counts: np.ndarray,
    totals: np.ndarray,
    k: int,
    cfg: TrendsConfig,
    n_topics: int,
) -> float:
    """Fill the recent-vs-previous columns of ``table``; return the dispersion used.

    ``counts`` holds the topics' rows, then the nodes'. The dispersion comes from the
    topics alone (a node's counts are sums of theirs, so counting them again would weigh
    the same documents twice); the q-values adjust across every row.
    """
    rmask = grid.isin(win.recent)
    pmask = grid.isin(win.previous)
    xr, xp = counts[:, rmask].sum(axis=1), counts[:, pmask].sum(axis=1)
    nr, np_ = float(totals[rmask].sum()), float(totals[pmask].sum())
    phi = dispersion([(counts[:n_topics, m], totals[m]) for m in (pmask, rmask)])
    growth, lo, hi, p = share_ratio_test(xr, xp, nr, np_, k, cfg.smoothing, phi, cfg.alpha)
    table["recent_count"] = xr
    table["previous_count"] = xp
    table["recent_share"] = xr / nr
    table["previous_share"] = xp / np_
    table["growth"] = growth
    table["growth_ci_low"] = lo
    table["growth_ci_high"] = hi
    table["p_value"] = p
    table["q_value"] = benjamini_hochberg(p)
    return phi


def _window_info(
    periods: list[pd.Timestamp], period: str, totals: np.ndarray, grid: pd.DatetimeIndex
) -> dict[str, Any] | None:
    if not periods:
        return None
    mask = grid.isin(periods)
    return {
        "start": str(periods[0].date()),
        "end": str((period_end(periods[-1], period) - pd.Timedelta(days=1)).date()),
        "periods": len(periods),
        "documents": int(totals[mask].sum()),
    }


def categorise(
    table: pd.DataFrame,
    win: Windows,
    cfg: TrendsConfig,
    testable: tuple[float, float] | None = None,
    n_topics: int | None = None,
) -> pd.Series:
    """One word per unit (topic or hierarchy node); the first rule that holds wins.

    1. ``new``: first document inside the recent window, and ``min_support`` recent documents.
    2. ``too few documents``: fewer documents in the two windows together than
       ``testable[0]`` (default ``min_support``): the larger of ``min_support`` and what
       the test needs to see the share double or halve (``_testable``); and a unit that
       would be ``fading`` or ``declining`` with fewer than ``testable[1]``, what it needs
       to see the share halve. Such a unit is neither
       evidence of a trend nor of none, so it is not called ``stable`` either, nor anything
       else: a steady 21-paper fragment is never ``declining`` by chance. The theme it
       belongs to (a hierarchy node) has the documents to carry a call.
    3. ``emerging``: q < strong_alpha, growth >= strong_growth, and a previous share no
       larger than the median previous share of the topics (the first ``n_topics`` rows):
       it was small.
    4. ``rising``: q < alpha and growth > 0 and growth >= min_growth.
    5. ``fading``: q < strong_alpha and growth <= -strong_growth.
    6. ``declining``: q < alpha and growth < 0 and growth <= -min_growth.
    7. ``stable`` otherwise: a significant change smaller than ``min_growth`` (the
       effect-size floor) is not a trend.
    """
    n = len(table)
    cat = np.array(["stable"] * n, dtype=object)
    if not win.ok or n == 0:
        return pd.Series(cat, index=table.index)
    rc = table["recent_count"].to_numpy()
    support = rc + table["previous_count"].to_numpy()
    g = table["growth"].to_numpy()
    q = table["q_value"].to_numpy()
    sig = q < cfg.alpha
    sure = q < cfg.strong_alpha
    prev = table["previous_share"].to_numpy()
    small = prev <= np.median(prev[: n_topics or n])
    floor, floor_down = testable or (cfg.min_support, cfg.min_support)
    enough = support >= floor
    fs = table["first_seen"]
    is_new = (fs >= win.recent[0]).to_numpy() & (rc >= cfg.min_support)
    rules = [
        (is_new, "new"),
        (~enough, TOO_FEW),
        (sure & (g >= cfg.strong_growth) & small, "emerging"),
        (sig & (g > 0) & (g >= cfg.min_growth), "rising"),
        (sig & (g < 0) & (g <= -cfg.min_growth) & (support < floor_down), TOO_FEW),
        (sure & (g <= -cfg.strong_growth), "fading"),
        (sig & (g < 0) & (g <= -cfg.min_growth), "declining"),
    ]
    done = np.zeros(n, dtype=bool)
    for mask, name in rules:
        hit = mask & ~done
        cat[hit] = name
        done |= hit
    return pd.Series(cat, index=table.index)


# ---------------------------------------------------------------------- keywords per period
def run(ctx: Context) -> dict[str, Any]:
    """The trends stage: one row of trend scores per topic, and the windows used."""
    i = ctx.inputs
    result = compute_trends(
        i["dates"],
        ctx.get("labels"),
        i["period"],
        ctx.cfg.trends,
        precisions=i["precisions"],
        hierarchy=hierarchy_of(ctx),
    )
    return {"trends": result.table, "themes": result.themes, "info": result.info}
