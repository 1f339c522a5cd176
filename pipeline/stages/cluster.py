"""Cluster: HDBSCAN in the reduced space, then optional outlier reassignment.

Plain BERTopic gives 2 to 7 topics on the 265 trending papers depending on the seed,
because its fixed minimum cluster size (10) with 'eom' selection merges everything
into a few blobs. Here the minimum cluster size grows with the corpus and leaf selection
picks the fine, stable clusters; outliers are then reassigned to the nearest topic
centroid in embedding space when they are close enough, so the outlier share stays low
without dragging unrelated documents into topics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.config import ClusterConfig
from pipeline.stages.base import Context


def auto_min_cluster_size(n_docs: int) -> int:
    return int(max(5, round(0.35 * math.sqrt(n_docs))))


@dataclass
class Clustering:
    labels: np.ndarray  # int, -1 = outlier, topics numbered by size (0 = largest)
    probs: np.ndarray  # float32 in [0, 1]
    n_reassigned: int


def topic_centroids(embeddings: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Unit mean embedding of each topic in ``ids`` (rows in that order; zero if empty)."""
    cents = np.zeros((len(ids), embeddings.shape[1]), dtype=np.float32)
    for i, t in enumerate(ids):
        members = embeddings[labels == t]
        if len(members):
            cents[i] = members.mean(axis=0)
    norms = np.linalg.norm(cents, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return cents / norms


def centroids(embeddings: np.ndarray, labels: np.ndarray, n_topics: int) -> np.ndarray:
    return topic_centroids(embeddings, labels, np.arange(n_topics))


def renumber_by_size(labels: np.ndarray) -> np.ndarray:
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(len(labels), -1, dtype=np.int64)
    if len(order):  # a lookup table, not a dict per document: 1M labels in milliseconds
        lut = np.full(int(order.max()) + 1, -1, dtype=np.int64)
        lut[order] = np.arange(len(order))
        kept = labels >= 0
        out[kept] = lut[labels[kept]]
    return out


def merge_to_max(embeddings: np.ndarray, labels: np.ndarray, max_topics: int) -> np.ndarray:
    """Merge the most similar pair of topics (by centroid cosine) until max_topics remain."""
    labels = labels.copy()
    while True:
        ids = np.unique(labels[labels >= 0])
        if len(ids) <= max_topics:
            return renumber_by_size(labels)
        cents = centroids(embeddings, labels, int(ids.max()) + 1)[ids]
        sim = cents @ cents.T
        np.fill_diagonal(sim, -np.inf)
        i, j = np.unravel_index(np.argmax(sim), sim.shape)
        labels[labels == ids[j]] = ids[i]


def _hdbscan(
    space: np.ndarray, mcs: int, min_samples: int, method: str
) -> tuple[np.ndarray, np.ndarray]:
    import hdbscan

    model = hdbscan.HDBSCAN(
        min_cluster_size=mcs,
        min_samples=min_samples,
        metric="euclidean",
        cluster_selection_method=method,
        core_dist_n_jobs=1,
    )
    raw = model.fit_predict(space)
    return raw, np.asarray(model.probabilities_, dtype=np.float32)


def consensus(labelings: list[np.ndarray], min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Combine clusterings: documents stay together if a majority of the runs put them together.

    Builds the co-association matrix (the fraction of runs in which two documents share a
    topic), cuts its average-linkage tree at 0.5, and turns groups smaller than
    ``min_size`` into outliers. A document's probability is its mean co-association with
    the rest of its topic. Memory is O(n^2): above ``DENSE_CONSENSUS_MAX`` documents the
    consensus is taken over a kNN graph instead (``knn_consensus``).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(labelings[0])
    co = np.zeros((n, n), dtype=np.float32)
    for lab in labelings:
        co += (lab[:, None] == lab[None, :]) & (lab[:, None] >= 0)
    co /= len(labelings)
    dist = 1.0 - co
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False).astype(np.float64), method="average")
    groups = fcluster(tree, t=0.5, criterion="distance")
    ids, counts = np.unique(groups, return_counts=True)
    small = set(ids[counts < min_size].tolist())
    raw = np.array([-1 if g in small else g for g in groups], dtype=np.int64)
    probs = np.zeros(n, dtype=np.float32)
    for g in np.unique(raw[raw >= 0]):
        members = np.where(raw == g)[0]
        block = co[np.ix_(members, members)]
        probs[members] = (block.sum(axis=1) - 1.0) / max(len(members) - 1, 1)
    return raw, probs


DENSE_CONSENSUS_MAX = 6_000  # above this many documents the consensus is taken over a kNN graph
CONSENSUS_NEIGHBORS = 15


def key_part(ctx: Context) -> str | None:
    """What the kNN consensus adds to the cluster key: only when an ensemble of more than
    one fit meets more than ``DENSE_CONSENSUS_MAX`` fitted documents, the case whose result
    the kNN consensus changed (the automatic ensemble is 1 there); None, the key as before,
    otherwise, so no other cache is invalidated."""
    ens = ctx.cfg.reduce.ensemble
    if ens is None or ens <= 1:
        return None
    sample = ctx.inputs.get("sample")
    n = len(sample) if sample is not None else len(ctx.inputs["texts"])
    return "consensus=knn-v1" if n > DENSE_CONSENSUS_MAX else None


