"""Lineage: how the topics of one build relate to the topics of the build before it.

Pure functions, no I/O (the flows read the previous build and write the results). Two
callers:

* ``topictrends build --refit`` clusters from scratch, so its topic ids are fresh
  (0 = largest). ``match_topics`` pairs each new topic with at most one previous topic by
  an optimal assignment (``scipy.optimize.linear_sum_assignment``) on a similarity that
  mixes topic-embedding cosine (document overlap instead when the two builds' embeddings
  come from different models, ``comparable``) and keyword overlap; a pair at or above
  ``[update] match_threshold`` keeps the previous id, every other new topic gets a fresh
  id above every id the run has ever used, so an id never changes meaning.
* ``topictrends update`` keeps every previous topic by construction; ``update_lineage``
  records it as ``same`` or ``grew`` and the topics found among the new documents as
  ``new``.

Relations come from document overlap over the documents both builds have (``overlap``):

* ``split``: a previous topic sends at least ``split_share`` of its documents to each of
  two or more new topics (one row per such new topic);
* ``merged``: a new topic receives at least ``merge_share`` of the documents of each of
  two or more previous topics (one row per such previous topic);
* ``same`` / ``grew``: a matched pair that is neither; ``grew`` when the topic has at
  least ``grow_ratio`` times its previous size;
* ``new``: a new topic with no row above; ``gone``: a previous topic with no row above.

The similarity matrix decides which ids are kept; overlap is what the rows report, and
documents that only one build has (new or dropped ones) cannot count for or against a
match. Within one embedding space that matrix holds no document overlap; across spaces
the overlap's Jaccard is the only signal besides keywords that means the same on both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import UpdateConfig
from pipeline.store.contract import HISTORY_COLUMNS, LINEAGE_COLUMNS, RELATIONS


@dataclass(frozen=True)
class TopicSet:
    """The topics of one build, in one row order: ids, labels, sizes, keywords, centroids."""

    ids: np.ndarray  # int64, topic ids (>= 0)
    labels: list[str]
    sizes: np.ndarray  # int64, documents per topic (all documents of that build)
    keywords: list[list[str]]
    centroids: np.ndarray  # float32 (topics, dim), unit rows
    # The embedding space the centroids live in (``embedding_space``); None: unknown, and
    # then only the dimension says whether two sets' centroids can be compared.
    space: str | None = None

    @classmethod
    def from_frame(
        cls, topics: pd.DataFrame, topic_embeddings: np.ndarray, space: str | None = None
    ) -> TopicSet:
        """From ``topics.parquet`` and ``topic_embeddings.npy`` (row i = topic id i)."""
        ids = topics["topic"].to_numpy(dtype=np.int64)
        return cls(
            space=space,
            ids=ids,
            labels=[str(v) for v in topics["label"]],
            sizes=topics["size"].to_numpy(dtype=np.int64),
            keywords=[[str(w) for w in kws] for kws in topics["keywords"]],
            centroids=np.asarray(topic_embeddings, dtype=np.float32)[ids]
            if len(ids)
            else np.zeros((0, topic_embeddings.shape[1] if topic_embeddings.ndim == 2 else 0)),
        )


def keyword_similarity(a: list[list[str]], b: list[list[str]]) -> np.ndarray:
    """Jaccard overlap of keyword sets, (len(a), len(b))."""
    sets_a = [set(k) for k in a]
    sets_b = [set(k) for k in b]
    out = np.zeros((len(sets_a), len(sets_b)), dtype=np.float64)
    for i, sa in enumerate(sets_a):
        for j, sb in enumerate(sets_b):
            union = len(sa | sb)
            out[i, j] = len(sa & sb) / union if union else 0.0
    return out


def embedding_space(backend: object, model: object, dim: object) -> str:
    """The identity of an embedding space: two centroids compare only within one.

    Backend and model, not the dimension alone: the static backend at ``static_dims = 384``
    and the hashing backend at its default 384 have the transformer's dimension, yet their
    vectors live in other spaces, where a cosine with a MiniLM centroid means nothing.
    """
    return f"{backend}/{model}/{dim}"


def comparable(prev: TopicSet, new: TopicSet) -> bool:
    """Whether the two sets' centroids live in one embedding space (see ``embedding_space``)."""
    a, b = prev.centroids, new.centroids
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.shape[1] == 0:
        return False
    return prev.space is None or new.space is None or prev.space == new.space


