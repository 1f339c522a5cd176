"""The refit step of a build: publish a fresh fit under the previous build's topic ids.

``build --refit`` runs the build stages from scratch, then this step matches the new
topics to the run's current ones (``pipeline.flows.lineage.refit_lineage``), renumbers
every table to the ids that survive, keeps their labels, and carries the topic history
on with a lineage table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.flows.lineage import (
    TopicSet,
    apply_labels,
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


def relate_refit(
    previous: RunHandle, out: Outcome, doc_ids: pd.Series, cfg: Config
) -> tuple[Outcome, Relation]:
    """``out`` renumbered to the previous build's ids, and how it relates to that build."""
    prev_docs = previous.read_table(DOCUMENTS_FILE, columns=["doc_id", "topic", "added_step"])
    prev_topics = previous.read_table(TOPICS_FILE)
    history = history_before(previous)
    step = step_of(previous) + 1
    fit = refit_lineage(
        TopicSet.from_frame(prev_topics, previous.read_array(TOPIC_EMBEDDINGS_FILE)),
        TopicSet.from_frame(out.topics, out.topic_embeddings),
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
