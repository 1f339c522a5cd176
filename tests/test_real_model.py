"""The product path with the real all-MiniLM-L6-v2 model on the commissioned corpus."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store


@pytest.mark.slow
def test_trending_papers_with_the_real_model(trending_real_build: tuple[Store, Any]) -> None:
    store, result = trending_real_build
    run = open_run(result.run_dir)
    topics = run.read_table("topics.parquet")
    counts = run.manifest["counts"]
    embedding = run.manifest["embedding"]
    assert {k: embedding[k] for k in ("backend", "model", "dim", "max_seq_length")} == {
        "backend": "sentence-transformers",
        "model": "all-MiniLM-L6-v2",
        "dim": 384,
        "max_seq_length": 256,
    }
    assert embedding["truncated_documents"] == 134, (
        "about half the abstracts exceed 256 word pieces"
    )
    assert counts["documents"] == 265
    assert len(topics) >= 8, "plain BERTopic gives 2-7 topics here; we aim for 8+"
    assert counts["outlier_share"] <= 0.25
    assert topics["label"].is_unique and not topics["label"].str.contains("incontext").any()
    emb = run.read_array("embeddings.npy").astype(np.float32)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-2)
    # Hyphenated terms survive keyword extraction ("in-context", not "incontext").
    all_keywords = {k for ks in topics["keywords"] for k in ks}
    assert any("-" in k for k in all_keywords)
    # Everything is cached now: a rebuild recomputes nothing.
    assert build("hf-trending-papers", Config(), store).up_to_date
