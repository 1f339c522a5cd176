"""Reduce: UMAP to a low-dimensional space for clustering and to 2-d for the map.

The k-nearest-neighbour graph is the expensive, shared part, so it is computed once and
handed to both UMAP fits. The neighbour count adapts to corpus size: 10 keeps the small
topics of a 250-paper corpus apart, 30 gives a 20k corpus a coherent global layout.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from pipeline.config import ReduceConfig
from pipeline.stages.base import Context


def auto_neighbors(n_docs: int) -> int:
    return int(min(30, max(10, round(2.5 * math.log10(max(n_docs, 10)) ** 2))))


def n_neighbors_for(cfg: ReduceConfig, n_docs: int) -> int:
    k = cfg.n_neighbors or auto_neighbors(n_docs)
    return max(2, min(k, n_docs - 1))


EXACT_KNN_MAX = 40_000  # below this, exact kNN by BLAS beats NN-descent and needs no JIT


def exact_knn(
    x: np.ndarray, k: int, metric: str, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self first), in row chunks to bound memory.

    The chunks run side by side, one per core (``fit_workers``), each with single-threaded
    BLAS: the matrix product and the partial sort both release the interpreter lock, so the
    sort of one chunk overlaps the product of the next instead of leaving a core idle. On the
    SOTU paragraphs (22,910 x 356) this took 5.5 s against 8.8 s with threaded BLAS and one
    sort at a time. With BLAS on one thread the graph is also the same on any number of
    cores (OpenBLAS rounds a product differently with one thread than with two).
    """
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        norms[norms == 0] = 1
        x = x / norms
    sq = (x * x).sum(axis=1)
    n = len(x)
    idx = np.empty((n, k), dtype=np.int32)
    dist = np.empty((n, k), dtype=np.float32)

    def one(start: int) -> None:
        block = x[start : start + chunk]
        if metric == "cosine":
            d = block @ x.T
            np.subtract(1.0, d, out=d)  # in place: no second chunk-sized array
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

    starts = range(0, n, chunk)
    with threadpool_limits(1, user_api="blas"):
        workers = fit_workers(len(starts))
        if workers == 1:
            for start in starts:
                one(start)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="knn") as pool:
                list(pool.map(one, starts))
    return idx, dist


def lexical_model(texts: list[str], dims: int, seed: int) -> tuple[Any, Any, np.ndarray] | None:
    """The word profile's fitted TF-IDF vectoriser and SVD, and ``texts``' unit profiles.

    Sublinear TF-IDF of 1-2-grams, reduced by SVD (``lexical_vectors``). The fitted pair
    lets a sampled build give every other document a profile in the same space
    (``lexical_transform``). Returns None where the corpus has too little vocabulary.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    if n < 4:
        return None
    vec = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        stop_words="english",
        min_df=2,
        max_df=0.5,
        dtype=np.float32,
    )
    try:
        tfidf = vec.fit_transform(texts)
    except ValueError:  # empty vocabulary: every term is a stop word or appears once
        return None
    k = min(dims, tfidf.shape[1] - 1, n - 1)
    if k < 2:
        return None
    svd = TruncatedSVD(n_components=k, algorithm="randomized", random_state=seed)
    return vec, svd, _unit(svd.fit_transform(tfidf).astype(np.float32))


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return x / norms


def lexical_transform(model: tuple[Any, Any, np.ndarray], texts: list[str]) -> np.ndarray:
    """Unit word profiles of ``texts`` in a fitted model's space (``lexical_model``)."""
    vec, svd, _ = model
    return _unit(svd.transform(vec.transform(texts)).astype(np.float32))


def lexical_vectors(texts: list[str], dims: int, seed: int) -> np.ndarray | None:
    """Each document's word profile: sublinear TF-IDF of 1-2-grams, reduced by SVD, unit length.

    A sentence-embedding model of MiniLM's size places papers that share a field's
    vocabulary (a method's name, a dataset, a jargon phrase) further apart than their topic
    warrants; the words themselves are the sharper signal there. On the arXiv sample, adding
    this profile with equal weight raised NMI against the topic labels from 0.74 to 0.78.
    Returns None where the corpus has too little vocabulary for a profile.
    """
    model = lexical_model(texts, dims, seed)
    return None if model is None else model[2]


LEXICAL_MIN_DOCS = 1_000  # below this the auto lexical weight is 0 (see lexical_weight_for)


def lexical_weight_for(cfg: ReduceConfig, n_docs: int) -> float:
    """The word profile's weight: the configured one, else 1 from 1,000 documents up.

    Measured (BENCHMARKS.md): on the 4,079-paper arXiv sample the profile lifts NMI against
    the labels from 0.74 to 0.77 and keeps seed-to-seed ARI at 0.90; on the 265 trending
    papers, where most terms occur in a handful of documents, it dropped seed ARI from
    0.85 to 0.55.
    """
    if cfg.lexical_weight is not None:
        return cfg.lexical_weight
    return 1.0 if n_docs >= LEXICAL_MIN_DOCS else 0.0


