"""End to end with the deterministic hashing embedder on planted topics (seconds, no model)."""

from __future__ import annotations

from pathlib import Path

from sklearn.metrics import homogeneity_score

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store


def test_planted_topics_are_recovered(tmp_path: Path, planted_csv: Path) -> None:
    defaults = Config().with_overrides({"embed": {"backend": "hashing"}})
    result = build(str(planted_csv), defaults, Store(tmp_path / "cache"))
    run = open_run(result.run_dir)
    docs = run.read_table("documents.parquet")
    topics = run.read_table("topics.parquet")

    assert run.manifest["counts"]["documents"] == 200
    clustered = docs[docs["topic"] >= 0]
    assert len(clustered) / len(docs) >= 0.9
    # The default (leaf selection, small minimum size) may split a planted topic into
    # finer sub-topics, but must never mix two planted topics in one.
    assert 5 <= len(topics) <= 25
    assert homogeneity_score(clustered["planted"], clustered["topic"]) > 0.95
    # Each planted topic's vocabulary surfaces in the keywords of the topic holding most of it.
    for planted, group in docs.groupby("planted"):
        main = group["topic"].mode().iloc[0]
        kws = topics.set_index("topic").loc[main, "keywords"]
        from tests.conftest import PLANTED_VOCAB

        assert set(kws) & set(PLANTED_VOCAB[planted]), (planted, kws)
    assert topics["label"].is_unique
    assert docs["venue"].notna().all(), "metadata is carried into documents.parquet"
