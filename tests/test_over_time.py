"""Topics over time (pipeline.stages.over_time)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.flows import build, update
from pipeline.stages.ingest import modelled_texts
from pipeline.stages.keywords import keywords_over_time
from pipeline.stages.over_time import topics_over_time
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.update_corpus import hashing_config, monthly_corpus, write_csv


def test_shares_are_of_every_document_in_the_period_outliers_included() -> None:
    dates = pd.Series(
        pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-25", "2024-02-02", None])
    )
    topics = pd.Series([0, 0, -1, 1, 0])
    out = topics_over_time(dates, topics, "month")
    jan = out[out["period_start"] == pd.Timestamp("2024-01-01")].set_index("topic")
    assert jan.loc[0, "count"] == 2 and jan.loc[0, "period_total"] == 3
    assert abs(jan.loc[0, "share"] - 2 / 3) < 1e-12
    assert out["count"].sum() == 4  # the undated document is left out
    assert list(out.columns) == ["topic", "period_start", "count", "share", "period_total"]


def test_an_update_recounts_only_the_periods_it_touches(tmp_path: Path) -> None:
    """Topics over time and keywords per period after an update equal a full recount, though
    only the periods with new (or re-topicked) documents were counted again."""
    corpus = monthly_corpus()
    store = Store(tmp_path / "cache")
    held_back = (corpus["month"] == 5) & (corpus.index % 3 == 0)  # arrive late, in month 5
    old = write_csv(corpus[(corpus["month"] <= 6) & ~held_back], tmp_path / "old.csv")
    build(str(old), hashing_config(), store, name="inc")
    result = update("inc", str(write_csv(corpus, tmp_path / "all.csv")), store)
    run = open_run(result.run_dir)
    docs = run.read_table("documents.parquet")
    period, cfg = run.manifest["period"], result.manifest["config"]
    counts = topics_over_time(docs["date"], docs["topic"], period)
    published = run.read_table("topics_over_time.parquet").drop(columns=["partial"])
    pd.testing.assert_frame_equal(published, counts, check_dtype=False)
    recount = keywords_over_time(
        modelled_texts(docs),
        docs["date"],
        docs["topic"].to_numpy(),
        period,
        hashing_config().represent,
        top_n=cfg["trends"]["keywords_per_period"],
    )
    keywords = run.read_table("topic_keywords_over_time.parquet")
    assert len(keywords) == len(recount) > 0
    for col in ("keywords", "keyword_weights"):
        keywords[col] = keywords[col].map(list)
    pd.testing.assert_frame_equal(keywords, recount, check_dtype=False)
    recounted = result.manifest["timings"]["over_time"]["periods_recounted"]
    assert 0 < recounted < counts["period_start"].nunique()
