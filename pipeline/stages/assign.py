"""Update: fold new documents into an existing run without refitting it.

Pure functions, no I/O, and the ``assign`` stage (``run``) of the update flow
(``pipeline.flows.update``), which reads the run, runs the stages and publishes the result. The run's topics are frozen: a new document joins the existing topic
whose centroid it is most similar to (cosine in embedding space) when that similarity is
at least ``[update] assign_threshold``, so ids and labels never move. Documents that fit
no topic, together with the earlier updates' documents that fitted none, are clustered
with HDBSCAN in embedding space; each cluster of at least ``min_new_topic_size``
documents holding at least one of this step's documents becomes a new topic. Outliers of
the first build are left alone: the full clustering already judged them.

New documents are placed on the 2-d map at the mean position of their most similar
documents already there, so the existing map (and every position a user has learnt)
stays put; ``topictrends build --refit`` recomputes the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import stable_hash
from pipeline.errors import UserError
from pipeline.stages.base import Context, digest
from pipeline.stages.cluster import renumber_by_size, topic_centroids

CHUNK = 65_536  # documents whose similarities are computed at once (bounded memory at 1M)
PLACE_CELLS = 1 << 25  # similarities held at once while placing new documents


def place_reference(n_placed: int, cap: int, seed: int) -> slice | np.ndarray:
    """Rows of the run's documents that new ones are placed beside.

    All of them up to ``cap`` ([scale] fit_sample, or its automatic size); above it, a
    seeded sample of ``cap`` rows, the same on every machine. A build places the
    documents outside its fit sample beside sampled ones in the same way; comparing each
    new document with a million placed ones took 88 s and 11 GB for a 1% update at 1M.
    """
    if n_placed <= cap:
        return slice(0, n_placed)  # a view: no copy of the run's embeddings
    return np.sort(np.random.default_rng(seed).choice(n_placed, size=cap, replace=False))


def member_threshold(
    embeddings: np.ndarray, labels: np.ndarray, quantile: float, floor: float
) -> float:
    """The similarity most members of the run's topics have to their own centroid.

    The ``quantile`` of every clustered document's cosine to its topic's centroid, and at
    least ``floor``. Scale-free across embedders: with all-MiniLM-L6-v2, unrelated ML
    abstracts sit at 0.45-0.6 from a topic centroid while members sit at 0.6-0.9, and
    with the hashing embedder everything is lower, so no single fixed cosine serves both.
    """
    ids = np.unique(labels[labels >= 0])
    if len(ids) == 0:
        return floor
    cents = topic_centroids(embeddings, labels, ids)
    members = np.where(labels >= 0)[0]
    sims = np.empty(len(members), dtype=np.float32)
    for start in range(0, len(members), CHUNK):  # float32 copies of a chunk, not of the run
        rows = members[start : start + CHUNK]
        pos = np.searchsorted(ids, labels[rows])
        sims[start : start + len(rows)] = (
            np.asarray(embeddings[rows], dtype=np.float32) * cents[pos]
        ).sum(axis=1)
    return max(floor, round(float(np.quantile(sims, quantile)), 6))


def assign(
    embeddings: np.ndarray, centroids: np.ndarray, ids: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest topic by cosine when at least ``threshold``, else -1; and that cosine.

    Returns (labels int64, probs float32): ``probs`` is the cosine clipped to [0, 1], the
    same ``topic_prob`` a build gives outliers it reassigns; 0 for documents left out.
    The cosines are summed in float64, so a document gets the same float32 value however
    its batch was cut (here or on a Ray worker: float32 sums differed in the last bit).
    """
    n = len(embeddings)
    labels = np.full(n, -1, dtype=np.int64)
    probs = np.zeros(n, dtype=np.float32)
    if n == 0 or len(ids) == 0:
        return labels, probs
    sims = embeddings.astype(np.float64) @ centroids.T.astype(np.float64)
    best = sims.argmax(axis=1)
    best_sim = sims[np.arange(n), best]
    ok = best_sim >= threshold
    labels[ok] = ids[best[ok]]
    probs[ok] = np.clip(best_sim[ok], 0, 1)
    return labels, probs


