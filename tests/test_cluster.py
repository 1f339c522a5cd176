"""Clustering (pipeline.stages.cluster)."""

from __future__ import annotations

from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store


def test_eom_selection_recovers_exactly_the_planted_topics(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    cfg = fast_config.with_overrides({"cluster": {"selection_method": "eom"}})
    docs = open_run(build(str(planted_csv), cfg, Store(tmp_path / "cache")).run_dir).read_table(
        "documents.parquet"
    )
    assert docs["topic"].nunique() == 5
    assert adjusted_rand_score(docs["planted"], docs["topic"]) > 0.95
