"""The cache stays whole (issue 14): complete runs, checked embedding shards, swept
temporaries, and a heartbeat that tells a running build from a dead one anywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.artifacts import ALWAYS_ARTIFACTS, DATED_ARTIFACTS
from pipeline.cache import Store
from pipeline.config import Config
from pipeline.errors import CacheError
from pipeline.runner import build
from tests.conftest import REPO

KEY = "e" * 16


def _unit_rows(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _shard(store: Store) -> Path:
    (npy,) = store.embedding_dir(KEY).glob("shard-*.npy")
    return npy


# ----------------------------------------------------------------- complete runs


def test_every_required_artifact_is_documented() -> None:
    text = (REPO / "docs" / "artifacts.md").read_text()
    for rel in (*ALWAYS_ARTIFACTS, *DATED_ARTIFACTS, "lineage.parquet"):
        assert f"`{rel.split('/')[-1]}`" in text, f"{rel} is not in docs/artifacts.md"


def test_a_build_without_its_model_is_not_published(
    tmp_path: Path, planted_csv: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "cache")
    before = build(str(planted_csv), fast_config, store).run_dir.resolve()
    import pipeline.represent as represent

    monkeypatch.setattr(represent, "save_model", lambda model, directory: None)
    other = fast_config.with_overrides({"represent": {"top_n_words": 7}})
    with pytest.raises(CacheError, match=r"the new build lacks model/config\.json.*not published"):
        build(str(planted_csv), other, store)
    assert store.run_path("planted").resolve() == before
    assert list((tmp_path / "cache").rglob(".tmp-*")) == []
