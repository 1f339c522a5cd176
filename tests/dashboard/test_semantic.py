"""Semantic search embeds the query in the run's own space (the model is loaded lazily, once)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dashboard import loaders
from pipeline.stages.embed import HashingEmbedder


def test_hashing_runs_embed_queries_with_the_hashing_embedder(dated_run, dashboard_runs):
    manifest = dated_run.manifest
    assert manifest["embedding"]["backend"] == "hashing"
    q = loaders.embed_query(manifest, "instance segmentation masks", dashboard_runs.root)
    expected = HashingEmbedder(dim=manifest["embedding"]["dim"]).encode(
        ["instance segmentation masks"]
    )[0]
    assert np.allclose(q, expected)


def test_a_manifest_from_another_version_still_gets_its_backend(dated_run, dashboard_runs):
    manifest = {
        **dated_run.manifest,
        "config": {"embed": {"backend": "hashing", "no_such_field": 1}},
    }
    q = loaders.embed_query(manifest, "masks", dashboard_runs.root)
    assert np.allclose(q, HashingEmbedder(dim=manifest["embedding"]["dim"]).encode(["masks"])[0])


def test_the_dashboard_does_not_import_the_model_stack_up_front():
    code = "import sys, dashboard.ui, dashboard.loaders, pipeline.flows; print(sorted(m for m in ('torch', 'sentence_transformers', 'bertopic', 'umap') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_sentence_transformer_runs_embed_queries_with_minilm(tmp_path):
    manifest = {
        "embedding": {"backend": "sentence-transformers", "model": "all-MiniLM-L6-v2", "dim": 384},
        "config": {"embed": {"backend": "sentence-transformers"}},
    }
    a = loaders.embed_query(manifest, "federated learning with differential privacy", tmp_path)
    b = loaders.embed_query(manifest, "privacy-preserving distributed training", tmp_path)
    c = loaders.embed_query(manifest, "a recipe for sourdough bread", tmp_path)
    assert a.shape == (384,) and np.isclose(np.linalg.norm(a), 1.0, atol=1e-3)
    assert float(a @ b) > float(a @ c) + 0.2
