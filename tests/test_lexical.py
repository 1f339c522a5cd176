"""The word profile joined to the embeddings before UMAP ([reduce] lexical_weight)."""

from __future__ import annotations

import numpy as np

from pipeline.config import ReduceConfig
from pipeline.stages.reduce import (
    LEXICAL_MIN_DOCS,
    document_vectors,
    lexical_vectors,
    lexical_weight_for,
)


def _two_vocabularies(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    a = ["protein", "folding", "enzyme", "kinetics", "binding", "assay", "mutation", "residue"]
    b = ["galaxy", "redshift", "telescope", "quasar", "spectrum", "luminosity", "cluster", "survey"]
    texts = [
        " ".join(rng.choice(a if i % 2 == 0 else b, size=12)) + " the study of results"
        for i in range(n)
    ]
    return texts, np.zeros(n, dtype=np.int64) + np.arange(n) % 2


def test_auto_weight_follows_corpus_size() -> None:
    cfg = ReduceConfig()
    assert lexical_weight_for(cfg, LEXICAL_MIN_DOCS - 1) == 0.0
    assert lexical_weight_for(cfg, LEXICAL_MIN_DOCS) == 1.0
    assert lexical_weight_for(ReduceConfig(lexical_weight=0.5), 10) == 0.5
    assert lexical_weight_for(ReduceConfig(lexical_weight=0.0), 10**6) == 0.0


def test_words_separate_what_the_embeddings_do_not() -> None:
    texts, group = _two_vocabularies(200)
    # Embeddings that carry no topic signal at all: the words must do the work.
    emb = np.random.default_rng(1).normal(size=(200, 16)).astype(np.float32)
    x = document_vectors(emb, texts, ReduceConfig(lexical_weight=1.0, lexical_dims=8))
    assert x.shape == (200, 16 + 8) and x.dtype == np.float32
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    assert (group[nearest] == group).mean() > 0.95
    # The embedding part is kept, unit length, in front.
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    np.testing.assert_allclose(
        document_vectors(emb, texts, ReduceConfig(lexical_weight=1.0, lexical_dims=8))[:, :16],
        unit,
        rtol=1e-5,
    )


def test_weight_zero_or_no_texts_is_the_embedding_alone() -> None:
    texts, _ = _two_vocabularies(50)
    emb = np.random.default_rng(2).normal(size=(50, 8)).astype(np.float32)
    np.testing.assert_array_equal(
        document_vectors(emb, texts, ReduceConfig(lexical_weight=0.0)), emb
    )
    np.testing.assert_array_equal(
        document_vectors(emb, None, ReduceConfig(lexical_weight=1.0)), emb
    )
    # 50 documents: below the auto threshold, so the default leaves the embeddings alone.
    np.testing.assert_array_equal(document_vectors(emb, texts, ReduceConfig()), emb)


def test_no_profile_without_shared_vocabulary() -> None:
    assert lexical_vectors(["a", "b", "c"], 10, 0) is None  # too few documents
    unique = [f"word{i} term{i} thing{i} stuff{i}" for i in range(20)]  # nothing occurs twice
    assert lexical_vectors(unique, 10, 0) is None


def test_profile_is_deterministic_for_a_seed() -> None:
    texts, _ = _two_vocabularies(120)
    a = lexical_vectors(texts, 10, 7)
    b = lexical_vectors(texts, 10, 7)
    assert a is not None and b is not None
    np.testing.assert_array_equal(a, b)
