"""The refit step of a build: publish a fresh fit under the previous build's topic ids.

``build --refit`` runs the build stages from scratch, then this step matches the new
topics to the run's current ones (``pipeline.flows.lineage.refit_lineage``), renumbers
every table to the ids that survive, keeps their labels, and carries the topic history
on with a lineage table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.flows.lineage import (
    TopicSet,
    apply_labels,
    embedding_space,
    refit_lineage,
    relation_of_topics,
    renumber_tables,
)
from pipeline.flows.publish import Outcome, Relation, update_section
from pipeline.flows.run import added_steps, history_before, next_id, step_of
from pipeline.store.artifacts import RunHandle
from pipeline.store.contract import DOCUMENTS_FILE, TOPIC_EMBEDDINGS_FILE, TOPICS_FILE


def first_build(out: Outcome) -> Relation:
    """A build with no predecessor: step 0, every document and topic new."""
    n = len(out.labels)
    return Relation(
        step=0,
        history=None,
        relations={},
        added_step=np.zeros(n, dtype=np.int64),
        lineage=None,
        update=update_section("build", 0, None, n, out.topics["topic"], 0, 0),
    )


def space_of_build(manifest: dict[str, Any], topic_embeddings: np.ndarray) -> str:
    """The embedding space of a published build: its manifest's ``embedding`` section, or
    for a build from before that section its config's ``[embed]``."""
    emb = manifest.get("embedding") or {}
    conf = (manifest.get("config") or {}).get("embed") or {}
    backend = emb.get("backend", conf.get("backend"))
    model = emb.get("model", "hashing" if backend == "hashing" else conf.get("model"))
    return embedding_space(backend, model, emb.get("dim", topic_embeddings.shape[-1]))


def space_of_config(cfg: Config, out: Outcome) -> str:
    """The embedding space of the build being published (as its manifest will record it)."""
    e = cfg.embed
    model = e.model if e.backend != "hashing" else "hashing"
    return embedding_space(e.backend, model, int(out.embeddings.shape[1]))


def relate_refit(
    previous: RunHandle, out: Outcome, doc_ids: pd.Series, cfg: Config
) -> tuple[Outcome, Relation]:
    """``out`` renumbered to the previous build's ids, and how it relates to that build."""
    prev_docs = previous.read_table(DOCUMENTS_FILE, columns=["doc_id", "topic", "added_step"])
    prev_topics = previous.read_table(TOPICS_FILE)
    history = history_before(previous)
    step = step_of(previous) + 1
    prev_emb = previous.read_array(TOPIC_EMBEDDINGS_FILE)
    fit = refit_lineage(
        TopicSet.from_frame(prev_topics, prev_emb, space_of_build(previous.manifest, prev_emb)),
        TopicSet.from_frame(out.topics, out.topic_embeddings, space_of_config(cfg, out)),
        prev_docs.set_index("doc_id")["topic"],
        pd.Series(out.labels, index=doc_ids.to_numpy()),
        cfg.update,
        next_id(prev_topics["topic"].astype(int).tolist(), history),
    )
    labels, topics, topic_emb, hier, tables = renumber_tables(
        fit.id_map, out.labels, out.topics, out.topic_embeddings, out.hierarchy, out.tables
    )
    out = out.with_(
        labels=labels,
        topics=apply_labels(topics, fit.kept_labels),
        topic_embeddings=topic_emb,
        hierarchy=hier,
        tables=tables,
    )
    lineage = fit.lineage
    before = dict(zip(prev_docs["doc_id"], added_steps(prev_docs), strict=True))
    added_step = np.array([before.get(d, step) for d in doc_ids], dtype=np.int64)
    new_topics = lineage.loc[lineage["relation"] == "new", "topic"].dropna()
    update = update_section(
        "refit",
        step,
        previous.path.name,
        int((added_step == step).sum()),
        sorted(int(t) for t in new_topics),
        fit.ids_kept,
        len(prev_topics),
    )
    relation = Relation(step, history, relation_of_topics(lineage), added_step, lineage, update)
    return out, relation