def document_similarity(
    counts: np.ndarray,
    prev_total: np.ndarray,
    prev_docs: pd.Series,
    new_docs: pd.Series,
    new_ids: np.ndarray,
) -> np.ndarray:
    """Jaccard overlap of two topics' documents among the documents both builds have.

    ``counts`` and ``prev_total`` come from ``overlap``; 0 where neither topic has a shared
    document. Comparable across embedding spaces, so it stands in for the centroid cosine
    when the spaces differ (a preview from the static backend refined by the transformer:
    the same documents, other vectors).
    """
    shared = new_docs[new_docs.index.isin(prev_docs.index)].value_counts()
    new_total = np.array([int(shared.get(int(t), 0)) for t in new_ids], dtype=np.int64)
    union = prev_total[:, None] + new_total[None, :] - counts
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, counts / np.maximum(union, 1), 0.0)


def topic_similarity(
    prev: TopicSet, new: TopicSet, cfg: UpdateConfig, documents: np.ndarray | None = None
) -> np.ndarray:
    """``embedding_weight`` x centroid cosine + the rest x keyword Jaccard, (prev, new).

    When the two builds' embeddings are not comparable (another embedding space:
    ``comparable``), the centroid cosine's place is taken by ``documents`` (the topics'
    document Jaccard, ``document_similarity``) when given, else the keywords alone decide.
    """
    kw = keyword_similarity(prev.keywords, new.keywords)
    w = cfg.embedding_weight
    if comparable(prev, new):
        cos = np.clip(
            prev.centroids.astype(np.float64) @ new.centroids.astype(np.float64).T, -1.0, 1.0
        )
        return w * cos + (1.0 - w) * kw
    if documents is not None:
        return w * documents + (1.0 - w) * kw
    return kw


