"""Represent: describe each topic with keywords, a short label and representative documents.

Uses BERTopic's c-TF-IDF on the clusters found upstream (BERTopic in "manual" mode: its
own UMAP and HDBSCAN are replaced by pass-throughs), so the clustering stays ours and
cached, and the topic model can be saved with safetensors. Two BERTopic pitfalls are
handled here: its English preprocessing strips hyphens ("in-context" becomes
"incontext"), which is avoided by giving BERTopic an embedding model (it then skips that
step) and a token pattern that keeps hyphenated terms; and a CountVectorizer ``min_df``
counts per-topic documents, not papers, so it is left at 1.
"""

from __future__ import annotations

import importlib.abc
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import RepresentConfig
from pipeline.stages.base import Context
from pipeline.stages.cluster import centroids
from pipeline.stages.coherence import Cooccurrence
from pipeline.stages.phrases import analyzer_for
from pipeline.store.artifacts import model_complete
from pipeline.store.contract import REQUIRED_COLUMNS, TOPICS_FILE


@dataclass
class Representation:
    topics: pd.DataFrame
    topic_embeddings: np.ndarray
    model: object  # the fitted BERTopic, kept for the hierarchy stage
    model_topic_ids: dict[int, int]  # our topic id -> the BERTopic model's topic id


# BERTopic's package imports these for features we never use (its vision backend, LLM
# text generation, the legacy torch weights format), each inside ``try/except ImportError``.
OPTIONAL_TORCH_STACK = ("sentence_transformers", "transformers", "torch")
_IMPORT_LOCK = threading.Lock()


