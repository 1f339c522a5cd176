"""Clustering (pipeline.stages.cluster)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_renumber_by_size_numbers_topics_largest_first_ties_by_id_outliers_kept() -> None:
    from pipeline.stages.cluster import renumber_by_size

    labels = np.array([7, 3, 3, -1, 7, 5, 5, 9, 3, -1])
    # 3 has three documents; 5 and 7 two each (5 first, the lower id); 9 one
    assert renumber_by_size(labels).tolist() == [2, 0, 0, -1, 2, 1, 1, 3, 0, -1]
    assert renumber_by_size(np.array([-1, -1])).tolist() == [-1, -1]
    assert renumber_by_size(np.array([], dtype=np.int64)).tolist() == []
