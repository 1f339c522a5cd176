"""The describe stage of an update: topics.parquet and the centroids after new documents.

Old topics keep their id, label and keywords; sizes, shares and map positions are
recomputed for every topic. New topics (from the ``assign`` stage) are described by the
same c-TF-IDF + refinement as a build, and placed on the intertopic map among the old
ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.stages.assign import interpolate_position
from pipeline.stages.base import Context
from pipeline.stages.cluster import topic_centroids


def updated_topics(
    prev_topics: pd.DataFrame,
    labels: np.ndarray,
    xy: np.ndarray,
    embeddings: np.ndarray,
    texts: list[str],
    doc_ids: list[str],
    new_topics: list[int],
    cfg: Config,
    encode: Callable[[list[str]], np.ndarray],
) -> pd.DataFrame:
    """topics.parquet after an update: old rows keep label and keywords, new rows get theirs.

    New topics are described by ``fit_representation`` over all topics, so their
    keywords are distinctive against the existing ones; the old topics' recomputed
    descriptions are discarded.
    """
    n = len(labels)
    topics = prev_topics.copy()
    sizes = pd.Series(labels[labels >= 0]).value_counts()
    topics["size"] = topics["topic"].map(sizes).fillna(0).astype(np.int64)
    topics["share"] = topics["size"] / n
    for col, k in (("x", 0), ("y", 1)):
        topics[col] = [float(np.median(xy[labels == t, k])) for t in topics["topic"]]
    if new_topics:
        from pipeline.stages.represent import fit_representation, make_label

        ids = np.unique(labels[labels >= 0])
        compact = {int(t): i for i, t in enumerate(ids)}
        dense = np.array([compact.get(int(t), -1) for t in labels], dtype=np.int64)
        rep = fit_representation(
            texts, embeddings, dense, xy, doc_ids, encode, cfg.represent, seed=cfg.reduce.seed
        )
        fresh = rep.topics[rep.topics["topic"].isin([compact[t] for t in new_topics])].copy()
        fresh["topic"] = [int(ids[i]) for i in fresh["topic"]]
        used = set(topics["label"])
        names = []
        for r in fresh.itertuples(index=False):
            label = make_label(list(r.keywords), cfg.represent.label_words)
            if label in used:
                label = f"{label} ({r.topic})"
            used.add(label)
            names.append(label)
        fresh["label"] = names
        topics = pd.concat([topics, fresh.reindex(columns=topics.columns)], ignore_index=True)
    return topics.sort_values(
        ["size", "topic"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def run(ctx: Context) -> dict[str, Any]:
    """The describe stage: updated topics, their centroids, new topics placed on the map."""
    from pipeline.stages.embed import encode

    prev = ctx.inputs["previous"]
    labels, embeddings = ctx.get("labels"), ctx.get("embeddings")
    new_topics = ctx.out["assign"]["folded"].new_topics
    topics = updated_topics(
        prev.topics,
        labels,
        ctx.get("xy"),
        embeddings,
        ctx.inputs["texts"],
        ctx.inputs["doc_ids"],
        new_topics,
        ctx.cfg,
        lambda texts: encode(ctx, texts),
    )
    all_ids = topics["topic"].to_numpy(np.int64)
    cents = topic_centroids(embeddings, labels, all_ids)
    topic_emb = np.zeros((int(all_ids.max()) + 1, embeddings.shape[1]), np.float32)
    topic_emb[all_ids] = cents
    old_rows = topics["topic"].isin(prev.topics["topic"]).to_numpy()
    for r in np.where(~old_rows)[0]:
        pos = interpolate_position(
            cents[r], cents[old_rows], topics.loc[old_rows, ["ix", "iy"]].to_numpy()
        )
        topics.loc[topics.index[r], ["ix", "iy"]] = pos
    ctx.record["new_topics"] = len(new_topics)
    return {"topics": topics, "topic_embeddings": topic_emb}