def document_vectors(
    embeddings: np.ndarray, texts: list[str] | None, cfg: ReduceConfig
) -> np.ndarray:
    """What UMAP reads: the unit embedding, and the word profile times ``lexical_weight``.

    With both parts unit length, the cosine of two such vectors is a weighted mean of the
    embeddings' cosine and the word profiles' cosine (weights 1 and ``lexical_weight``²).
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    weight = lexical_weight_for(cfg, len(emb))
    if not texts or weight <= 0:
        return emb
    lex = lexical_vectors(texts, cfg.lexical_dims, cfg.seed)
    if lex is None:
        return emb
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return np.hstack([emb / norms, weight * lex]).astype(np.float32)


def auto_ensemble(n_docs: int) -> int:
    return 10 if n_docs <= 1_000 else 5 if n_docs <= 6_000 else 1


def reduce(
    embeddings: np.ndarray,
    cfg: ReduceConfig,
    tick: Callable[[str], None] | None = None,
    texts: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (clustering spaces, 2-d map), float32, seeded.

    The clustering spaces have shape (ensemble, n, n_components): one UMAP fit per seed,
    all sharing one kNN graph, for the consensus clustering downstream. With ``texts``
    and ``cfg.lexical_weight > 0``, UMAP reads the embeddings joined with the documents'
    word profiles (``document_vectors``); without texts, the embeddings alone.
    """
    from pipeline.stages.jit import enable_numba_cache

    enable_numba_cache()
    from umap import UMAP
    from umap.umap_ import nearest_neighbors

    if tick and texts and lexical_weight_for(cfg, len(embeddings)) > 0:
        tick("word profiles")
    embeddings = document_vectors(embeddings, texts, cfg)
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
        m = cfg.ensemble or auto_ensemble(n)
        fits = [
            (
                f"cluster space {i + 1}/{m}",
                UMAP(
                    n_components=min(cfg.n_components, n - 2),
                    min_dist=cfg.min_dist,
                    **{**common, "random_state": cfg.seed + i},
                ),
            )
            for i in range(m)
        ]
        fits.append(("2-d map", UMAP(n_components=2, min_dist=cfg.map_min_dist, **common)))
        layouts = run_fits(fits, embeddings, tick)
    return np.stack(layouts[:-1]).astype(np.float32), layouts[-1].astype(np.float32)


THREADS_ENV = "TOPICTRENDS_UMAP_THREADS"


def fit_workers(n_fits: int) -> int:
    """Threads for the reduce stage's side-by-side work (UMAP fits, kNN chunks): one per core
    this process may use, or ``$TOPICTRENDS_UMAP_THREADS``, at most one per task. Not a
    config setting: it changes the time, never the result."""
    from pipeline.stages.embed import available_cpus

    try:
        cores = int(os.environ.get(THREADS_ENV) or 0) or available_cpus()
    except ValueError:
        cores = available_cpus()
    return max(1, min(n_fits, cores))


def run_fits(
    fits: list[tuple[str, Any]], x: np.ndarray, tick: Callable[[str], None] | None
) -> list[np.ndarray]:
    """Fit every UMAP on ``x``, side by side on the cores there are, results in order.

    Each fit is seeded and single-threaded, so the result does not depend on how many run
    at once; they overlap because UMAP's epoch loop is numba code compiled without the
    GIL (``pipeline.stages.jit``). On two cores the SOTU paragraphs' reduce stage went from 63 s to
    42 s. The caller silences UMAP's warnings: ``warnings.catch_warnings`` is not safe to
    enter from several threads at once.
    """
    workers = fit_workers(len(fits))
    if workers == 1:
        out = []
        for name, model in fits:
            if tick:
                tick(name)
            out.append(model.fit_transform(x))
        return out
    if tick:
        tick(f"{len(fits)} UMAP fits on {workers} threads")
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="umap") as pool:
        futures = [pool.submit(model.fit_transform, x) for _, model in fits]
        out = []
        for (name, _), future in zip(fits, futures, strict=True):
            out.append(future.result())
            if tick:
                tick(f"{name} done")
        return out


def run(ctx: Context) -> dict[str, Any]:
    """The reduce stage: clustering spaces and the 2-d map of the embeddings.

    With a fit sample (``pipeline.stages.sample``) UMAP fits the sample only: the spaces
    hold the sampled documents, and the map places the rest beside their nearest sampled
    documents.
    """
    from pipeline.stages.sample import place_rest

    embeddings, texts = ctx.get("embeddings"), ctx.inputs["texts"]
    picked = ctx.inputs.get("sample")
    if picked is not None:
        embeddings = np.asarray(embeddings)
        embeddings, texts = embeddings[picked], [texts[i] for i in picked]
    spaces, xy = reduce(
        embeddings,
        ctx.cfg.reduce,
        tick=lambda what: ctx.reporter.info(f"reduce: {what}"),
        texts=texts,
    )
    if picked is not None:
        ctx.reporter.info(f"reduce: placing the documents outside the {len(picked)}-sample")
        xy = place_rest(
            np.asarray(ctx.get("embeddings")),
            picked,
            xy,
            ctx.cfg.scale.map_neighbors,
            ctx.cfg.reduce.seed,
            ctx.executor,
        )
    return {"spaces": spaces, "xy": xy}
