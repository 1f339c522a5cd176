"""Trends end to end: the planted-trend corpus through ``pipeline.flows.build``.

The pipeline finds its own topics (hashing embedder, UMAP, HDBSCAN), so each pipeline topic
is mapped to the planted label most of its documents carry. Slower than test_trends.py
(UMAP on ~3000 documents; up to a minute the first time numba compiles in a process).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from pipeline.store.contract import CATEGORIES, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from tests.trends_planted import planted_corpus


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("trends")
    path = tmp / "planted-trends.csv"
    planted_corpus(seed=0).to_csv(path, index=False)
    # The hashing stand-in embedder is itself a bag of words, so the TF-IDF word profile
    # (on by default from 1,000 documents) would count every word twice and split planted
    # labels into fragments whose dates skew by chance; this test is about the trend
    # statistics of label-shaped topics, so it clusters the stand-in embeddings alone.
    cfg = Config().with_overrides(
        {"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2, "lexical_weight": 0.0}}
    )
    store = Store(tmp / "cache")
    result = build(str(path), cfg, store)
    return open_run(result.run_dir), store, path, cfg


def test_planted_trends_survive_the_pipeline(planted_run) -> None:  # noqa: ANN001
    run, _, _, _ = planted_run
    docs = run.read_table("documents.parquet")
    trends = run.read_table("trends.parquet")
    topics = run.read_table("topics.parquet")
    assert len(trends) == len(topics) > 0 and (trends["topic"] >= 0).all()

    # Each pipeline topic stands for the planted label most of its documents carry.
    clustered = docs[docs["topic"] >= 0]
    label = clustered.groupby("topic")["label"].agg(lambda s: s.mode().iloc[0])
    majority = label.map(docs.groupby("label")["role"].first())
    purity = clustered.groupby("topic")["label"].agg(
        lambda s: s.value_counts(normalize=True).iloc[0]
    )
    t = (
        trends.set_index("topic")
        .join(majority.rename("role"))
        .join(label)
        .join(purity.rename("purity"))
    )
    print("\nend-to-end trends (topics mapped to planted labels by majority vote):")
    print(
        t.sort_values("growth", ascending=False)[
            [
                "label",
                "role",
                "purity",
                "recent_count",
                "previous_count",
                "growth",
                "q_value",
                "category",
            ]
        ].to_string(float_format=lambda v: f"{v:.3g}")
    )
    risers, steady = t[t["role"] == "riser"], t[t["role"] == "steady"]
    fallers, late = t[t["role"] == "faller"], t[t["role"] == "late"]
    assert len(risers) and len(steady) and len(fallers) and len(late)

    assert risers["growth"].min() > steady["growth"].max()
    assert late["category"].isin(["new", "emerging"]).all(), late
    # A faller's documents can end up a minority of a mixed topic (40% in one run), whose
    # growth is then mostly that of steady labels: all faller topics shrink, and those made
    # mostly of the faller's documents score below every steady topic.
    assert (fallers["growth"] < 0).all()
    assert fallers.loc[fallers["purity"] > 0.5, "growth"].max() < steady["growth"].min()
    assert not steady["category"].isin(["emerging", "fading", "new"]).any()

    # Headline calls (topics and hierarchy nodes): each riser label's documents are mostly
    # in one unit called rising, and no unit made mostly of steady labels is called.
    hier = run.read_table("hierarchy.parquet")
    units = [([t], c) for t, c, h in trends[["topic", "category", "headline"]].values if h]
    units += [(list(ts), c) for ts, c, h in hier[["topics", "category", "headline"]].values if h]
    for name in docs.loc[docs["role"] == "riser", "label"].unique():
        mine = clustered[clustered["label"] == name]["topic"]
        held = [mine.isin(ts).mean() for ts, c in units if c in ("new", "emerging", "rising")]
        assert max(held, default=0) > 0.5, name
    for ts, _ in units:
        assert (majority.reindex(ts) == "steady").mean() <= 0.5, ts


def test_trend_artifacts_and_manifest(planted_run) -> None:  # noqa: ANN001
    run, _, _, _ = planted_run
    m = run.manifest
    for fname in ("trends.parquet", "topic_keywords_over_time.parquet", "topics_over_time.parquet"):
        df = run.read_table(fname)
        assert set(REQUIRED_COLUMNS[fname]) <= set(df.columns), fname
        assert m["artifacts"][fname]["rows"] == len(df)
    info = m["trends"]
    assert m["trends_absent_reason"] is None
    assert (
        info["recent_window"]["documents"] >= 100
        and info["previous_window"]["periods"] > info["recent_window"]["periods"]
    )
    assert "trends" in m["stage_keys"] and "keywords_over_time" in m["stage_keys"]
    assert info["testable_support"] >= m["config"]["trends"]["min_support"]

    # hierarchy.parquet carries each merge node's scores; the root is not tested; no topic
    # is headlined twice (on its own and under a node, or under two nodes).
    hier, trends = run.read_table("hierarchy.parquet"), run.read_table("trends.parquet")
    assert set(OPTIONAL_COLUMNS["hierarchy.parquet"]) <= set(hier.columns)
    root = hier["parent"] == -1
    assert hier.loc[root, "category"].isna().all() and not hier.loc[root, "headline"].any()
    assert hier.loc[~root, "category"].isin(CATEGORIES).all()
    covered = [set(ts) for ts in hier.loc[hier["headline"], "topics"]]
    covered += [{t} for t in trends.loc[trends["headline"], "topic"]]
    assert sum(map(len, covered)) == len(set().union(*covered))

    # The partial periods of the manifest are the ones flagged in topics_over_time.
    tot = run.read_table("topics_over_time.parquet")
    flagged = sorted({str(p.date()) for p in tot.loc[tot["partial"], "period_start"]})
    assert flagged == sorted(p["period_start"] for p in info["partial_periods"])
    assert flagged, "the planted span starts and ends mid-week"
    last_period = tot["period_start"].max()
    assert tot.loc[tot["period_start"] == last_period, "partial"].all()

    # Per-period keywords: one row per (topic, period) with documents, outliers excluded,
    # counts that agree with topics_over_time.
    kw = run.read_table("topic_keywords_over_time.parquet")
    merged = kw.merge(tot[tot["topic"] >= 0], on=["topic", "period_start"], suffixes=("", "_tot"))
    assert len(merged) == len(kw) == int((tot["topic"] >= 0).sum()) > 0
    assert (merged["count"] == merged["count_tot"]).all()
    assert kw["keywords"].map(len).between(1, m["config"]["trends"]["keywords_per_period"]).all()


def test_trend_knob_recomputes_only_trends(planted_run) -> None:  # noqa: ANN001
    _, store, path, cfg = planted_run
    changed = cfg.with_overrides({"trends": {"recent_periods": 10}})
    result = build(str(path), changed, store)
    t = result.timings
    for stage in ("embed", "reduce", "cluster", "represent", "hierarchy"):
        assert t[stage]["cached"], stage
    assert not t["trends"]["cached"]
    assert result.manifest["trends"]["recent_window"]["periods"] == 10


def test_class_tfidf_equals_bertopic() -> None:
    from bertopic.vectorizers import ClassTfidfTransformer
    from scipy import sparse

    from pipeline.stages.keywords import class_tfidf

    x = sparse.csr_matrix(np.random.default_rng(0).poisson(0.7, size=(6, 40)).astype(float))
    x = x[:, np.asarray(x.sum(axis=0)).ravel() > 0]
    ours = class_tfidf(x).toarray()
    theirs = ClassTfidfTransformer(reduce_frequent_words=True).fit(x).transform(x).toarray()
    np.testing.assert_allclose(ours, theirs)


def test_undated_run_has_no_trends(tmp_path: Path) -> None:
    from tests.conftest import planted_corpus as small_planted

    path = tmp_path / "undated.csv"
    small_planted(dated=False).to_csv(path, index=False)
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    run = open_run(build(str(path), cfg, Store(tmp_path / "cache")).run_dir)
    assert not run.has("trends.parquet") and not run.has("topic_keywords_over_time.parquet")
    assert run.manifest["trends"] is None and run.manifest["trends_absent_reason"]


def test_dates_alone_change_the_trends(planted_run, tmp_path: Path) -> None:  # noqa: ANN001
    """Same texts, permuted dates: every stage up to clustering is reused, the trends are not."""
    run, store, path, cfg = planted_run
    docs = pd.read_csv(path)
    shuffled = docs.assign(date=np.random.default_rng(1).permutation(docs["date"].to_numpy()))
    other = tmp_path / "planted-null.csv"
    shuffled.to_csv(other, index=False)
    result = build(str(other), cfg, store, name="planted-null")
    for stage in ("embed", "reduce", "cluster", "represent", "hierarchy"):
        assert result.timings[stage]["cached"], stage
    assert not result.timings["trends"]["cached"]
    assert result.manifest["stage_keys"]["trends"] != run.manifest["stage_keys"]["trends"]
    null = open_run(result.run_dir).read_table("trends.parquet")
    assert not null["category"].isin(["emerging", "fading", "new"]).any(), null
