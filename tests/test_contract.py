"""The artifact contract (pipeline.store.contract): what a build writes is what it declares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import SCHEMA_VERSION
from pipeline.config import Config
from pipeline.flows import build
from pipeline.flows.run import settings
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from pipeline.store.contract import REQUIRED_COLUMNS


def test_artifact_schema_round_trip(tmp_path: Path, planted_csv: Path, fast_config: Config) -> None:
    run = open_run(build(str(planted_csv), fast_config, Store(tmp_path / "cache")).run_dir)
    m = run.manifest
    assert m["schema_version"] == SCHEMA_VERSION
    for key in (
        "corpus",
        "config",
        "libraries",
        "timings",
        "counts",
        "artifacts",
        "created_at",
        "stage_keys",
    ):
        assert key in m
    # [scale] is recorded only when the build was fitted on a sample, [llm] only when labels
    # come from an LLM, [engine] never: where the work ran does not change it (docs/artifacts.md).
    assert m["config"] == settings(fast_config, sampled=False)
    assert set(m["config"]) == set(fast_config.model_dump()) - {"scale", "llm", "engine"}
    assert Config.model_validate(m["config"]) == fast_config
    for fname, cols in REQUIRED_COLUMNS.items():
        if fname == "topics_over_time.parquet" or run.has(fname):
            df = run.read_table(fname)
            assert set(cols) <= set(df.columns), fname
            assert m["artifacts"][fname]["rows"] == len(df)
    docs = run.read_table("documents.parquet")
    emb = run.read_array("embeddings.npy")
    assert emb.shape == (len(docs), 384)
    assert run.read_array("topic_embeddings.npy").shape[0] == m["counts"]["topics"]
    assert pd.api.types.is_datetime64_any_dtype(docs["date"])
    assert docs["topic"].dtype == np.int64
    topics = run.read_table("topics.parquet")
    keywords = topics["keywords"].map(list)  # stored as lists of words, none empty
    assert keywords.map(len).min() > 0
    assert all(isinstance(k, str) and k for ks in keywords for k in ks)
    tot = run.read_table("topics_over_time.parquet")
    per_period = tot.groupby("period_start")["count"].sum()
    assert len(per_period) > 1
    assert (per_period.values == tot.groupby("period_start")["period_total"].first().values).all()
    assert (run.path / "model" / "ctfidf.safetensors").exists()
    # No pickle or joblib anywhere in the cache.
    for f in (tmp_path / "cache").rglob("*"):
        assert f.suffix not in {".pkl", ".pickle", ".joblib"}
