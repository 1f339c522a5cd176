"""Reduce: UMAP to a low-dimensional space for clustering and to 2-d for the map.

The k-nearest-neighbour graph is the expensive, shared part, so it is computed once and
handed to both UMAP fits. The neighbour count adapts to corpus size: 10 keeps the small
topics of a 250-paper corpus apart, 30 gives a 20k corpus a coherent global layout.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from pipeline.config import ReduceConfig


def auto_neighbors(n_docs: int) -> int:
    return int(min(30, max(10, round(2.5 * math.log10(max(n_docs, 10)) ** 2))))


def n_neighbors_for(cfg: ReduceConfig, n_docs: int) -> int:
    k = cfg.n_neighbors or auto_neighbors(n_docs)
    return max(2, min(k, n_docs - 1))


EXACT_KNN_MAX = 40_000  # below this, exact kNN by BLAS beats NN-descent and needs no JIT


def exact_knn(
    x: np.ndarray, k: int, metric: str, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self first), in row chunks to bound memory."""
    x = np.asarray(x, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1
        x = x / norms
    sq = (x * x).sum(axis=1)
    n = len(x)
    idx = np.empty((n, k), dtype=np.int32)
    dist = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        block = x[start : start + chunk]
        if metric == "cosine":
            d = 1.0 - block @ x.T
        else:
            d = np.sqrt(
                np.maximum(sq[start : start + chunk, None] + sq[None, :] - 2 * block @ x.T, 0)
            )
        rows = np.arange(len(block))
        d[rows, start + rows] = -1.0  # self is always the first neighbour
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        pd_ = np.take_along_axis(d, part, axis=1)
        order = np.argsort(pd_, axis=1, kind="stable")
        idx[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        dist[start : start + chunk] = np.maximum(np.take_along_axis(pd_, order, axis=1), 0)
    return idx, dist


def auto_ensemble(n_docs: int) -> int:
    return 10 if n_docs <= 1_000 else 5 if n_docs <= 6_000 else 1


def reduce(
    embeddings: np.ndarray, cfg: ReduceConfig, tick: Callable[[str], None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (clustering spaces, 2-d map), float32, seeded.

    The clustering spaces have shape (ensemble, n, n_components): one UMAP fit per seed,
    all sharing one kNN graph, for the consensus clustering downstream.
    """
    from pipeline.jit import enable_numba_cache

    enable_numba_cache()
    from umap import UMAP
    from umap.umap_ import nearest_neighbors

    n = embeddings.shape[0]
    k = n_neighbors_for(cfg, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if tick:
            tick("nearest neighbours")
        if n <= EXACT_KNN_MAX:
            knn_idx, knn_dist = exact_knn(embeddings, k, cfg.metric)
        else:
            knn_idx, knn_dist, _ = nearest_neighbors(
                embeddings,
                n_neighbors=k,
                metric=cfg.metric,
                metric_kwds=None,
                angular=False,
                random_state=np.random.RandomState(cfg.seed),
                low_memory=True,
                n_jobs=1,
            )
        common = dict(
            n_neighbors=k,
            metric=cfg.metric,
            random_state=cfg.seed,
            precomputed_knn=(knn_idx, knn_dist, None),
            init="spectral",
            low_memory=True,
        )
        spaces = []
        m = cfg.ensemble or auto_ensemble(n)
        for i in range(m):
            if tick:
                tick(f"cluster space {i + 1}/{m}")
            params = {**common, "random_state": cfg.seed + i}
            spaces.append(
                UMAP(
                    n_components=min(cfg.n_components, n - 2), min_dist=cfg.min_dist, **params
                ).fit_transform(embeddings)
            )
        if tick:
            tick("2-d map")
        xy = UMAP(n_components=2, min_dist=cfg.map_min_dist, **common).fit_transform(embeddings)
    return np.stack(spaces).astype(np.float32), xy.astype(np.float32)