def knn_consensus(
    labelings: list[np.ndarray], spaces: np.ndarray, min_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Combine clusterings over a k-nearest-neighbour graph: memory O(n k), not O(n^2).

    The edges are each document's ``CONSENSUS_NEIGHBORS`` nearest neighbours in every
    run's space (the union). An edge is kept when a strict majority of the runs put its
    two documents in one topic; the connected components of the kept edges are the
    topics, and those smaller than ``min_size`` are outliers. Two topics merge only where
    neighbouring documents were together in most runs, which a dense co-association
    matrix (``consensus``) checks for every pair at n^2 memory (4 GB at 22,000 documents).
    A document's probability is its mean co-association with its neighbours in its topic.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    n = len(labelings[0])
    k = min(CONSENSUS_NEIGHBORS + 1, n)
    pairs = []
    for space in spaces:
        idx = NearestNeighbors(n_neighbors=k).fit(space).kneighbors(return_distance=False)
        pairs.append(np.column_stack([np.repeat(np.arange(n), idx.shape[1]), idx.ravel()]))
    edges = np.unique(np.sort(np.vstack(pairs), axis=1), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    a, b = edges[:, 0], edges[:, 1]
    co = np.zeros(len(edges), dtype=np.float32)
    for lab in labelings:
        co += (lab[a] == lab[b]) & (lab[a] >= 0)
    co /= len(labelings)
    kept = co > 0.5
    graph = sparse.coo_matrix((np.ones(kept.sum()), (a[kept], b[kept])), shape=(n, n))
    _, groups = connected_components(graph, directed=False)
    ids, counts = np.unique(groups, return_counts=True)
    raw = np.where(np.isin(groups, ids[counts >= min_size]), groups, -1).astype(np.int64)
    probs = np.zeros(n, dtype=np.float32)
    inside = kept & (raw[a] >= 0)
    total = np.bincount(a[inside], co[inside], n) + np.bincount(b[inside], co[inside], n)
    count = np.bincount(a[inside], minlength=n) + np.bincount(b[inside], minlength=n)
    probs[count > 0] = (total[count > 0] / count[count > 0]).astype(np.float32)
    return raw, probs


def cluster(spaces: np.ndarray, embeddings: np.ndarray, cfg: ClusterConfig) -> Clustering:
    """HDBSCAN on each reduced space (one per UMAP seed), consensus when there are several."""
    from pipeline.stages.jit import enable_numba_cache

    enable_numba_cache()
    if spaces.ndim == 2:
        spaces = spaces[None]
    n = spaces.shape[1]
    mcs = cfg.min_cluster_size or auto_min_cluster_size(n)
    mcs = max(2, min(mcs, n // 2))
    min_samples = cfg.min_samples or max(1, min(mcs, int(round(mcs / 2))))
    runs = [_hdbscan(space, mcs, min_samples, cfg.selection_method) for space in spaces]
    if len(runs) == 1:
        raw, probs = runs[0]
    elif n <= DENSE_CONSENSUS_MAX:
        raw, probs = consensus([r[0] for r in runs], mcs)
    else:
        raw, probs = knn_consensus([r[0] for r in runs], spaces, mcs)
    if (raw >= 0).sum() == 0:
        # Everything is noise (tiny or uniform corpus): one topic is the honest answer.
        raw = np.zeros(n, dtype=np.int64)
        probs = np.ones(n, dtype=np.float32)
    labels = renumber_by_size(raw)
    if cfg.max_topics:
        labels = merge_to_max(embeddings, labels, cfg.max_topics)

    n_reassigned = 0
    if cfg.outlier_reduction == "embeddings" and (labels == -1).any():
        n_topics = int(labels.max()) + 1
        cents = centroids(embeddings, labels, n_topics)
        out = np.where(labels == -1)[0]
        sims = embeddings[out] @ cents.T
        best = sims.argmax(axis=1)
        best_sim = sims[np.arange(len(out)), best]
        ok = best_sim >= cfg.outlier_threshold
        labels[out[ok]] = best[ok]
        probs[out[ok]] = np.clip(best_sim[ok], 0, 1)
        n_reassigned = int(ok.sum())
        labels = renumber_by_size(labels)
    probs[labels == -1] = 0.0
    return Clustering(labels=labels, probs=probs.astype(np.float32), n_reassigned=n_reassigned)


def run(ctx: Context) -> dict[str, Any]:
    """The cluster stage: a topic (or -1) and a membership strength per document.

    With a fit sample the spaces hold the sampled documents only: they are clustered, and
    every other document joins its nearest topic (``pipeline.stages.sample``).
    """
    embeddings = np.asarray(ctx.get("embeddings"))
    picked = ctx.inputs.get("sample")
    if picked is None:
        result = cluster(ctx.get("spaces"), embeddings, ctx.cfg.cluster)
        return {
            "labels": result.labels,
            "probs": result.probs,
            "info": {"n_reassigned": result.n_reassigned},
        }
    from pipeline.stages.sample import assign_rest, fit_vectors, min_cluster_size

    cfg = ctx.cfg.cluster
    if cfg.min_cluster_size is None:
        auto = min_cluster_size(len(embeddings), len(picked))
        cfg = cfg.model_copy(update={"min_cluster_size": auto})
    result = cluster(ctx.get("spaces"), embeddings[picked], cfg)
    vectors = fit_vectors(embeddings, ctx.inputs["texts"], ctx.cfg, picked)
    labels, probs, threshold = assign_rest(
        vectors, picked, result.labels, result.probs, ctx.cfg, ctx.executor
    )
    info = {
        "n_reassigned": result.n_reassigned,
        "fit_sample": len(picked),
        "assigned": int((labels >= 0).sum() - (result.labels >= 0).sum()),
        "assign_threshold": threshold,
    }
    return {"labels": labels, "probs": probs, "info": info}