def detect(embeddings: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN over the unit embeddings of the documents that fit no topic.

    Euclidean distance on unit vectors orders pairs exactly as cosine does. Selection is
    'eom' with a single cluster allowed: on a planted late topic among a step's leftovers,
    'leaf' and 'eom' without a single cluster both returned nothing but noise. Returns
    (labels numbered by size with -1 for noise, membership strengths). Fewer documents
    than ``min_size`` cannot form a topic, so nothing is run then.
    """
    n = len(embeddings)
    if n < max(min_size, 2):
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.float32)
    import hdbscan

    from pipeline.stages.jit import enable_numba_cache

    enable_numba_cache()
    model = hdbscan.HDBSCAN(
        min_cluster_size=min_size,
        min_samples=max(1, round(min_size / 2)),
        metric="euclidean",
        cluster_selection_method="eom",
        # The leftovers of a step are often one new theme plus noise: without this,
        # HDBSCAN never returns its root, so a lone new topic would stay unseen.
        allow_single_cluster=True,
        core_dist_n_jobs=1,
    )
    raw = model.fit_predict(embeddings.astype(np.float64))
    probs = np.asarray(model.probabilities_, dtype=np.float32)
    labels = renumber_by_size(raw)
    probs[labels == -1] = 0.0
    return labels, probs


def nearest(sims: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest values, largest first, ties to the earlier
    column: exactly ``np.argsort(-sims, axis=1, kind="stable")[:, :k]``. Overwrites ``sims``.

    For the few neighbours a position needs, ``k`` passes of ``argmax`` (which returns the
    first of equal maxima, as a stable sort would) each masking what it found: linear in
    the row length, where the full sort of every row took most of the reduce stage when
    50,000 documents were placed among 50,000 sampled ones (and ``argpartition``, also
    linear, measured 3-4x slower than this on such blocks).
    """
    n = sims.shape[1]
    if k > 32 or k >= n:
        return np.argsort(-sims, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(sims))
    out = np.empty((len(sims), k), dtype=np.int64)
    for j in range(k):
        out[:, j] = best = sims.argmax(axis=1)
        sims[rows, best] = -np.inf
    return out


def place(new_embeddings: np.ndarray, embeddings: np.ndarray, xy: np.ndarray, k: int) -> np.ndarray:
    """2-d positions for new documents: the mean of their ``k`` most similar placed ones.

    New documents are taken in blocks of 1,024, fewer when the placed documents are many,
    so the block's similarities stay within ``PLACE_CELLS`` (128 MiB): 1,024 rows against
    a million placed documents were 4 GiB at once.
    """
    if len(new_embeddings) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    k = max(1, min(k, len(embeddings)))
    placed = np.asarray(embeddings, dtype=np.float32)
    out = np.zeros((len(new_embeddings), 2), dtype=np.float32)
    step = max(1, min(1024, PLACE_CELLS // len(placed)))
    for start in range(0, len(new_embeddings), step):
        block = new_embeddings[start : start + step].astype(np.float32)
        sims = block @ placed.T
        # the most similar first, ties to the earlier document
        out[start : start + len(block)] = xy[nearest(sims, k)].mean(axis=1)
    return out


@dataclass(frozen=True)
class AssignBatch:
    """``assign`` against fixed centroids for one block of vectors: what an executor runs
    per batch (picklable; a Ray actor keeps the centroids for all its batches)."""

    centroids: np.ndarray
    ids: np.ndarray
    threshold: float

    def __call__(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return assign(np.asarray(vectors), self.centroids, self.ids, self.threshold)


@dataclass(frozen=True)
class PlaceBatch:
    """``place`` beside fixed placed documents for one block of embeddings (per batch)."""

    embeddings: np.ndarray
    xy: np.ndarray
    k: int

    def __call__(self, new_embeddings: np.ndarray) -> tuple[np.ndarray]:
        return (place(np.asarray(new_embeddings), self.embeddings, self.xy, self.k),)


def coherent(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """Members at least ``threshold`` similar to the centroid of the *other* members.

    HDBSCAN with a single cluster allowed will call a loose heap of unrelated leftovers a
    cluster; this keeps only documents that would have joined the topic the rest make (the
    same test a new document passes to join a topic). Leaving the document itself out of
    the centroid keeps a small cluster from looking tight just because each member pulls
    the centroid towards itself.
    """
    e = embeddings.astype(np.float64)
    rest = e.sum(axis=0)[None, :] - e
    norms = np.linalg.norm(rest, axis=1)
    norms[norms == 0] = 1
    return (e * rest).sum(axis=1) / norms >= threshold


@dataclass
class Folded:
    """Topic of every document after an update, and which topics are new."""

    labels: np.ndarray  # int64, one per document of the updated run
    probs: np.ndarray  # float32
    new_topics: list[int]  # ids given to new topics, largest first
    assigned: int  # new documents that joined an existing topic
    in_new_topics: int  # documents (new or earlier leftovers) in the new topics


def fold(
    embeddings: np.ndarray,
    labels: np.ndarray,
    probs: np.ndarray,
    added_step: np.ndarray,
    step: int,
    threshold: float,
    min_new_topic_size: int,
    next_id: int,
) -> Folded:
    """Assign this step's documents, then look for new topics among the leftovers.

    ``labels``/``probs`` hold the previous topics for earlier documents (anything for this
    step's, which ``added_step == step`` marks); ``next_id`` is the first unused topic id.
    HDBSCAN in 384 dimensions calls many members of a real cluster noise, so, as a build
    does with its outliers, leftovers then join the nearest new topic whose centroid they
    are at least ``threshold`` similar to.
    """
    labels = labels.astype(np.int64).copy()
    probs = probs.astype(np.float32).copy()
    is_new = added_step == step
    old = ~is_new
    ids = np.unique(labels[old & (labels >= 0)])
    cents = topic_centroids(embeddings, labels, ids)
    new_idx = np.where(is_new)[0]
    lab, pr = assign(embeddings[new_idx], cents, ids, threshold)
    labels[new_idx], probs[new_idx] = lab, pr
    assigned = int((lab >= 0).sum())

    pool = np.where((labels == -1) & (added_step > 0))[0]
    found, strength = detect(embeddings[pool], min_new_topic_size)
    kept: list[np.ndarray] = []  # per cluster that becomes a topic: its positions in pool
    for c in range(int(found.max()) + 1 if len(found) else 0):
        # One index into the pool, filtered once, for both the documents and their
        # strengths: filtering the members but not the strengths misaligned them.
        at = np.where(found == c)[0]
        at = at[coherent(embeddings[pool[at]], threshold)]
        if len(at) < min_new_topic_size or not is_new[pool[at]].any():
            # Too loose to be a topic, or only earlier leftovers: nothing arrived that
            # would make it a topic now.
            continue
        kept.append(at)
    # The filter can leave a smaller HDBSCAN cluster the larger topic: ids go by what is
    # kept, largest first (a stable sort keeps HDBSCAN's order between equal sizes).
    kept.sort(key=len, reverse=True)
    new_topics = [next_id + i for i in range(len(kept))]
    for tid, at in zip(new_topics, kept, strict=True):
        labels[pool[at]] = tid
        probs[pool[at]] = strength[at]
    in_new = 0
    if new_topics:
        rest = pool[labels[pool] == -1]
        ids_new = np.array(new_topics, dtype=np.int64)
        lab, pr = assign(
            embeddings[rest], topic_centroids(embeddings, labels, ids_new), ids_new, threshold
        )
        labels[rest[lab >= 0]] = lab[lab >= 0]
        probs[rest[lab >= 0]] = pr[lab >= 0]
        in_new = int(np.isin(labels, ids_new).sum())
    return Folded(
        labels=labels, probs=probs, new_topics=new_topics, assigned=assigned, in_new_topics=in_new
    )


def _missing(value: Any) -> bool:
    """An absent metadata value: null, NaN, or the empty cell a CSV reads as ''."""
    if isinstance(value, str):
        return value.strip() == ""
    if np.ndim(value) > 0 or isinstance(value, dict):
        return False  # a list or an array is a value, however it is filled
    return bool(pd.isna(value))


_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def _as_bool(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    word = str(value).strip().lower()
    return True if word in _TRUE else False if word in _FALSE else None


def _as_text(value: Any) -> Any:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))  # 7, not 7.0: an integer column with gaps reads as floats
    return value if isinstance(value, str) else str(value)


def _conform_column(previous: pd.Series, values: pd.Series) -> tuple[pd.Series, str, str] | None:
    """``values`` read as the type of ``previous``, with one value and many of that type in
    words; None to keep them as they are (a type with no lossless reading, e.g. lists).

    Unreadable values come back missing; the caller compares with the input to find them.
    """
    kind = previous.dtype
    present = values.map(lambda v: not _missing(v))
    if pd.api.types.is_bool_dtype(kind):
        return (
            values.where(present).map(_as_bool, na_action="ignore"),
            "true or false",
            "true/false values",
        )
    if pd.api.types.is_numeric_dtype(kind):
        text = values.where(present).map(
            lambda v: v.strip() if isinstance(v, str) else v, na_action="ignore"
        )
        return pd.to_numeric(text, errors="coerce"), "a number", "numbers"
    if pd.api.types.is_datetime64_any_dtype(kind):
        tz = getattr(kind, "tz", None)
        out = pd.to_datetime(
            values.where(present), errors="coerce", utc=tz is not None, format="mixed"
        )
        return (out.dt.tz_convert(tz) if tz is not None else out), "a date", "dates"
    prev_present = previous[previous.map(lambda v: not _missing(v))]
    if pd.api.types.is_string_dtype(kind) and prev_present.map(type).eq(str).all():
        # Strings stay as they are ('' included, as a CSV run holds them).
        return values.map(_as_text, na_action="ignore"), "text", "text"
    return None


def conform_metadata(
    prev_docs: pd.DataFrame, new: pd.DataFrame, columns: list[str], source: Path, run: str
) -> pd.DataFrame:
    """The batch's values of the run's metadata ``columns``, read as the run's types.

    One published column holds one Parquet type, so a batch whose export types a field
    differently (a run built from Parquet or JSON Lines holding numbers, updated from a
    CSV, which reads every cell as text) used to end in a pyarrow traceback. A value that
    reads losslessly as the run's type is converted (``"3"`` to 3, a number to text for a
    text column); one that does not is refused in one line naming the column, the
    document and the fix, before anything is written.
    """
    out = new.copy()
    for col in columns:
        if col not in new.columns or prev_docs[col].map(_missing).all():
            continue
        conformed = _conform_column(prev_docs[col], new[col])
        if conformed is None:
            continue
        values, one, kind = conformed
        lost = new[col].map(lambda v: not _missing(v)).to_numpy() & values.isna().to_numpy()
        if lost.any():
            i = int(np.argmax(lost))
            raise UserError(
                f"{source}: column '{col}', document '{new['doc_id'].iloc[i]}': "
                f"{new[col].iloc[i]!r} is not {one}, and run '{run}' holds {kind} in that "
                f"column. Fix the value, or rename the column in {source.name} to add it "
                "as a new one."
            )
        out[col] = values
    return out


def interpolate_position(
    centroid: np.ndarray, centroids: np.ndarray, positions: np.ndarray, k: int = 3
) -> np.ndarray:
    """A new topic's spot on the intertopic map: similarity-weighted mean of its k nearest."""
    if len(centroids) == 0:
        return np.zeros(2)
    sims = centroids @ centroid
    nearest = np.argsort(-sims, kind="stable")[: min(k, len(centroids))]
    w = np.clip(sims[nearest], 0, None) + 1e-6
    return (positions[nearest] * w[:, None]).sum(axis=0) / w.sum()


# --------------------------------------------------------------------------- the stage
@dataclass
class Previous:
    """What an update starts from: the run's current build, read once by the flow."""

    docs: pd.DataFrame  # its documents.parquet
    topics: pd.DataFrame  # its topics.parquet
    history: pd.DataFrame  # topic_history.parquet up to it
    step: int  # this update's step
    added: np.ndarray  # added_step of every document of the updated run
    next_id: int  # first topic id the run has never used
    run_key: str | None
    # The build's period and its over-time tables (without ``partial``), for counting only
    # the periods an update touches (``over_time.touched``); None: count everything.
    period: str | None = None
    over_time: pd.DataFrame | None = None
    keywords: pd.DataFrame | None = None
    # Its hierarchy.parquet: an update keeps it, and the trends stage scores its nodes.
    hierarchy: pd.DataFrame | None = None


def run(ctx: Context) -> dict[str, Any]:
    """The assign stage: fold the new documents into the frozen topics and place them.

    It stands in for the build's clustering, so its key is recorded as the ``cluster``
    key, which the trend stages are keyed on.
    """
    from pipeline.stages.cluster import auto_min_cluster_size

    prev, cfg = ctx.inputs["previous"], ctx.cfg
    embeddings = ctx.get("embeddings")
    n_prev = len(prev.docs)
    n_new = len(embeddings) - n_prev
    first = prev.history["step"] == prev.history["step"].min()
    first_size = int(prev.history.loc[first, "size"].sum()) or n_prev
    min_size = (
        cfg.update.min_new_topic_size
        or cfg.cluster.min_cluster_size
        or auto_min_cluster_size(first_size)
    )
    prev_labels = np.concatenate([prev.docs["topic"].to_numpy(np.int64), np.full(n_new, -1)])
    threshold = (
        cfg.update.assign_threshold
        if cfg.update.assign_threshold is not None
        else member_threshold(
            embeddings, prev_labels, cfg.update.assign_quantile, cfg.cluster.outlier_threshold
        )
    )
    prev_probs = np.concatenate([prev.docs["topic_prob"].to_numpy(np.float32), np.zeros(n_new)])
    folded = fold(
        embeddings,
        prev_labels,
        prev_probs,
        prev.added,
        prev.step,
        threshold,
        min_size,
        prev.next_id,
    )
    prev_xy = prev.docs[["x", "y"]].to_numpy(np.float32)
    from pipeline.stages.executor import gather
    from pipeline.stages.sample import fit_sample_size

    ref = place_reference(n_prev, fit_sample_size(cfg.scale, n_prev), cfg.reduce.seed)
    fn = PlaceBatch(np.asarray(embeddings[ref]), prev_xy[ref], cfg.update.map_neighbors)
    (placed,) = gather(ctx.executor, fn, np.asarray(embeddings[n_prev:]), 8192)
    xy = np.concatenate([prev_xy, placed]).astype(np.float32)
    ctx.record.update(
        assigned=folded.assigned,
        new_topics=len(folded.new_topics),
        threshold=threshold,
        min_new_topic_size=min_size,
    )
    labels_digest = digest([str(x) for x in folded.labels])
    ctx.keys["cluster"] = stable_hash(
        ["update", prev.run_key, digest(ctx.inputs["hashes"]), labels_digest]
    )
    return {"labels": folded.labels, "probs": folded.probs, "xy": xy, "folded": folded}
