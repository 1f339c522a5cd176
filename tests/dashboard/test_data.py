"""dashboard.data: run loading and the aggregations behind the pages (no Streamlit)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from dashboard import data
from dashboard.data import RunData
from pipeline.errors import CacheError


def test_list_runs_names_every_run_directory(dashboard_runs):
    names = [r.name for r in data.list_runs(dashboard_runs.root)]
    assert names == sorted(
        ["arxiv", "broken", "evil", "trending", "updates", "refits", "evil-updates"]
    )


def test_list_runs_of_an_empty_root_is_empty(empty_root):
    assert data.list_runs(empty_root) == []


def test_docs_are_prepared_once_with_labels_and_safe_links(dated_run):
    docs = dated_run.docs
    assert docs is dated_run.docs  # read once, then kept
    assert {"topic_label", "date_str"} <= set(docs.columns)
    outliers = docs[docs["topic"] == data.OUTLIER]
    assert len(outliers) and (outliers["topic_label"] == data.OUTLIER_LABEL).all()
    labelled = docs[docs["topic"] >= 0].iloc[0]
    assert labelled["topic_label"] == dated_run.labels[int(labelled["topic"])]
    assert docs["url"].notna().any()
    assert docs["url"].map(lambda u: u is None or u.startswith("http")).all()
    assert docs["date_str"].str.fullmatch(r"\d{4}-\d{2}").all()  # arXiv dates are months


def test_javascript_links_are_dropped(dashboard_runs):
    evil = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.evil)
    assert evil.docs["url"].iloc[1] is None
    assert data.safe_url("javascript:alert(1)") is None
    assert data.safe_url(" https://arxiv.org/abs/1 ") == "https://arxiv.org/abs/1"
    assert data.safe_url(float("nan")) is None


def test_damaged_artifact_raises_cache_error_with_rebuild_command(dashboard_runs):
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.broken)
    with pytest.raises(
        CacheError, match=r"documents\.parquet: checksum mismatch.*topictrends build"
    ):
        _ = run.docs


def test_missing_optional_artifact_fails_only_where_used(dashboard_runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree((dashboard_runs.root / "runs" / dashboard_runs.dated).resolve(), copy)
    (copy / "hierarchy.parquet").unlink()
    run = RunData.open(copy)
    assert len(run.docs) == 300  # the core tables still load
    with pytest.raises(CacheError, match=r"hierarchy\.parquet: missing"):
        _ = run.hierarchy


def test_date_strings_follow_precision():
    dates = pd.Series(pd.to_datetime(["2024-03-05", "2024-03-01", "2024-01-01", None]))
    prec = pd.Series(["day", "month", "year", None], dtype=object)
    assert data.date_strings(dates, prec).tolist() == ["2024-03-05", "2024-03", "2024", ""]


def _over_time(rows: list[tuple[int, str, int]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["topic", "period_start", "count"])
    df["period_start"] = pd.to_datetime(df["period_start"])
    df["period_total"] = df.groupby("period_start")["count"].transform("sum")
    df["share"] = df["count"] / df["period_total"]
    return df


def test_share_change_compares_recent_with_previous_windows():
    ot = _over_time(
        [
            (0, "2020-01-01", 8),
            (1, "2020-01-01", 2),
            (0, "2021-01-01", 8),
            (1, "2021-01-01", 2),
            (0, "2022-01-01", 2),
            (1, "2022-01-01", 8),
            (-1, "2022-01-01", 10),
        ]
    )
    ch = data.share_change(ot, window=1).set_index("topic")
    assert ch.loc[1, "recent_share"] == pytest.approx(8 / 20)
    assert ch.loc[1, "previous_share"] == pytest.approx(2 / 10)
    assert ch.loc[0, "change"] == pytest.approx(2 / 20 - 8 / 10)
    assert -1 not in ch.index


def test_movers_fall_back_to_share_change_without_trends(dated_run):
    m = data.movers(dated_run.topics, None, dated_run.over_time, n=3)
    assert m.source == "share change"
    assert len(m.rising) and len(m.fading)
    assert (m.rising["change"] > 0).all() and (m.fading["change"] < 0).all()
    assert list(m.rising["change"]) == sorted(m.rising["change"], reverse=True)


def test_movers_use_trend_scores_when_present(dated_run):
    assert dated_run.trends is not None
    trends = dated_run.trends.copy()
    trends["category"] = "stable"
    trends.loc[trends["topic"] == 3, ["category", "growth"]] = ["rising", 0.1]
    trends.loc[trends["topic"] == 4, ["category", "growth"]] = ["stable", 2.0]
    m = data.movers(dated_run.topics, trends, dated_run.over_time, n=3)
    assert m.source == "trends"
    assert m.rising["topic"].iloc[0] == 3  # significant movers first, however small
    assert 4 in set(m.rising["topic"])
    assert len(m.fading) and (m.fading["growth"] < 0).all()


def test_biggest_movers_fill_up_with_the_largest_topics(dated_run):
    picked = data.biggest_movers(dated_run.topics, dated_run.trends, dated_run.over_time, n=5)
    assert len(picked) == len(set(picked)) == 5
    empty = data.biggest_movers(dated_run.topics, None, None, n=3)
    assert empty == data.top_topics_by_size(dated_run.topics, 3)


def test_nearest_topics_by_cosine():
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    near = data.nearest_topics(emb, 0, k=2)
    assert [t for t, _ in near] == [1, 2]
    assert near[0][1] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    assert data.nearest_topics(emb, 9) == []


def test_representative_docs_keep_the_stored_order(dated_run):
    t = int(dated_run.topics["topic"].iloc[0])
    rep = data.representative_docs(dated_run.docs, dated_run.topics, t)
    ids = [str(i) for i in dated_run.topics.iloc[0]["representative_doc_ids"]]
    assert rep["doc_id"].astype(str).tolist() == ids


def test_topics_table_search_and_sparklines(dated_run):
    full = data.topics_table(dated_run.topics, dated_run.over_time, dated_run.trends)
    assert len(full) == len(dated_run.topics)
    assert {"share_over_time", "category", "growth"} <= set(full.columns)
    n_periods = dated_run.over_time["period_start"].nunique()
    assert all(len(s) == n_periods for s in full["share_over_time"])
    word = str(dated_run.topics["keywords"].iloc[0][0])
    hits = data.topics_table(dated_run.topics, None, None, query=word.upper())
    assert 0 < len(hits) <= len(full) and "share_over_time" not in hits.columns
    assert data.topics_table(dated_run.topics, None, None, query="zzzz-nothing").empty


def test_allowed_periods_respect_date_precision():
    months = pd.DataFrame(
        {"date": pd.to_datetime(["2020-01-01", "2021-06-01"]), "date_precision": ["month", "month"]}
    )
    assert data.allowed_periods(months) == ["month", "quarter", "year", "decade"]
    days = pd.DataFrame(
        {"date": pd.to_datetime(["2020-01-03", "2020-03-05"]), "date_precision": ["day", "day"]}
    )
    assert data.allowed_periods(days)[0] == "week"
    years = pd.DataFrame(
        {"date": pd.to_datetime(["1800-01-01", "2020-01-01"]), "date_precision": ["year", "year"]}
    )
    assert data.allowed_periods(years) == ["year", "decade"]
    centuries = pd.DataFrame(
        {"date": pd.to_datetime(["1790-01-08", "2026-02-24"]), "date_precision": ["day", "day"]}
    )
    assert "week" not in data.allowed_periods(centuries)  # 12,000 weekly bins is not a chart
    assert (
        data.allowed_periods(pd.DataFrame({"date": pd.Series([pd.NaT]), "date_precision": [None]}))
        == []
    )


def test_over_time_reaggregates_and_marks_partial_periods(dated_run):
    stored = data.over_time_at(dated_run.docs, "year", dated_run.over_time, "year")
    assert stored.table["count"].sum() == dated_run.docs["date"].notna().sum()
    assert len(stored.partial) == 2  # the fixture starts in November 2010 and ends in November 2019
    quarters = data.over_time_at(dated_run.docs, "quarter", dated_run.over_time, "year")
    assert quarters.table["count"].sum() == stored.table["count"].sum()
    assert len(quarters.table) and quarters.table["period_start"].dt.month.isin([1, 4, 7, 10]).all()
    per_period = quarters.table.groupby("period_start")["share"].sum()
    assert np.allclose(per_period, 1.0)


def test_share_matrix_leaves_empty_periods_as_gaps():
    ot = _over_time([(0, "2020-01-01", 2), (1, "2020-01-01", 2), (0, "2022-01-01", 1)])
    m = data.share_matrix(ot, "year")
    assert list(m.columns.year) == [2020, 2021, 2022]
    assert m.loc[0, pd.Timestamp("2020-01-01")] == 0.5
    assert np.isnan(m.loc[0, pd.Timestamp("2021-01-01")])
    assert m.loc[1, pd.Timestamp("2022-01-01")] == 0.0


def test_hierarchy_tree_links_every_topic_to_the_root(dated_run):
    tree = data.hierarchy_tree(dated_run.hierarchy, dated_run.topics)
    leaves = tree[tree["leaf"]]
    assert sorted(leaves["node"]) == sorted(dated_run.topics["topic"])
    roots = tree[tree["parent"] == -1]
    assert len(roots) == 1
    assert roots["size"].iloc[0] == dated_run.topics["size"].sum()
    nodes = set(tree["node"])
    assert set(tree.loc[tree["parent"] >= 0, "parent"]) <= nodes


def test_hierarchy_tree_without_merges_gets_a_synthetic_root(dated_run):
    tree = data.hierarchy_tree(dated_run.hierarchy.iloc[0:0], dated_run.topics)
    root = tree[~tree["leaf"]]
    assert len(root) == 1 and root["label"].iloc[0] == "All topics"
    assert (tree.loc[tree["leaf"], "parent"] == root["node"].iloc[0]).all()


def test_facet_kinds_and_counts(dated_run):
    assert dated_run.facet_kinds() == {
        "year": "categorical",
        "label": "categorical",
        "all_labels": "categorical",
        "n_labels": "categorical",
    }
    assert data.facet_kind(pd.Series(np.arange(100.0))) == "numeric"
    assert data.facet_kind(pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"]))) == "date"
    assert data.facet_kind(pd.Series([np.nan, np.nan])) is None
    counts = data.facet_counts(pd.Series(["a", "b", "a", None, "c"]), top=2)
    assert counts["value"].tolist() == ["a", "(missing)"]  # ties in value order
    assert counts.attrs == {"others": 2, "n_values": 4}
    years = data.facet_counts(dated_run.docs["year"])
    assert years["value"].tolist() == sorted(years["value"].tolist())  # numbers in order


def test_facet_bins_cover_every_value():
    values = pd.Series(np.arange(1000.0))
    bins = data.facet_bins(values, "numeric", nbins=10)
    assert len(bins) == 10 and bins["count"].sum() == 1000
    ints = data.facet_bins(pd.Series([1, 2, 2, 5]), "numeric")
    assert ints["lo"].tolist() == [1, 2, 3, 4, 5] and ints["count"].tolist() == [1, 2, 0, 0, 1]
    dates = data.facet_bins(
        pd.Series(pd.to_datetime(["2020-01-01", "2020-06-01", None])), "date", nbins=4
    )
    assert dates["count"].sum() == 2 and pd.api.types.is_datetime64_any_dtype(dates["lo"])


def test_movers_brief_is_compact():
    frame = pd.DataFrame(
        {
            "topic": [3],
            "label": ["a · b"],
            "category": ["new"],
            "previous_share": [0.0],
            "recent_share": [0.1234],
        }
    )
    assert data.movers_brief(frame).to_dict("records") == [
        {"topic": 3, "label": "a · b", "trend": "new", "share": "0.0%→12.3%"}
    ]
    no_trend = data.movers_brief(frame.drop(columns="category"))
    assert list(no_trend.columns) == ["topic", "label", "share"]
    assert data.mover_notes(data.movers_brief(frame)) == ["new, 0.0%→12.3%"]
    assert data.mover_notes(no_trend) == ["0.0%→12.3%"]
