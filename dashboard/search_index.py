"""Semantic search over a run's document embeddings, fast at a million documents. No Streamlit.

The embeddings are float16 on disk and are memory-mapped, never read whole. numpy's float16
products do not use BLAS, and converting a million 384-dim rows to float32 per query costs
seconds, so above ``EXACT_LIMIT`` values a run gets a small float32 index, built once on the
first search: the embeddings projected on their top ``DIMS`` principal directions (fitted on
a ``FIT_SAMPLE`` sample). A query scores every document in that space (one BLAS product),
keeps the best ``candidates`` and ranks those exactly with their full float32 vectors, read
from the map. Smaller runs are ranked exactly (``filters.semantic_rank``).
"""

from __future__ import annotations

import threading

import numpy as np

from dashboard.filters import semantic_rank

EXACT_LIMIT = 50_000_000  # rows x dims ranked exactly (130k documents at 384 dims)
DIMS = 64
FIT_SAMPLE = 20_000
BLOCK = 65_536  # rows converted to float32 at a time while building


class VectorIndex:
    """Top-k cosine search over ``embeddings`` (unit rows; a memory map is fine)."""

    def __init__(self, embeddings: np.ndarray, *, exact_limit: int = EXACT_LIMIT) -> None:
        self.embeddings = embeddings
        self.exact = embeddings.size <= exact_limit or embeddings.shape[1] <= DIMS
        self._lock = threading.Lock()
        self._reduced: np.ndarray | None = None
        self._basis: np.ndarray | None = None

    def _build(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._reduced is None or self._basis is None:
                emb = self.embeddings
                rng = np.random.default_rng(0)
                n = len(emb)
                sample = np.sort(rng.choice(n, min(n, FIT_SAMPLE), replace=False))
                fit = np.asarray(emb[sample], dtype=np.float32)
                _, _, vt = np.linalg.svd(fit - fit.mean(axis=0), full_matrices=False)
                basis = np.ascontiguousarray(vt[:DIMS].T, dtype=np.float32)
                reduced = np.empty((n, basis.shape[1]), dtype=np.float32)
                for start in range(0, n, BLOCK):
                    block = np.asarray(emb[start : start + BLOCK], dtype=np.float32)
                    reduced[start : start + BLOCK] = block @ basis
                self._basis, self._reduced = basis, reduced
            return self._reduced, self._basis

    def top(
        self,
        query: np.ndarray,
        mask: np.ndarray | None = None,
        k: int = 50,
        candidates: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the ``k`` documents (where ``mask``) most similar to ``query``, and their
        cosine, best first (ties by row). ``candidates`` (default: 2000, at least 40 per
        result) are kept from the reduced space for the exact ranking."""
        if self.exact:
            return semantic_rank(self.embeddings, query, mask, k)
        q = np.asarray(query, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(q))
        if norm == 0 or len(self.embeddings) == 0:
            return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
        q = q / norm
        reduced, basis = self._build()
        rough = reduced @ (q @ basis)
        if mask is not None:
            rough[~mask] = -np.inf
        allowed = len(rough) if mask is None else int(mask.sum())
        m = min(candidates or max(2000, 40 * k), allowed)
        if m == 0:
            return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
        cand = np.sort(np.argpartition(-rough, m - 1)[:m])
        return _rerank(self.embeddings, cand, q, k)


def _rerank(
    embeddings: np.ndarray, cand: np.ndarray, q: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The exact top ``k`` among the rows ``cand`` (sorted)."""
    scores = np.asarray(embeddings[cand], dtype=np.float32) @ q
    k = min(k, len(cand))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((cand[top], -scores[top]))]
    return cand[top].astype(np.int64), scores[top]
