"""dashboard.search_index: semantic search over memory-mapped float16 embeddings, with the
reduced float32 index used above ``EXACT_LIMIT``."""

from __future__ import annotations

import numpy as np

from dashboard.filters import semantic_rank
from dashboard.search_index import VectorIndex


def _clustered(tmp_path, n=3000, dim=96, clusters=30):
    """Unit float16 rows around ``clusters`` centres, saved and memory-mapped as a run has them."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(clusters, dim))
    emb = centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.6, (n, dim))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    np.save(tmp_path / "e.npy", emb.astype(np.float16))
    return np.load(tmp_path / "e.npy", mmap_mode="r"), rng


def test_the_reduced_index_finds_the_exact_top_k(tmp_path):
    emb, rng = _clustered(tmp_path)
    index = VectorIndex(emb, exact_limit=0)
    assert not index.exact
    for _ in range(5):
        q = np.asarray(emb[rng.integers(len(emb))], dtype=np.float32) + rng.normal(0, 0.1, 96)
        rows, scores = index.top(q, k=20, candidates=60)  # 2% of the rows
        want, want_scores = semantic_rank(emb, q, k=20)
        assert len(set(rows) & set(want)) >= 19  # recall of the approximate first pass
        assert rows[0] == want[0] and np.all(np.diff(scores) <= 0)
        np.testing.assert_allclose(scores[:5], want_scores[:5], rtol=1e-5)


def test_the_reduced_index_ranks_only_rows_in_the_mask(tmp_path):
    emb, rng = _clustered(tmp_path)
    index = VectorIndex(emb, exact_limit=0)
    mask = np.zeros(len(emb), dtype=bool)
    mask[rng.choice(len(emb), 40, replace=False)] = True
    q = np.asarray(emb[0], dtype=np.float32)
    rows, _ = index.top(q, mask, k=50)
    assert len(rows) == 40 and mask[rows].all()
    assert index.top(q, np.zeros(len(emb), dtype=bool))[0].size == 0
    assert index.top(np.zeros(96))[0].size == 0


def test_small_runs_are_ranked_exactly(tmp_path):
    emb, _ = _clustered(tmp_path, n=200)
    index = VectorIndex(emb)
    assert index.exact
    q = np.asarray(emb[5], dtype=np.float32)
    assert index.top(q, k=3)[0].tolist() == semantic_rank(emb, q, k=3)[0].tolist()
