"""Semantic search embeds the query in the run's own space (the model is loaded lazily, once)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dashboard import loaders
from dashboard.filters import semantic_rank
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


# Five documents and, for each, a query that shares no content word with it: only a model
# that embeds meaning (and a query embedded in the documents' own space) finds the answer.
DOCUMENTS = [
    "Federated learning with differential privacy. Phones train a shared model without "
    "uploading their data; noise is added to the gradients.",
    "A sourdough recipe. Mix flour, water and starter, let the dough rise overnight and "
    "bake it in a hot oven.",
    "Detecting exoplanets by transit photometry. A telescope records the dip in a star's "
    "brightness when a planet crosses it.",
    "Penalty kicks in professional football. Where strikers aim and which way goalkeepers dive.",
    "Central banks and inflation. Raising interest rates cools prices at the cost of jobs.",
]
QUERIES = {
    "privacy-preserving distributed training on mobile devices": 0,
    "baking loaves of bread at home": 1,
    "finding worlds that orbit other suns": 2,
    "soccer goalies saving spot kicks": 3,
    "monetary policy and the cost of living": 4,
}


@pytest.mark.slow
def test_sentence_transformer_search_finds_the_document_a_query_is_about(tmp_path):
    """The documents embedded as a build embeds them, the query as the dashboard does."""
    from pipeline.config import EmbedConfig
    from pipeline.stages.embed import get_embedder
    from pipeline.stages.ingest import modelled_texts

    docs = pd.DataFrame({"title": [d.split(". ")[0] for d in DOCUMENTS]})
    docs["text"] = [d.split(". ", 1)[1] for d in DOCUMENTS]
    embeddings = get_embedder(EmbedConfig(), tmp_path).encode(modelled_texts(docs))
    manifest = {
        "embedding": {"backend": "sentence-transformers", "model": "all-MiniLM-L6-v2", "dim": 384},
        "config": {"embed": {"backend": "sentence-transformers"}},
    }
    for query, answer in QUERIES.items():
        q = loaders.embed_query(manifest, query, tmp_path)
        assert q.shape == (384,) and np.isclose(np.linalg.norm(q), 1.0, atol=1e-3)
        rows, scores = semantic_rank(embeddings, q, k=5)
        assert rows[0] == answer, (query, rows.tolist(), scores.tolist())
        # With the answer filtered out, it is not found anyway.
        mask = np.arange(len(DOCUMENTS)) != answer
        assert answer not in semantic_rank(embeddings, q, mask, k=5)[0].tolist()
