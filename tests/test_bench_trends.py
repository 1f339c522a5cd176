"""The baselines of bench/trends.py on hand-made count series: each calls what it should."""

from __future__ import annotations

import importlib.util

import pandas as pd

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("bench_trends", REPO / "bench" / "trends.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _counts(series: dict[int, list[int]], total: int = 200) -> pd.DataFrame:
    periods = pd.date_range("2000", periods=len(next(iter(series.values()))), freq="YS")
    return pd.DataFrame(
        [
            {"topic": t, "period_start": p, "count": c, "period_total": total}
            for t, cs in series.items()
            for p, c in zip(periods, cs, strict=True)
        ]
    )


FLAT = [10] * 12


def test_kleinberg_calls_a_burst_in_the_last_periods_only() -> None:
    counts = _counts({0: FLAT, 1: [5] * 10 + [30, 30], 2: [5] * 4 + [30, 30] + [5] * 6})
    assert bench.kleinberg_calls(counts) == {1: "rising"}


def test_bertrend_calls_a_topic_whose_signal_class_rose_or_fell() -> None:
    series = {t: FLAT for t in range(6)}
    series[6] = [0] * 9 + [40, 40, 40]  # from nothing to a strong signal
    series[7] = [60] * 3 + [0] * 9  # a strong signal that stopped (it decays slowly)
    calls = bench.bertrend_calls(_counts(series))
    assert calls.get(6) == "rising" and calls.get(7) == "fading"
    assert not {t for t in range(6) if t in calls}


def test_planted_shares_ramp_to_the_strength() -> None:
    years = list(range(2000, 2014))
    rising = bench.shares("rising", years, 2.5)
    fading = bench.shares("fading", years, 2.5)
    burst = bench.shares("bursting", years, 2.5)
    b = bench.BASE_SHARE
    assert rising[2000] == b and abs(rising[2013] - 2.5 * b) < 1e-12
    assert abs(fading[2000] - 2.5 * b) < 1e-12 and abs(fading[2013] - b) < 1e-12
    assert [y for y, s in burst.items() if s > b] == [2012, 2013]


def test_a_planted_topic_split_in_two_is_found_by_the_node_that_merges_them() -> None:
    planted = {"rising": {1: 40, 2: 40, -1: 20}, "fading": {3: 90, -1: 10}, "bursting": {}}
    sizes = {1: 50, 2: 45, 3: 200, 4: 80}
    # The node over topics 1 and 2 holds 80% of the rising documents: found, and right.
    node = bench.score({(1, 2): "rising"}, planted, sizes)
    assert node == {"tp": 1, "fp": 0, "found": ["rising"]}
    # Topic 1 alone holds 40%: not found, but a right call (most of it is planted rising).
    assert bench.score({(1,): "rising"}, planted, sizes) == {"tp": 1, "fp": 0, "found": []}
    # Topic 3 holds 90% of the fading documents but is called rising; topic 4 is unplanted.
    assert bench.score({(3,): "rising", (4,): "fading"}, planted, sizes)["tp"] == 0


def test_planted_topics_have_the_same_number_of_documents_in_every_corpus() -> None:
    thin = pd.Series({y: 20 for y in range(1946, 2026)})
    thick = pd.Series({y: 50 * (y - 2010) for y in range(2012, 2026)})
    for volume in (thin, thick):
        for kind in bench.PLANTED:
            counts = bench.planted_counts(kind, volume, 2.5)
            assert abs(sum(counts.values()) - bench.PLANTED_DOCS) < 1e-9
    rising = bench.planted_counts("rising", thin, 2.5)
    assert abs(rising[2025] / rising[1946] - 2.5) < 1e-9  # same volume: the ratio is r


def _planted_docs(per_year: dict[str, list[int]], base: int = 100) -> pd.DataFrame:
    """Documents of 14 years: ``base`` unplanted a year, and each kind's planted counts."""
    years = list(range(2012, 2026))
    rows = [{"id": f"base-{y}-{j}", "year": y} for y in years for j in range(base)]
    for kind, counts in per_year.items():
        for y, n in zip(years, counts, strict=True):
            rows += [{"id": f"plant-{kind}-{y}-{j}", "year": y} for j in range(n)]
    return pd.DataFrame(rows)


def test_the_oracle_finds_a_planted_change_only_when_the_counts_carry_it() -> None:
    onset = 2025 - bench.RAMP + 1  # the first of the last RAMP years
    strong = _planted_docs(
        {"rising": [2] * 8 + [6, 8, 10, 12, 14, 16], "fading": [12] * 8 + [10, 8, 6, 4, 2, 1]}
    )
    assert bench.oracle_found(strong, onset, units=40) == ["rising", "fading"]
    flat = _planted_docs({"rising": [3] * 14, "fading": [3] * 14, "bursting": [3] * 14})
    assert bench.oracle_found(flat, onset, units=40) == []
    # A change in the other direction is not the planted one: a "fading" plant that rose.
    backwards = _planted_docs({"fading": [2] * 8 + [6, 8, 10, 12, 14, 16]})
    assert bench.oracle_found(backwards, onset, units=40) == []
    # The same rise among a thousand tested units is not significant at alpha / units.
    weak = _planted_docs({"rising": [2] * 8 + [4, 4, 5, 5, 6, 6]})
    assert bench.oracle_found(weak, onset, units=2) == ["rising"]
    assert bench.oracle_found(weak, onset, units=1000) == []
    # A burst is not tested in a cut that ends before it began.
    burst = _planted_docs({"bursting": [2] * 12 + [20, 20]})
    assert bench.oracle_found(burst, onset, units=40) == ["bursting"]
    early = burst[burst["year"] < onset + bench.RAMP - bench.BURST]
    assert bench.oracle_found(early, onset, units=40) == []


def test_the_oracle_power_grows_with_the_strength_and_is_nil_without_a_change() -> None:
    years = [y for y in range(2000, 2014) for _ in range(200)]
    base = pd.DataFrame({"id": [f"b{i}" for i in range(len(years))], "year": years})
    none = bench.oracle_power(base, 1.0, 150, units=40, draws=50)
    strong = bench.oracle_power(base, 4.0, 400, units=40, draws=50)
    assert max(none.values()) <= 0.04  # no change: a rare chance find at most
    assert min(strong.values()) >= 0.9
    weak = bench.oracle_power(base, 1.5, 150, units=40, draws=50)
    assert all(weak[k] < strong[k] for k in bench.PLANTED)


def test_recall_counts_planted_topics_found_not_right_calls() -> None:
    # Two fragments of the rising plant, each mostly planted documents: two right calls,
    # neither holding most of the plant, then a node that does: one plant found of three.
    right = {"tp": 3, "fp": 1, "found": ["rising"]}
    none = {"tp": 0, "fp": 0, "found": []}
    by_cutoff = {k: {"topictrends": none} for k in bench.CUTOFFS}
    by_cutoff[bench.RAMP] = {"topictrends": right}
    rows = bench.summary([{"strength": "moderate", "by_cutoff": by_cutoff}], {})
    row = next(r for r in rows if r["detector"] == "topictrends")
    assert row["precision"] == 0.75 and row["recall"] == round(1 / 3, 3)
    assert row["lag"] == bench.RAMP  # found at the last cut-off only