def match_topics(sim: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs (row, column) of ``sim`` with similarity >= threshold.

    The assignment maximises total similarity; pairs below the threshold are dropped
    afterwards, so a weak forced pair never keeps an id. Ties are broken by index order
    (``linear_sum_assignment`` is deterministic), so the same input gives the same ids.
    """
    if sim.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-sim)
    return sorted(
        (int(r), int(c)) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= threshold
    )


def overlap(
    prev_docs: pd.Series, new_docs: pd.Series, prev_ids: np.ndarray, new_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Shared-document counts between topics, and each previous topic's shared total.

    ``prev_docs`` and ``new_docs`` map doc_id -> topic id (-1 = outlier). Only documents in
    both builds count. Returns ``counts`` (prev, new) and ``prev_total`` (prev,): the
    previous topic's documents that the new build also has (outliers of the new build
    included), the denominator of ``document_overlap``.
    """
    shared = pd.DataFrame({"p": prev_docs}).join(pd.DataFrame({"n": new_docs}), how="inner")
    p_index = {int(t): i for i, t in enumerate(prev_ids)}
    n_index = {int(t): j for j, t in enumerate(new_ids)}
    counts = np.zeros((len(prev_ids), len(new_ids)), dtype=np.int64)
    prev_total = np.zeros(len(prev_ids), dtype=np.int64)
    for (p, n), c in shared.groupby(["p", "n"]).size().items():
        i = p_index.get(int(p))
        if i is None:
            continue
        prev_total[i] += int(c)
        j = n_index.get(int(n))
        if j is not None:
            counts[i, j] += int(c)
    return counts, prev_total


@dataclass
class Refit:
    """The outcome of matching a refit to the previous build."""

    id_map: dict[int, int]  # the refit's own topic id -> the id it is published under
    lineage: pd.DataFrame  # LINEAGE_COLUMNS, published ids
    ids_kept: int  # previous ids that survive in the refit
    kept_labels: dict[int, str]  # published id -> previous label, for 'same' topics


def _row(
    prev: TopicSet | None,
    i: int | None,
    new_id: int | None,
    new_label: str | None,
    relation: str,
    similarity: float | None,
    share: float | None,
    shared: int | None,
) -> dict[str, object]:
    return {
        "previous_topic": None if i is None or prev is None else int(prev.ids[i]),
        "topic": new_id,
        "relation": relation,
        "similarity": similarity,
        "document_overlap": share,
        "shared_documents": shared,
        "previous_label": None if i is None or prev is None else prev.labels[i],
        "label": new_label,
    }


def lineage_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows in a fixed order with the contract's dtypes (nullable ints, floats, strings)."""
    df = pd.DataFrame(rows, columns=list(LINEAGE_COLUMNS))
    order = {r: k for k, r in enumerate(RELATIONS)}
    df["_rel"] = df["relation"].map(order)
    df["_p"] = df["previous_topic"].fillna(-1)
    df["_n"] = df["topic"].fillna(-1)
    df = df.sort_values(["_n", "_p", "_rel"], kind="stable").drop(columns=["_rel", "_p", "_n"])
    df = df.reset_index(drop=True)
    for col in ("previous_topic", "topic", "shared_documents"):
        df[col] = df[col].astype("Int64")
    for col in ("similarity", "document_overlap"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in ("relation", "previous_label", "label"):
        df[col] = df[col].astype("string")
    return df


def _published_ids(
    prev: TopicSet, new: TopicSet, pairs: list[tuple[int, int]], next_id: int
) -> dict[int, int]:
    """Refit id -> published id: a matched topic's previous id, else a fresh one."""
    matched_new = {j: i for i, j in pairs}
    id_map: dict[int, int] = {}
    fresh = next_id
    # The refit numbers topics by size, so fresh ids are handed out largest first.
    for j in np.argsort(new.ids, kind="stable"):
        if int(j) in matched_new:
            id_map[int(new.ids[j])] = int(prev.ids[matched_new[int(j)]])
        else:
            id_map[int(new.ids[j])] = fresh
            fresh += 1
    return id_map


def refit_lineage(
    prev: TopicSet,
    new: TopicSet,
    prev_docs: pd.Series,
    new_docs: pd.Series,
    cfg: UpdateConfig,
    next_id: int,
) -> Refit:
    """Match a refit's topics to the previous build's and classify every relation.

    ``new.ids`` are the refit's own ids; ``next_id`` is the first id never used by the
    run (so a gone topic's id is never given to an unrelated topic later).
    """
    counts, prev_total = overlap(prev_docs, new_docs, prev.ids, new.ids)
    docs_sim = None
    if not comparable(prev, new):
        docs_sim = document_similarity(counts, prev_total, prev_docs, new_docs, new.ids)
    sim = topic_similarity(prev, new, cfg, docs_sim)
    pairs = match_topics(sim, cfg.match_threshold)
    id_map = _published_ids(prev, new, pairs, next_id)

    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(prev_total[:, None] > 0, counts / prev_total[:, None], np.nan)
    rows: list[dict[str, object]] = []
    covered: set[tuple[int, int]] = set()

    def pair_row(i: int, j: int, relation: str) -> dict[str, object]:
        s = share[i, j]
        return _row(
            prev,
            i,
            id_map[int(new.ids[j])],
            new.labels[j],
            relation,
            float(sim[i, j]),
            None if np.isnan(s) else float(s),
            int(counts[i, j]),
        )

    for i in range(len(prev.ids)):
        targets = [j for j in range(len(new.ids)) if share[i, j] >= cfg.split_share]
        if len(targets) >= 2:
            for j in targets:
                rows.append(pair_row(i, j, "split"))
                covered.add((i, j))
    for j in range(len(new.ids)):
        sources = [i for i in range(len(prev.ids)) if share[i, j] >= cfg.merge_share]
        if len(sources) >= 2:
            for i in sources:
                rows.append(pair_row(i, j, "merged"))
                covered.add((i, j))
    kept_labels: dict[int, str] = {}
    for i, j in pairs:
        if (i, j) in covered:
            continue
        grew = new.sizes[j] >= cfg.grow_ratio * max(int(prev.sizes[i]), 1)
        row = pair_row(i, j, "grew" if grew else "same")
        if not grew:
            # The same topic keeps the name readers know it by; keywords are the refit's.
            row["label"] = prev.labels[i]
            kept_labels[int(prev.ids[i])] = prev.labels[i]
        rows.append(row)
        covered.add((i, j))
    has_prev = {i for i, _ in covered}
    has_new = {j for _, j in covered}
    for j in range(len(new.ids)):
        if j not in has_new:
            rows.append(
                _row(None, None, id_map[int(new.ids[j])], new.labels[j], "new", None, None, None)
            )
    for i in range(len(prev.ids)):
        if i not in has_prev:
            rows.append(_row(prev, i, None, None, "gone", None, None, None))
    return Refit(
        id_map=id_map, lineage=lineage_frame(rows), ids_kept=len(pairs), kept_labels=kept_labels
    )


def apply_labels(topics: pd.DataFrame, kept: dict[int, str]) -> pd.DataFrame:
    """Give ``same`` topics their previous labels, keeping labels unique.

    A refitted topic whose own new label happens to equal a kept one gets its id appended,
    as a build does for a clash.
    """
    topics = topics.copy()
    labels = [
        kept.get(int(t), str(lab)) for t, lab in zip(topics["topic"], topics["label"], strict=True)
    ]
    taken = {kept[int(t)] for t in topics["topic"] if int(t) in kept}
    for k, t in enumerate(topics["topic"]):
        if int(t) not in kept and labels[k] in taken:
            labels[k] = f"{labels[k]} ({int(t)})"
        taken.add(labels[k])
    topics["label"] = labels
    return topics


def update_lineage(
    prev: TopicSet,
    current: TopicSet,
    prev_docs: pd.Series,
    current_docs: pd.Series,
    new_topic_ids: list[int],
    cfg: UpdateConfig,
) -> pd.DataFrame:
    """Lineage of an update: every previous topic kept under its id, plus the new ones.

    ``current`` holds all topics after the update (previous ids and ``new_topic_ids``).
    """
    sim = topic_similarity(prev, current, cfg)
    col = {int(t): j for j, t in enumerate(current.ids)}
    counts, prev_total = overlap(prev_docs, current_docs, prev.ids, current.ids)
    rows: list[dict[str, object]] = []
    for i, t in enumerate(prev.ids):
        j = col[int(t)]
        grew = current.sizes[j] >= cfg.grow_ratio * max(int(prev.sizes[i]), 1)
        total = int(prev_total[i])
        rows.append(
            _row(
                prev,
                i,
                int(t),
                current.labels[j],
                "grew" if grew else "same",
                float(sim[i, j]),
                counts[i, j] / total if total else None,
                int(counts[i, j]),
            )
        )
    for t in new_topic_ids:
        rows.append(_row(None, None, int(t), current.labels[col[int(t)]], "new", None, None, None))
    return lineage_frame(rows)


def relation_of_topics(lineage: pd.DataFrame) -> dict[int, str]:
    """One relation per published topic for ``topic_history``: the strongest claim made.

    A topic that is both the kept half of a split and the result of a merge is reported
    by the rarer event first (``merged``, then ``split``), then ``new``, ``grew``, ``same``.
    """
    priority = {"merged": 0, "split": 1, "new": 2, "grew": 3, "same": 4}
    out: dict[int, str] = {}
    for r in lineage.dropna(subset=["topic"]).itertuples(index=False):
        t = int(r.topic)
        rel = str(r.relation)
        if t not in out or priority[rel] < priority[out[t]]:
            out[t] = rel
    return out


def history_rows(
    step: int, build: str, created_at: str, topics: pd.DataFrame, relations: dict[int, str]
) -> pd.DataFrame:
    """This step's ``topic_history.parquet`` rows, one per published topic."""
    df = pd.DataFrame(
        {
            "step": np.full(len(topics), step, dtype=np.int64),
            "build": pd.Series([build] * len(topics), dtype="string"),
            "created_at": pd.Series([created_at] * len(topics), dtype="string"),
            "topic": topics["topic"].to_numpy(dtype=np.int64),
            "label": topics["label"].astype("string").to_numpy(),
            "size": topics["size"].to_numpy(dtype=np.int64),
            "relation": pd.Series(
                [relations.get(int(t), "new") for t in topics["topic"]], dtype="string"
            ),
        }
    )
    return df.sort_values("topic", kind="stable").reset_index(drop=True)[list(HISTORY_COLUMNS)]


def renumber_tables(
    id_map: dict[int, int],
    labels: np.ndarray,
    topics: pd.DataFrame,
    topic_embeddings: np.ndarray,
    hierarchy: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Publish a build under the ids in ``id_map`` (its own id -> published id).

    Row ``i`` of ``topic_embeddings`` stays the centroid of topic ``i``: the array grows to
    ``max id + 1`` rows and ids no topic holds (gone topics) get zero rows. Hierarchy merge
    nodes, numbered K.. by the build, move to ``max id + 1`` .. so that leaves and merge
    nodes still share one id space without clashing. ``frames`` are the other tables with
    a ``topic`` column (topics over time, trends, keywords over time); -1 stays -1.
    """

    def m(t: int) -> int:
        return -1 if t < 0 else id_map[int(t)]

    vec = np.vectorize(m, otypes=[np.int64])
    new_labels = vec(labels) if len(labels) else labels.astype(np.int64)
    topics = topics.copy()
    topics["topic"] = topics["topic"].map(m).astype(np.int64)
    top = max(id_map.values(), default=-1)
    emb = np.zeros((top + 1, topic_embeddings.shape[1]), dtype=topic_embeddings.dtype)
    for old, new in id_map.items():
        emb[new] = topic_embeddings[old]
    k = len(id_map)
    hier = hierarchy.copy()
    if len(hier):

        def node(n: int) -> int:
            if n < 0:
                return -1
            return id_map[int(n)] if n < k else top + 1 + (int(n) - k)

        for col in ("node", "parent", "left", "right"):
            hier[col] = hier[col].map(node).astype(np.int64)
        hier["topics"] = hier["topics"].map(lambda ts: sorted(m(int(t)) for t in ts))
    out = {}
    for name, df in frames.items():
        df = df.copy()
        df["topic"] = df["topic"].map(m).astype(np.int64)
        sort_cols = [c for c in ("topic", "period_start") if c in df.columns]
        out[name] = df.sort_values(sort_cols, kind="stable").reset_index(drop=True)
    return new_labels, topics, emb, hier, out


def shift_merge_nodes(hierarchy: pd.DataFrame, max_topic: int) -> pd.DataFrame:
    """Renumber a carried-over hierarchy's merge nodes to ``max_topic + 1`` and up.

    An update keeps the previous build's hierarchy but may add topics whose fresh ids
    equal merge node ids there (K, K+1, ...); leaves and merge nodes must share one id
    space without clashing. Within one hierarchy table the merge nodes are exactly the
    ``node`` values, so ``left``/``right``/``parent`` are remapped where they are one.
    """
    if hierarchy.empty:
        return hierarchy
    merges = sorted(int(n) for n in hierarchy["node"])
    mapping = {n: max_topic + 1 + k for k, n in enumerate(merges)}
    out = hierarchy.copy()
    for col in ("node", "parent", "left", "right"):
        out[col] = out[col].map(lambda n: mapping.get(int(n), int(n))).astype(np.int64)
    return out