class _HideModules(importlib.abc.MetaPathFinder):
    """A finder that makes the named top-level packages look not installed."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001, ANN201
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is not needed here", name=fullname)
        return None


def import_bertopic() -> None:
    """Import BERTopic without pulling in torch when nothing else has loaded it.

    With the static backend no stage needs torch, yet ``import bertopic`` loads torch,
    transformers and sentence-transformers for optional features: 5-7 s on the 2-core
    machine, half of a static build's represent stage. While BERTopic itself is imported,
    those packages (only the ones not already loaded) are hidden, so it takes its own
    "not installed" fallbacks; afterwards they import normally. Nothing here uses the
    features that lose them (``MultiModalBackend``, ``TextGeneration``, ``.bin`` weights;
    our model is saved with safetensors through numpy). If torch is already loaded, as with
    the transformer backend, the import costs little and the hiding changes nothing that
    matters.
    """
    with _IMPORT_LOCK:
        if "bertopic" in sys.modules:
            return
        finder = _HideModules(tuple(m for m in OPTIONAL_TORCH_STACK if m not in sys.modules))
        sys.meta_path.insert(0, finder)
        try:
            import bertopic  # noqa: F401
        finally:
            sys.meta_path.remove(finder)


def _bertopic_embedder(encode: Callable[[list[str]], np.ndarray]):  # noqa: ANN202
    import_bertopic()
    from bertopic.backend import BaseEmbedder

    class _Wrapped(BaseEmbedder):
        def embed(self, documents, verbose=False):  # noqa: ANN001, ANN202
            return encode(list(documents))

    return _Wrapped()


def make_label(keywords: list[str], n_words: int) -> str:
    """A short readable label: the top keywords, skipping ones already covered by a chosen phrase."""
    chosen: list[str] = []
    for kw in keywords:
        toks = set(re.split(r"[\s-]+", kw.lower()))
        if any(
            toks <= set(re.split(r"[\s-]+", c.lower()))
            or set(re.split(r"[\s-]+", c.lower())) <= toks
            for c in chosen
        ):
            # Prefer the longer phrase when one contains the other.
            for i, c in enumerate(chosen):
                ctoks = set(re.split(r"[\s-]+", c.lower()))
                if ctoks < toks:
                    chosen[i] = kw
            continue
        chosen.append(kw)
        if len(chosen) == n_words:
            break
    seen: list[str] = []
    for c in chosen:
        if c not in seen:
            seen.append(c)
    return " · ".join(seen) if seen else "(no keywords)"


MAX_TOPICS_PER_KEYWORD = 2  # a keyword describes at most this many topics, so topics read apart
SIM_WEIGHT = 0.5  # keyword score: this much similarity to the topic centroid, the rest c-TF-IDF


def fit_representation(
    texts: list[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    xy: np.ndarray,
    doc_ids: list[str],
    encode: Callable[[list[str]], np.ndarray],
    cfg: RepresentConfig,
    seed: int = 42,
) -> Representation:
    """c-TF-IDF candidates from BERTopic, refined against the topic centroids.

    ``encode`` embeds keyword candidates (short strings, cheap, cached by the caller).
    Refinement reuses the document embeddings already computed instead of re-embedding
    representative documents as BERTopic's KeyBERTInspired does, which took most of the
    stage's time on a CPU.
    """
    n_topics = int(labels.max()) + 1 if (labels >= 0).any() else 0
    model = _fit_model(texts, embeddings, labels, encode, cfg)
    # BERTopic renumbers topics by size and breaks ties its own way: map its ids to ours.
    bt = np.asarray(model.topics_)
    ours_to_bt = {t: int(np.bincount(bt[labels == t] + 1).argmax()) - 1 for t in range(n_topics)}

    cents = centroids(embeddings, labels, n_topics)
    candidates = {
        t: [(w, float(s)) for w, s in (model.get_topic(ours_to_bt[t]) or []) if w and s > 0]
        for t in range(n_topics)
    }
    cooc = None
    if cfg.refine != "none" and (cfg.coherence > 0 or cfg.exclusivity > 0):
        from pipeline.stages.coherence import cooccurrence

        words = sorted({w for cands in candidates.values() for w, _ in cands})
        cooc = cooccurrence(texts, labels, words, model.vectorizer_model.analyzer, seed)
    chosen = refine_keywords(candidates, cents, encode, cfg, cooc)
    bt_to_ours = {b: t for t, b in ours_to_bt.items()}
    model.topic_representations_ = {
        b: (chosen.get(bt_to_ours.get(b, -1)) or reps)
        for b, reps in model.topic_representations_.items()
    }
    topics = _topic_rows(labels, embeddings, cents, chosen, xy, doc_ids, cfg)
    model.set_topic_labels({ours_to_bt[int(r.topic)]: r.label for r in topics.itertuples()})
    ixy = intertopic_map(cents, seed)
    topics["ix"] = ixy[:, 0].astype(float) if len(topics) else pd.Series(dtype=float)
    topics["iy"] = ixy[:, 1].astype(float) if len(topics) else pd.Series(dtype=float)
    return Representation(
        topics=topics,
        topic_embeddings=cents.astype(np.float32),
        model=model,
        model_topic_ids=ours_to_bt,
    )


def _fit_model(
    texts: list[str],
    embeddings: np.ndarray,
    labels: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    cfg: RepresentConfig,
) -> Any:
    """BERTopic fitted on our clusters (``y=labels``): its c-TF-IDF keyword candidates."""
    from pipeline.stages.jit import enable_numba_cache

    enable_numba_cache()
    import_bertopic()
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=analyzer_for(cfg, texts, labels), min_df=1)

    class _TopicModel(BERTopic):
        """BERTopic without its representative-document sampling.

        We pick representative documents by distance to the topic centroid; BERTopic's
        sampling re-tokenised up to 500 documents per topic and took most of this stage.
        """

        def _save_representative_docs(self, documents: pd.DataFrame) -> None:
            self.representative_docs_ = {}

    model = _TopicModel(
        embedding_model=_bertopic_embedder(encode),
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=BaseCluster(),
        vectorizer_model=vectorizer,
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        representation_model=None,
        top_n_words=max(cfg.keyword_candidates, cfg.top_n_words),
        calculate_probabilities=False,
        verbose=False,
    )
    model.fit_transform(texts, embeddings=embeddings, y=labels)
    return model


def _topic_rows(
    labels: np.ndarray,
    embeddings: np.ndarray,
    cents: np.ndarray,
    chosen: dict[int, list[tuple[str, float]]],
    xy: np.ndarray,
    doc_ids: list[str],
    cfg: RepresentConfig,
) -> pd.DataFrame:
    """One row per topic: label, size, keywords, the documents nearest its centroid, position."""
    ids = np.asarray(doc_ids)
    n = len(labels)
    rows = []
    used_labels: set[str] = set()
    for t in range(len(cents)):
        members = np.where(labels == t)[0]
        sims = embeddings[members] @ cents[t]
        rep_idx = members[np.argsort(-sims, kind="stable")[: cfg.n_representative_docs]]
        keywords = [w for w, _ in chosen[t]]
        label = make_label(keywords, cfg.label_words)
        if label in used_labels:
            label = f"{label} ({t})"
        used_labels.add(label)
        rows.append(
            {
                "topic": t,
                "label": label,
                "size": int(len(members)),
                "share": len(members) / n,
                "keywords": keywords,
                "keyword_weights": [round(s, 6) for _, s in chosen[t]],
                "representative_doc_ids": ids[rep_idx].tolist(),
                "x": float(np.median(xy[members, 0])),
                "y": float(np.median(xy[members, 1])),
            }
        )
    # topics.parquet's columns but the intertopic map's, which are added after.
    columns = [c for c in REQUIRED_COLUMNS[TOPICS_FILE] if c not in ("ix", "iy")]
    return pd.DataFrame(rows, columns=columns)


def _norm(v: np.ndarray) -> np.ndarray:
    top = v.max() if len(v) else 1.0
    return v / top if top > 0 else v


def refine_keywords(
    candidates: dict[int, list[tuple[str, float]]],
    cents: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    cfg: RepresentConfig,
    cooc: Cooccurrence | None = None,
) -> dict[int, list[tuple[str, float]]]:
    """Rank each topic's candidates, diversify within it, and keep keywords distinctive across topics.

    A candidate's relevance is its c-TF-IDF mixed with its similarity to the topic's
    centroid, and, with ``cooc`` (``pipeline.stages.coherence``), with its exclusivity to
    the topic; candidates are then ordered for coherence with the words already picked and
    against redundancy with them (``order_candidates``).
    """
    from pipeline.stages.coherence import exclusivity_weight, order_candidates

    words = sorted({w for cands in candidates.values() for w, _ in cands})
    if not words:
        return {t: [] for t in candidates}
    wvec = encode(words) if cfg.refine != "none" else None
    widx = {w: i for i, w in enumerate(words)}
    excl = exclusivity_weight(cfg.exclusivity, len(candidates)) if cooc is not None else 0.0
    ranked: dict[int, list[tuple[str, float]]] = {}
    for t, cands in candidates.items():
        if not cands:
            ranked[t] = []
            continue
        ws = [w for w, _ in cands]
        ctf = _norm(np.array([s for _, s in cands]))
        if wvec is None:
            ranked[t] = list(zip(ws, ctf.tolist(), strict=True))
            continue
        vec = wvec[[widx[w] for w in ws]]
        sim = np.clip(vec @ cents[t], 0, None)
        score = SIM_WEIGHT * _norm(sim) + (1 - SIM_WEIGHT) * ctf
        if cfg.refine == "mmr":
            score = ctf
        if excl > 0:
            score = (1 - excl) * score + excl * cooc.exclusivity(ws, t)
        npmi = cooc.npmi(ws) if cooc is not None and cfg.coherence > 0 else None
        order = order_candidates(score, vec @ vec.T, cfg.mmr_diversity, npmi, cfg.coherence)
        ranked[t] = [(ws[i], float(score[i])) for i in order]

    # Each keyword may describe at most MAX_TOPICS_PER_KEYWORD topics: the ones it ranks highest in.
    best: dict[str, list[tuple[float, int]]] = {}
    for t, lst in ranked.items():
        for rank, (w, s) in enumerate(lst):
            best.setdefault(w, []).append((rank - s, t))
    allowed = {w: {t for _, t in sorted(v)[:MAX_TOPICS_PER_KEYWORD]} for w, v in best.items()}
    out = {}
    for t, lst in ranked.items():
        keep = [(w, s) for w, s in lst if t in allowed[w]]
        if len(keep) < 3:  # never starve a topic of words
            keep = lst
        out[t] = keep[: cfg.top_n_words]
    return out


def intertopic_map(cents: np.ndarray, seed: int) -> np.ndarray:
    """2-d positions of topics preserving their centroid distances (metric MDS)."""
    k = len(cents)
    if k == 0:
        return np.zeros((0, 2))
    if k <= 2:
        return np.array([[float(i), 0.0] for i in range(k)])
    from sklearn.manifold import MDS

    dist = np.clip(1.0 - cents @ cents.T, 0, 2)
    np.fill_diagonal(dist, 0)
    dist = (dist + dist.T) / 2
    import inspect

    params = inspect.signature(MDS).parameters
    kwargs: dict[str, object] = {
        "n_components": 2,
        "random_state": seed,
        "n_init": 1,
        "max_iter": 300,
    }
    if "init" in params:  # scikit-learn >= 1.8 renamed dissimilarity to metric and added init
        kwargs |= {"metric": "precomputed", "init": "classical_mds"}
    else:
        kwargs |= {"dissimilarity": "precomputed", "normalized_stress": "auto"}
    mds = MDS(**kwargs)
    return mds.fit_transform(dist)


def save_model(model, directory: Path) -> None:  # noqa: ANN001
    """Save the BERTopic model with safetensors (never pickle).

    The embedding model is not saved with it (the manifest names it): storing a hub
    pointer would make ``BERTopic.load`` try the network.
    """
    import logging

    logger = logging.getLogger("BERTopic")
    was, logger.disabled = logger.disabled, True  # its "no embedding model" warning is expected
    try:
        model.save(
            str(directory),
            serialization="safetensors",
            save_ctfidf=True,
            save_embedding_model=False,
        )
    finally:
        logger.disabled = was


def run(ctx: Context) -> dict[str, Any]:
    """The represent stage: topics.parquet's rows and the topic centroids.

    The fitted BERTopic model is held in memory only (``transient``): the hierarchy
    stage reads it, and then ``keep_model`` stores it beside this stage's cached result.
    """
    from pipeline.stages.embed import encode

    cfg = ctx.cfg
    rep = fit_representation(
        ctx.inputs["texts"],
        ctx.get("embeddings"),
        ctx.get("labels"),
        ctx.get("xy"),
        ctx.inputs["doc_ids"],
        lambda texts: encode(ctx, texts),
        cfg.represent,
        seed=cfg.reduce.seed,
    )
    return {
        "topics": rep.topics,
        "topic_embeddings": rep.topic_embeddings,
        "model": rep.model,
        "model_ids": rep.model_topic_ids,
    }


def model_dir(ctx: Context) -> Path:
    """Where the fitted model of this represent result is kept (and published from)."""
    from pipeline.store.contract import MODEL_DIR

    return ctx.store.stage_dir("represent", ctx.keys["represent"]) / MODEL_DIR


def keep_model(ctx: Context) -> None:
    """Save a freshly fitted model once per represent key (safetensors, never pickle)."""
    import contextlib
    import shutil

    from pipeline.store.cache import atomic_dir

    model = ctx.out["represent"].get("model")
    target = model_dir(ctx)
    if model is not None and not model_complete(target):
        shutil.rmtree(target, ignore_errors=True)  # an incomplete copy, if any
        with contextlib.suppress(FileExistsError), atomic_dir(target) as tmp:
            save_model(model, tmp)


def model_saved(ctx: Context) -> bool:
    """Whether this represent result's model is whole (a killed build may have left none)."""
    return model_complete(model_dir(ctx))
