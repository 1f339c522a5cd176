"""Trend statistics: planted trends are found, a permuted-date null finds none, and the parts
(partial periods, windows, smoothing, Benjamini-Hochberg, per-period keywords) behave.

The planted and null tests use the planted labels as the topic assignment, so they test the
statistics alone and run in about a second; test_trends_e2e.py runs the whole pipeline.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from pipeline.config import TrendsConfig
from pipeline.periods import period_grid
from pipeline.stages.trends import (
    benjamini_hochberg,
    choose_windows,
    compute_trends,
    partial_periods,
)
from pipeline.store.contract import CATEGORIES, TOO_FEW, TREND_COLUMNS
from tests.trends_planted import planted_corpus

NULL_SEEDS = range(30)


def _trends_by_label(docs: pd.DataFrame, period: str = "week", cfg: TrendsConfig | None = None):
    codes, names = pd.factorize(docs["label"], sort=True)
    dates = pd.to_datetime(docs["date"])
    result = compute_trends(
        dates, codes, period, cfg or TrendsConfig(), precisions=pd.Series(["day"] * len(docs))
    )
    table = result.table.copy()
    table["label"] = np.asarray(names)[table["topic"]]
    table["role"] = table["label"].map(docs.groupby("label")["role"].first())
    return table, result


@pytest.mark.parametrize("period", ["week", "month"])
def test_planted_trends_are_found(period: str) -> None:
    table, result = _trends_by_label(planted_corpus(seed=0), period)
    print(f"\nplanted trends by {period}:")
    print(
        table.sort_values("growth", ascending=False)[
            [
                "label",
                "role",
                "recent_count",
                "previous_count",
                "growth",
                "q_value",
                "slope",
                "category",
            ]
        ].to_string(index=False, float_format=lambda v: f"{v:.3g}")
    )
    by_role = {role: g for role, g in table.groupby("role")}
    risers, fallers, steady = by_role["riser"], by_role["faller"], by_role["steady"]
    late = by_role["late"].iloc[0]

    # Ranking: every riser above every steady topic and every faller below, by growth. The
    # slope is in share per year, so it scales with a topic's size: risers rank above the
    # steady topics by it too, but it only has to have the right sign for the fallers (a
    # big steady topic loses more share to the late topic than a small faller can).
    assert risers["growth"].min() > steady["growth"].max()
    assert fallers["growth"].max() < steady["growth"].min()
    assert risers["slope"].min() > steady["slope"].max()
    assert (fallers["slope"] < 0).all() and late["slope"] > 0
    # Categories.
    assert set(risers["category"]) <= {"rising", "emerging"}
    assert set(fallers["category"]) <= {"declining", "fading"}
    assert late["category"] in {"new", "emerging"}
    assert late["previous_count"] == 0 and late["first_seen"] >= result.windows.recent[0]
    steady_cats = Counter(steady["category"])
    assert steady_cats["emerging"] == steady_cats["fading"] == steady_cats["new"] == 0, steady_cats
    assert steady_cats["stable"] >= len(steady) - 1, steady_cats
    # Intervals cover the estimate and exclude 0 exactly when p < alpha (one test gives
    # both); q >= p; the planted trends are significant.
    assert (table["growth_ci_low"] <= table["growth"]).all()
    assert (table["growth"] <= table["growth_ci_high"]).all()
    excludes_zero = (table["growth_ci_low"] > 0) | (table["growth_ci_high"] < 0)
    assert (excludes_zero == (table["p_value"] < 0.05)).all()
    assert (table["q_value"] >= table["p_value"] - 1e-12).all()
    assert (pd.concat([risers, fallers])["q_value"] < 0.05).all()
    # Shares are of all documents in the window, so they sum to at most 1 over the topics.
    assert table["recent_share"].sum() <= 1 + 1e-9
    assert list(result.table.columns) == list(TREND_COLUMNS)


def test_the_span_edges_are_partial_and_left_out() -> None:
    docs = planted_corpus(seed=0)
    _, result = _trends_by_label(docs, "month")
    # The span runs from 17 March to 8 November: both edge months are partial.
    assert [str(p.date()) for p in sorted(result.partial)] == ["2021-03-01", "2023-11-01"]
    assert str(result.windows.complete[0].date()) == "2021-04-01"
    assert str(result.windows.complete[-1].date()) == "2023-10-01"
    assert result.windows.recent[-1] == result.windows.complete[-1]
    assert result.windows.previous[0] == result.windows.complete[0]
    assert result.info["recent_window"]["end"] == "2023-10-31"


def test_null_permuted_dates_find_no_strong_trends() -> None:
    """Same documents, dates permuted: no topic may be emerging or fading, across seeds."""
    cats: Counter[str] = Counter()
    significant = 0
    n = 0
    for seed in NULL_SEEDS:
        table, result = _trends_by_label(planted_corpus(seed=seed, permute=True), "week")
        cats.update(table["category"])
        significant += int((table["p_value"] < 0.05).sum())
        n += len(table)
        assert not table["category"].isin(["emerging", "fading"]).any(), table[
            table["category"] != "stable"
        ]
        assert result.info["dispersion"] < 1.2
    rates = {c: cats[c] / n for c in CATEGORIES}
    print(
        f"\nnull ({len(NULL_SEEDS)} seeds x {n // len(NULL_SEEDS)} topics = {n} topic tests): category rates {rates}; unadjusted p < 0.05 in {significant / n:.3f}"
    )
    assert rates["new"] == 0
    assert rates["rising"] + rates["declining"] <= 0.02
    # The unadjusted test is calibrated (about 5% at p < 0.05 under the null), not wildly off.
    assert 0.01 <= significant / n <= 0.08


def test_growing_corpus_alone_makes_nothing_rise() -> None:
    """Volume triples over the span but every topic keeps its share: all stable, growth ~ 0."""
    rng = np.random.default_rng(3)
    days = np.arange(730)
    per_day = rng.poisson(2 + 4 * days / 730)
    dates = pd.Series(
        pd.Timestamp("2022-01-03") + pd.to_timedelta(np.repeat(days, per_day), unit="D")
    )
    labels = rng.choice(6, size=len(dates), p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    result = compute_trends(dates, labels, "month", TrendsConfig())
    assert sorted(result.table["topic"]) == list(range(6))
    assert (result.table["category"] == "stable").all()
    assert result.table["growth"].abs().max() < 0.3
    assert (
        result.info["recent_window"]["documents"] > result.info["previous_window"]["documents"] / 4
    )


def test_smoothing_gives_zero_growth_for_equal_shares_and_empty_topics() -> None:
    # 100 documents before, 300 after; topic 0 holds 10% in both, topic 2 has no dated document.
    dates = pd.Series(pd.to_datetime(["2020-01-01"] * 100 + ["2020-02-01"] * 300))
    labels = np.array([0] * 10 + [1] * 90 + [0] * 30 + [1] * 270)
    labels = np.append(labels, 2)
    dates = pd.concat([dates, pd.Series([pd.NaT])], ignore_index=True)
    cfg = TrendsConfig(recent_periods=1)
    table = compute_trends(
        dates, labels, "month", cfg, precisions=pd.Series(["month"] * 400 + [None])
    ).table
    assert table.loc[0, "growth"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc[2, "growth"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc[2, "category"] == TOO_FEW and pd.isna(table.loc[2, "first_seen"])


def test_a_topic_absent_from_one_window_is_still_testable() -> None:
    """15 of 1000 recent documents against 0 of 1000 before: clearly significant."""
    dates = pd.Series(pd.to_datetime(["2020-01-01"] * 1000 + ["2020-02-01"] * 1000))
    labels = np.array([1] * 1000 + [0] * 15 + [1] * 985)
    cfg = TrendsConfig(recent_periods=1)
    table = compute_trends(
        dates, labels, "month", cfg, precisions=pd.Series(["month"] * 2000)
    ).table
    row = table.loc[0]
    assert row["p_value"] < 1e-4 and row["growth_ci_low"] > 1 and np.isfinite(row["growth_ci_high"])
    assert row["category"] == "new"  # first seen in the recent window, 15 >= min_support


def test_no_topics_or_no_dates_give_an_empty_table_with_a_note() -> None:
    dates = pd.Series([pd.NaT] * 5)
    result = compute_trends(dates, np.zeros(5, dtype=int), "month", TrendsConfig())
    assert result.table.empty and list(result.table.columns) == list(TREND_COLUMNS)
    assert result.info["note"] and result.info["partial_periods"] == []


def test_benjamini_hochberg_matches_scipy() -> None:
    from scipy.stats import false_discovery_control

    p = np.random.default_rng(0).uniform(size=40) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    q = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(q[1]) and q[0] == pytest.approx(0.02) and q[2] == pytest.approx(0.04)


def test_partial_period_rules() -> None:
    # Month-precision dates cover their whole month: never partial by their dates.
    months = pd.Series(
        pd.to_datetime([f"2022-{m:02d}-01" for m in range(1, 13) for _ in range(20)])
    )
    assert partial_periods(months, pd.Series(["month"] * len(months)), "month") == {}
    # Daily data from 20 January to 10 December: both edge months are partial by their dates.
    days = pd.Series(pd.date_range("2022-01-20", "2022-12-10", freq="D").repeat(3))
    got = partial_periods(days, None, "month")
    assert sorted(str(p.date()) for p in got) == ["2022-01-01", "2022-12-01"]
    assert "first period" in got[pd.Timestamp("2022-01-01")]
    # A full last month holding far fewer documents than its neighbours (an incomplete scrape).
    counts = [30] * 11 + [4]
    scrape = pd.Series(
        pd.to_datetime([f"2022-{m + 1:02d}-01" for m, c in enumerate(counts) for _ in range(c)])
    )
    got = partial_periods(scrape, pd.Series(["month"] * len(scrape)), "month")
    assert list(got) == [pd.Timestamp("2022-12-01")] and "median" in got[pd.Timestamp("2022-12-01")]
    # A sparse corpus (a few documents a month) is not cut for a low edge count by chance.
    sparse_counts = [3, 2, 4, 3, 1]
    sparse = pd.Series(
        pd.to_datetime(
            [f"2022-{m + 1:02d}-01" for m, c in enumerate(sparse_counts) for _ in range(c)]
        )
    )
    assert partial_periods(sparse, pd.Series(["month"] * len(sparse)), "month") == {}


def test_windows_auto_and_overrides() -> None:
    grid = period_grid(pd.Timestamp("2020-01-01"), pd.Timestamp("2021-12-01"), "month")
    totals = np.full(len(grid), 50.0)
    partial = {grid[0], grid[-1]}
    w = choose_windows(grid, totals, partial, TrendsConfig())
    assert len(w.complete) == 22 and w.complete[0] == grid[1] and w.complete[-1] == grid[-2]
    assert len(w.recent) == 4  # round(0.2 * 22) periods already hold 200 >= 100 documents
    assert w.previous == w.complete[:18]
    sparse = choose_windows(grid, np.full(len(grid), 5.0), partial, TrendsConfig())
    assert len(sparse.recent) == 11  # grown towards 100 documents, capped at half the periods
    fixed = choose_windows(
        grid, totals, partial, TrendsConfig(recent_periods=3, previous_periods=6)
    )
    assert fixed.recent == w.complete[-3:] and fixed.previous == w.complete[-9:-3]
    short = choose_windows(grid[:3], totals[:3], {grid[0], grid[2]}, TrendsConfig())
    assert not short.ok and "complete period" in short.note


def test_too_few_periods_gives_stable_topics_without_scores() -> None:
    dates = pd.Series(pd.to_datetime(["2023-05-10"] * 30))
    result = compute_trends(dates, np.arange(30) % 3, "month", TrendsConfig())
    assert sorted(result.table["topic"]) == [0, 1, 2]
    assert (result.table["category"] == "stable").all()
    assert result.table["growth"].isna().all()
    assert result.info["recent_window"] is None and result.info["note"]


def test_a_gap_before_a_small_late_period_leaves_no_empty_window() -> None:
    # Five busy months, six empty ones, then one document on the 1st of a month (complete,
    # so the recent window is all empty months): it used to divide by zero.
    busy = pd.date_range("2020-01-01", periods=5, freq="MS").repeat(20)
    dates = pd.Series([*busy, pd.Timestamp("2020-12-01")])
    labels = np.arange(len(dates)) % 3
    precisions = pd.Series(["day"] * len(dates))
    result = compute_trends(dates, labels, "month", TrendsConfig(), precisions=precisions)
    assert sorted(result.table["topic"]) == [0, 1, 2]
    assert result.table["growth"].isna().all()
    assert (result.table["category"] == "stable").all()
    assert "holds no documents" in result.info["note"]
    assert result.info["recent_window"] is None


def test_a_misdated_document_does_not_move_first_seen() -> None:
    """One paper of the late label dated two years before the label's papers (issue 18's
    "gpt models" in 1994): first_seen and 'new' ignore it; the growth still counts it."""
    docs = planted_corpus(seed=0)
    late = docs.index[docs["role"] == "late"]
    clean, clean_result = _trends_by_label(docs)
    docs.loc[late[0], "date"] = "2021-04-14"
    table, result = _trends_by_label(docs)
    row = table.set_index("label").loc[docs.loc[late[0], "label"]]
    before = clean.set_index("label").loc[row.name]
    assert row["previous_count"] == 1
    assert row["first_seen"] == before["first_seen"] >= result.windows.recent[0]
    assert row["category"] == "new"
    assert result.info["first_seen_skipped"] == {str(row["topic"]): 1}
    # Every other label keeps its first period.
    others = table["label"] != row.name
    assert (table.loc[others, "first_seen"] == clean.loc[others, "first_seen"]).all()


def test_a_significant_but_tiny_change_is_not_a_trend() -> None:
    """100,000 documents a month: a share moving from 10% to 10.6% (growth 0.058) is highly
    significant, but below the effect-size floor (min_growth) it is not called a trend."""
    n = 100_000
    dates = pd.Series(pd.to_datetime(["2020-01-01"] * n + ["2020-02-01"] * n))
    sizes = [(10_000, 10_000), (80_000, 80_000 - 1_200), (10_000, 10_600), (0, 600)]
    before = np.concatenate([np.full(a, t) for t, (a, _) in enumerate(sizes)])
    after = np.concatenate([np.full(b, t) for t, (_, b) in enumerate(sizes)])
    labels = np.concatenate([before, after])
    precisions = pd.Series(["month"] * (2 * n))
    floor = TrendsConfig(recent_periods=1)
    no_floor = TrendsConfig(recent_periods=1, min_growth=0.0)
    with_floor = compute_trends(dates, labels, "month", floor, precisions=precisions).table
    without = compute_trends(dates, labels, "month", no_floor, precisions=precisions).table
    assert with_floor.loc[2, "q_value"] < 1e-3 and 0.05 < with_floor.loc[2, "growth"] < 0.07
    assert without.loc[2, "category"] == "rising" and without.loc[1, "category"] == "declining"
    assert with_floor.loc[2, "category"] == "stable" and with_floor.loc[1, "category"] == "stable"
    assert with_floor.loc[3, "category"] == "new"  # a real change is still called
