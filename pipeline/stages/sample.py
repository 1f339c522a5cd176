"""Fit on a sample, assign every document: how a build scales past ``[scale] fit_sample``.

Above the sample size, the reduce and cluster stages fit on a sample stratified by period
(every period keeps a share, so a small late period, where new topics show first, is in
the fit) and every other document is then assigned, as the update flow assigns new
documents (``pipeline.stages.assign``): its topic is the nearest topic centroid in the
space the fit read (embedding and word profile, ``fit_vectors``) when it is at least as
similar as the build's outlier rule asks, and its
map position the mean of its nearest sampled documents' positions. Keywords, topic sizes,
topics over time and trends read every document, because they read the labels.

At or below the sample size nothing changes: the sample is absent, and neither the stage
keys nor the run key nor the manifest mention ``[scale]``, so existing caches stay valid.
The size in use enters the reduce key (and through the key chain every later stage's)
and the manifest, so the same corpus and settings give the same topics on any machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config, ScaleConfig
from pipeline.periods import period_start
from pipeline.stages.assign import AssignBatch, PlaceBatch, member_threshold, nearest
from pipeline.stages.base import Context, digest
from pipeline.stages.cluster import renumber_by_size, topic_centroids
from pipeline.stages.executor import Executor, InProcessExecutor, gather

AUTO_MIN = 50_000  # the automatic sample size is never below this...
AUTO_SHARE = 10  # ...and a tenth of the corpus above 500,000 documents
AUTO_MAX = 200_000  # ...at most this: UMAP on 200k documents takes minutes, not hours
TRANSFORM_CHUNK = 20_000  # documents given a word profile (or placed) at a time: bounds memory
ASSIGN_BATCH = 8192  # documents per batch on a cluster when assigning and placing the rest


def fit_sample_size(cfg: ScaleConfig, n_docs: int) -> int:
    """The number of documents the fit reads: ``fit_sample``, else adapted to the corpus.

    The automatic size is above every bundled corpus (the largest, SOTU paragraphs, has
    22,910), so those build exactly as before.
    """
    if cfg.fit_sample is not None:
        return cfg.fit_sample
    return int(min(AUTO_MAX, max(AUTO_MIN, n_docs // AUTO_SHARE)))


def _allocate(counts: np.ndarray, size: int) -> np.ndarray:
    """How many documents each stratum gives: half the sample shared equally (capped at the
    stratum's size), the rest in proportion to what is left, by largest remainder."""
    take = np.minimum(counts, size // (2 * len(counts)))
    left = counts - take
    room = size - int(take.sum())
    if room > 0 and left.sum() > 0:
        share = left / left.sum() * room
        extra = np.minimum(np.floor(share).astype(np.int64), left)
        rem = room - int(extra.sum())
        order = np.lexsort((np.arange(len(counts)), -(share - np.floor(share))))
        for i in order:
            if rem <= 0:
                break
            if extra[i] < left[i]:
                extra[i] += 1
                rem -= 1
        take = take + extra
    return take


def strata(inputs: dict[str, Any]) -> np.ndarray:
    """Each document's stratum: the start of its period (undated documents share one)."""
    n = len(inputs["texts"])
    if not inputs.get("dated") or inputs.get("period") is None:
        return np.zeros(n, dtype=np.int64)
    starts = period_start(pd.Series(inputs["dates"]).reset_index(drop=True), inputs["period"])
    codes, _ = pd.factorize(starts.astype(str), sort=True)
    return codes.astype(np.int64)


def choose(cfg: Config, inputs: dict[str, Any]) -> np.ndarray | None:
    """Sorted indices of the documents the fit reads, or None when the corpus is small enough.

    Seeded by ``[reduce] seed`` and drawn per stratum in document order, so the same corpus
    and settings draw the same sample anywhere.
    """
    n = len(inputs["texts"])
    size = fit_sample_size(cfg.scale, n)
    if n <= size:
        return None
    groups = strata(inputs)
    ids, counts = np.unique(groups, return_counts=True)
    take = _allocate(counts, size)
    rng = np.random.default_rng(cfg.reduce.seed)
    picked = [
        rng.choice(np.where(groups == g)[0], size=int(k), replace=False)
        for g, k in zip(ids, take, strict=True)
        if k > 0
    ]
    return np.sort(np.concatenate(picked)).astype(np.int64)


# Bumped when the sampled path's results change (2: the word profile is fitted on the sample
# and projected, placement is approximate above EXACT_PLACE_MAX), so the stage caches of
# sampled builds made by an older version are not reused. Unsampled keys never include it.
SAMPLED_FIT_VERSION = 2


def key_part(ctx: Context) -> str | None:
    """What the sample adds to the reduce key: its size, the documents in it and the
    ``[scale]`` settings; None (nothing added, the key as before) when there is no sample."""
    sample = ctx.inputs.get("sample")
    if sample is None:
        return None
    picked = digest([str(i) for i in sample.tolist()])
    return f"fit_sample={len(sample)}:{picked}:{ctx.cfg.scale.key()}:v{SAMPLED_FIT_VERSION}"


def place_rest(
    embeddings: np.ndarray,
    sample: np.ndarray,
    xy_sample: np.ndarray,
    k: int,
    seed: int = 0,
    executor: Executor | None = None,
) -> np.ndarray:
    """Map positions of every document: the sample's from UMAP, the rest from their ``k``
    most similar sampled documents: exactly (``assign.place``, in batches on ``executor``)
    up to ``EXACT_PLACE_MAX`` pairs of documents, above it among the sampled documents of
    nearby cells (``place_approx``, on this machine)."""
    n = len(embeddings)
    rest = np.setdiff1d(np.arange(n), sample)
    xy = np.zeros((n, 2), dtype=np.float32)
    xy[sample] = xy_sample
    if len(rest) * len(sample) > EXACT_PLACE_MAX:
        xy[rest] = place_approx(embeddings, rest, sample, xy_sample, k, seed)
        return xy
    fn = PlaceBatch(np.asarray(embeddings[sample], dtype=np.float32), np.asarray(xy_sample), k)
    (xy[rest],) = over_rest(executor, fn, embeddings, rest)
    return xy


EXACT_PLACE_MAX = 5_000_000_000  # (documents placed) x (sampled documents) placed exactly
CELLS_PER_DOC = 100  # about this many sampled documents per cell of the approximate search
PROBE = 16  # cells searched per document: its nearest cell's nearest cells


def _cells(
    x: np.ndarray, n_cells: int, seed: int, rounds: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded spherical k-means of unit rows: (unit centres, each row's cell)."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    centres = x[np.sort(rng.choice(len(x), size=n_cells, replace=False))].copy()
    cell = np.zeros(len(x), dtype=np.int64)
    for _ in range(rounds):
        for start in range(0, len(x), 8192):
            cell[start : start + 8192] = (x[start : start + 8192] @ centres.T).argmax(axis=1)
        onehot = sparse.csr_matrix(
            (np.ones(len(x), dtype=np.float32), (cell, np.arange(len(x)))), shape=(n_cells, len(x))
        )
        sums = np.asarray(onehot @ x)  # per-cell sums in one sparse product (np.add.at is slow)
        empty = np.bincount(cell, minlength=n_cells) == 0
        sums[empty] = centres[empty]  # a cell that lost every row keeps its centre
        centres = _unit(sums)
    return centres, cell


def place_approx(
    embeddings: np.ndarray,
    rest: np.ndarray,
    sample: np.ndarray,
    xy_sample: np.ndarray,
    k: int,
    seed: int,
) -> np.ndarray:
    """Positions of ``rest`` from their ``k`` most similar sampled documents, searched among
    the sampled documents of a few cells (``PROBE``) around each document's nearest cell.

    The exact search costs (documents placed) x (sampled documents) similarities: at a
    million documents and a 100,000-sample, 9e10, most of a build. Cells of about
    ``CELLS_PER_DOC`` sampled documents (a seeded spherical k-means) and ``PROBE`` cells per
    document cut that about 60-fold; one matrix product per cell keeps it in BLAS.
    """
    placed = _unit(np.asarray(embeddings[sample], dtype=np.float32))
    n_cells = max(1, min(len(sample) // CELLS_PER_DOC, 4096))
    centres, cell = _cells(placed, n_cells, seed)
    probe = np.argsort(-(centres @ centres.T), axis=1, kind="stable")[:, : min(PROBE, n_cells)]
    members = [np.flatnonzero(cell == c) for c in range(n_cells)]
    out = np.zeros((len(rest), 2), dtype=np.float32)
    home = np.empty(len(rest), dtype=np.int64)
    for start in range(0, len(rest), TRANSFORM_CHUNK):
        block = _unit(
            np.asarray(embeddings[rest[start : start + TRANSFORM_CHUNK]], dtype=np.float32)
        )
        home[start : start + len(block)] = (block @ centres.T).argmax(axis=1)
    for c in range(n_cells):
        mine = np.flatnonzero(home == c)
        if not len(mine):
            continue
        cand = np.sort(np.concatenate([members[p] for p in probe[c]]))
        q = _unit(np.asarray(embeddings[rest[mine]], dtype=np.float32))
        for start in range(0, len(mine), 1024):
            sims = q[start : start + 1024] @ placed[cand].T
            near = cand[nearest(sims, min(k, len(cand)))]
            out[mine[start : start + 1024]] = xy_sample[near].mean(axis=1)
    return out


def min_cluster_size(n_docs: int, n_sample: int) -> int:
    """The automatic minimum topic size of a fit on ``n_sample`` of ``n_docs`` documents:
    the full corpus's (``cluster.auto_min_cluster_size``) scaled to the sample, at least 5.

    A topic the full fit would just keep has that share of its documents in the sample.
    Measured on the arXiv sample (25%, hashing backend, seeds 1 and 2): the sample's own
    automatic size (11) lost 0.013-0.024 NMI against the full fit, this one (6) 0.003 or
    nothing.
    """
    from pipeline.stages.cluster import auto_min_cluster_size

    return int(max(5, round(auto_min_cluster_size(n_docs) * n_sample / n_docs)))


def fit_vectors(
    embeddings: np.ndarray, texts: list[str], cfg: Config, sample: np.ndarray
) -> np.ndarray:
    """Unit vectors of what the fit read (``reduce.document_vectors``: the embedding and,
    from 1,000 sampled documents up, the word profile), for every document.

    The word profile's vocabulary and SVD are fitted on the sample, exactly as the reduce
    stage fitted them, and every other document is projected into that space in chunks of
    ``TRANSFORM_CHUNK``: the sampled documents' vectors are the ones UMAP read, and memory
    stays bounded by the sample's vocabulary instead of a TF-IDF of the whole corpus (at a
    million documents, gigabytes of 1-2-gram vocabulary).

    Measured on the arXiv sample (BENCHMARKS.md, hashing backend): assigning by the nearest
    centroid of the embedding alone lost 0.08 NMI against the full fit, by these vectors
    0.03, since the clusters were found in a space the word profile shapes as much.
    """
    from pipeline.stages.reduce import lexical_model, lexical_transform, lexical_weight_for

    emb = np.asarray(embeddings)
    weight = lexical_weight_for(cfg.reduce, len(sample))
    model = None
    if weight > 0:
        model = lexical_model([texts[i] for i in sample], cfg.reduce.lexical_dims, cfg.reduce.seed)
    dims = emb.shape[1] + (model[2].shape[1] if model is not None else 0)
    out = np.empty((len(emb), dims), dtype=np.float32)  # filled in chunks: one copy in memory
    sampled = np.zeros(len(emb), dtype=bool)
    sampled[sample] = True
    where = np.full(len(emb), -1, dtype=np.int64)
    where[sample] = np.arange(len(sample))
    for start in range(0, len(emb), TRANSFORM_CHUNK):
        rows = np.arange(start, min(start + TRANSFORM_CHUNK, len(emb)))
        part = _unit(np.asarray(emb[rows], dtype=np.float32))
        if model is not None:
            lex = np.empty((len(rows), model[2].shape[1]), dtype=np.float32)
            inside = sampled[rows]
            lex[inside] = model[2][where[rows[inside]]]
            if (~inside).any():
                lex[~inside] = lexical_transform(model, [texts[i] for i in rows[~inside]])
            part = np.hstack([part, weight * lex])
        out[rows] = _unit(part)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return x / norms


def assign_rest(
    vectors: np.ndarray,
    sample: np.ndarray,
    labels_sample: np.ndarray,
    probs_sample: np.ndarray,
    cfg: Config,
    executor: Executor | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Topics of every document from the sample's clustering; returns labels (numbered by
    size over all documents), probs and the similarity threshold used.

    ``vectors`` are unit vectors of every document (``fit_vectors``). A document outside
    the sample joins its nearest topic centroid when at least as similar as the build's
    outlier rule asks: ``[cluster] outlier_threshold`` when outliers are reassigned (what
    the full fit does with its own outliers), else the similarity the sample's members
    have to their centroids (``assign.member_threshold`` at ``[scale] assign_quantile``).
    The rest are assigned in batches on ``executor`` (a Ray cluster with [engine]).
    """
    n = len(vectors)
    vec_s = vectors[sample]
    ids = np.unique(labels_sample[labels_sample >= 0])
    if cfg.cluster.outlier_reduction == "embeddings":
        threshold = float(cfg.cluster.outlier_threshold)
    else:
        threshold = member_threshold(
            vec_s, labels_sample, cfg.scale.assign_quantile, cfg.cluster.outlier_threshold
        )
    rest = np.setdiff1d(np.arange(n), sample)
    fn = AssignBatch(topic_centroids(vec_s, labels_sample, ids), ids, threshold)
    lab, pr = over_rest(executor, fn, vectors, rest)
    labels = np.full(n, -1, dtype=np.int64)
    probs = np.zeros(n, dtype=np.float32)
    labels[sample], probs[sample] = labels_sample, probs_sample
    labels[rest], probs[rest] = lab, pr
    return renumber_by_size(labels), probs, threshold


def over_rest(
    executor: Executor | None,
    fn: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    source: np.ndarray,
    rest: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """``fn`` over the rows ``rest`` of ``source``. In process, ``TRANSFORM_CHUNK`` rows at a
    time, so no copy of every other document's vector is made; on a cluster, one dataset of
    those rows in ``ASSIGN_BATCH`` batches (Ray Data needs the rows materialised to ship them,
    and one actor pool for the whole stage instead of one per chunk)."""
    if executor is not None and not isinstance(executor, InProcessExecutor):
        return gather(executor, fn, np.asarray(source[rest]), ASSIGN_BATCH)
    local = InProcessExecutor()
    parts = [
        gather(local, fn, np.asarray(source[rest[i : i + TRANSFORM_CHUNK]]), ASSIGN_BATCH)
        for i in range(0, len(rest), TRANSFORM_CHUNK)
    ] or [gather(local, fn, np.asarray(source[rest]), ASSIGN_BATCH)]
    return tuple(np.concatenate(cols) for cols in zip(*parts, strict=True))
