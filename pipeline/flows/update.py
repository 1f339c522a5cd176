"""The update flow: add new documents to a run without refitting it (docs/updates.md).

The run's own config is used (so documents are read, embedded and described exactly as
the run's were); documents the run already has, by id or by content, are skipped, so the
same growing file can be passed every day. The update stages (``assign``, ``describe``)
fold the new documents into the frozen topics; nothing new means nothing is published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import UpdateConfig, stable_hash, validate_config
from pipeline.errors import UserError
from pipeline.flows.lineage import TopicSet, relation_of_topics, shift_merge_nodes, update_lineage
from pipeline.flows.publish import (
    Outcome,
    Relation,
    assemble_manifest,
    documents_table,
    publish,
    update_section,
)
from pipeline.flows.run import (
    BuildResult,
    Run,
    added_steps,
    corpus_inputs,
    history_before,
    next_id,
    previous,
    settings,
    step_of,
)
from pipeline.periods import resolve_period
from pipeline.progress import Reporter, tracked
from pipeline.stages import memory
from pipeline.stages.assign import Previous, conform_metadata
from pipeline.stages.base import digest
from pipeline.stages.executor import Executor
from pipeline.stages.ingest import Corpus, ingest, resolve_input
from pipeline.stages.themes import with_scores
from pipeline.stages.titles import carried, modelled_texts
from pipeline.store.artifacts import RunHandle
from pipeline.store.cache import Store, new_stamp, now_iso
from pipeline.store.contract import (
    DOCUMENTS_FILE,
    HIERARCHY_FILE,
    KEYWORDS_FILE,
    MANIFEST_FILE,
    MODEL_DIR,
    OVER_TIME_FILE,
    TOPIC_EMBEDDINGS_FILE,
    TOPICS_FILE,
    is_preview,
)

CORE = ["doc_id", "title", "text", "date", "date_precision", "url"]
MODEL_COLUMNS = ["topic", "topic_prob", "x", "y", "added_step"]


def update(
    name: str,
    spec: str,
    store: Store,
    update_cfg: UpdateConfig | None = None,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
) -> BuildResult:
    """Add the documents of ``spec`` to run ``name`` without refitting.

    ``update_cfg`` replaces only the run's ``[update]`` section. Nothing new means
    nothing is published (``up_to_date``).
    """
    path, _ = resolve_input(spec)

    def flow(reporter: Reporter) -> BuildResult:
        return _update(name, spec, path, store, update_cfg, reporter, executor)

    return tracked(store.root, name, reporter, flow)


def _update(
    name: str,
    spec: str,
    path: Path,
    store: Store,
    update_cfg: UpdateConfig | None,
    reporter: Reporter,
    executor: Executor | None,
) -> BuildResult:
    with store.lock(name):
        prev = previous(store, name)
        if prev is None:
            raise UserError(
                f"{store.run_path(name)}: no run named '{name}' to update. "
                f"Build it first with: topictrends build {spec} --name {name}"
            )
        m = prev.manifest
        cfg = validate_config(m["config"], source=f"{prev.path / MANIFEST_FILE} config")
        if update_cfg is not None:
            cfg = cfg.model_copy(update={"update": update_cfg})
        run = Run(store, cfg, reporter, executor)
        with run.timed("ingest"):
            memory.check_file(path, cfg)
            # The run's recorded choice, never one made on the new batch alone.
            title = carried(m, cfg.ingest.title_in_text, update=True)
            batch = ingest(path, name, cfg.ingest, min_documents=1, titles=title)
            prev_docs = prev.read_table(DOCUMENTS_FILE)
            new, duplicates = _new_documents(batch, prev_docs)
        if len(new) == 0:
            return BuildResult(store.run_path(name), m, up_to_date=True, timings=run.timings)
        corpus = _combined(prev, prev_docs, new, batch, path, name)
        before = _previous_state(prev, prev_docs, len(new))
        period = m.get("period")
        if corpus.dated:
            dates, precisions = corpus.docs["date"], corpus.docs["date_precision"]
            period = resolve_period(cfg.time.period, dates, precisions, current=period)
        ctx = run.run_chain("update", {**corpus_inputs(corpus, period), "previous": before})
        with run.timed("publish"):
            stamp, created_at = new_stamp(), now_iso()
            out = Outcome.of(ctx)
            max_id = int(out.topics["topic"].max())
            # The previous hierarchy, scored again on the updated documents (trends stage).
            out.hierarchy = shift_merge_nodes(with_scores(before.hierarchy, out.themes), max_id)
            rel = _relation(prev, before, out, corpus, ctx.out["assign"]["folded"], cfg.update)
            rel.update.update(input=str(path.resolve()), **duplicates)
            if is_preview(m):  # still the static embeddings: the refine is still to come
                rel.update["preview"] = True
            docs = documents_table(corpus.docs, out, before.added)
            hashes = ctx.inputs["hashes"]
            sections = {
                "run_key": stable_hash(["update", m.get("run_key"), digest(hashes)]),
                "created_at": created_at,
                "config": settings(cfg, "scale" in m["config"]),
                "stage_keys": {**m.get("stage_keys", {}), **ctx.keys},
                "period": period,
                "trends_absent_reason": m.get("trends_absent_reason") or "the corpus has no dates",
                "corpus": {
                    **m.get("corpus", {}),
                    "content_hash": corpus.content_hash(),
                    "metadata_columns": corpus.metadata_columns,
                    "title_in_text": corpus.title.in_text,
                    "title_decision": corpus.title.record(),
                },
                "embedding": {
                    **m.get("embedding", {}),
                    "truncated_documents": ctx.out["embed"]["truncated_documents"],
                },
                "update": rel.update,
            }
            base = {k: v for k, v in json.loads(json.dumps(m)).items() if k != "artifacts"}
            counts = {"reassigned_outliers": int(m.get("counts", {}).get("reassigned_outliers", 0))}
            manifest = assemble_manifest(base, corpus, docs, out, sections, counts)
            model_src = prev.path / MODEL_DIR
            run_dir = publish(run, name, stamp, created_at, docs, out, rel, manifest, model_src)
        manifest["timings"]["publish"] = run.timings["publish"]
    return BuildResult(run_dir=run_dir, manifest=manifest, timings=run.timings)


def _new_documents(batch: Corpus, prev_docs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The batch's documents the run does not have (by id or content), and what was dropped.

    Content is title and text together, whether or not titles are modelled: a paragraph
    whose text another speech already had ("Thank you.") is still a new document.
    """
    known = set(modelled_texts(prev_docs))  # the texts themselves: no sha256 of a million
    same_id = batch.docs["doc_id"].isin(set(prev_docs["doc_id"])).to_numpy()
    same_text = np.array([t in known for t in modelled_texts(batch.docs)], dtype=bool)
    new = batch.docs[~(same_id | same_text)].reset_index(drop=True)
    duplicates = {
        "rows_in": int(batch.n_input),
        "dropped_empty": int(batch.n_empty),
        "dropped_duplicate_in_input": int(batch.n_duplicate),
        "dropped_known_id": int(same_id.sum()),
        "dropped_known_content": int((same_text & ~same_id).sum()),
    }
    return new, duplicates


def _combined(
    prev: RunHandle,
    prev_docs: pd.DataFrame,
    new: pd.DataFrame,
    batch: Corpus,
    path: Path,
    name: str,
) -> Corpus:
    """The run's documents followed by the new ones, metadata columns of both kept."""
    m = prev.manifest
    prev_meta = [c for c in prev_docs.columns if c not in CORE + MODEL_COLUMNS]
    extra_meta = [c for c in new.columns if c not in CORE and c not in prev_meta]
    new = conform_metadata(prev_docs, new, prev_meta, path, name)
    combined = pd.concat(
        [prev_docs[CORE + prev_meta], new[[c for c in CORE + prev_meta if c in new]]],
        ignore_index=True,
    )
    for c in extra_meta:
        combined[c] = pd.concat(
            [pd.Series([None] * len(prev_docs), dtype=object), new[c].astype(object)],
            ignore_index=True,
        )
    combined["date"] = pd.to_datetime(combined["date"]).astype("datetime64[ns]")
    return Corpus(
        name=name,
        source=str(path),
        docs=combined,
        metadata_columns=prev_meta + extra_meta,
        columns=m.get("corpus", {}).get("columns", batch.columns),
        n_input=int(len(combined)),
        n_empty=0,
        n_duplicate=0,
        notes=list(m.get("notes") or []),
        title=batch.title,
    )


def _previous_state(prev: RunHandle, prev_docs: pd.DataFrame, n_new: int) -> Previous:
    """What the update stages need of the run's current build."""
    step = step_of(prev) + 1
    history = history_before(prev)
    prev_topics = prev.read_table(TOPICS_FILE)
    added = np.concatenate([added_steps(prev_docs).to_numpy(), np.full(n_new, step)])
    return Previous(
        docs=prev_docs,
        topics=prev_topics,
        history=history,
        step=step,
        added=added.astype(np.int64),
        next_id=next_id(prev_topics["topic"].astype(int).tolist(), history),
        run_key=prev.manifest.get("run_key"),
        period=prev.manifest.get("period"),
        over_time=_table(prev, OVER_TIME_FILE, drop=("partial",)),
        keywords=_table(prev, KEYWORDS_FILE),
        hierarchy=prev.read_table(HIERARCHY_FILE),
    )


def _table(prev: RunHandle, name: str, drop: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """One of the build's over-time tables, for the update to recount only what it touches."""
    if not prev.has(name):
        return None
    return prev.read_table(name).drop(columns=list(drop), errors="ignore")


def _relation(
    prev: RunHandle,
    before: Previous,
    out: Outcome,
    corpus: Corpus,
    folded: Any,
    cfg: UpdateConfig,
) -> Relation:
    """The lineage of an update: old topics carried on, the new ones from the leftovers."""
    lineage = update_lineage(
        TopicSet.from_frame(before.topics, prev.read_array(TOPIC_EMBEDDINGS_FILE)),
        TopicSet.from_frame(out.topics, out.topic_embeddings),
        before.docs.set_index("doc_id")["topic"],
        pd.Series(out.labels, index=corpus.docs["doc_id"].to_numpy()),
        folded.new_topics,
        cfg,
    )
    n_prev_topics = len(before.topics)
    update = update_section(
        "update",
        before.step,
        prev.path.name,
        len(out.labels) - len(before.docs),
        folded.new_topics,
        n_prev_topics,
        n_prev_topics,
        assigned=folded.assigned,
    )
    return Relation(
        before.step, before.history, relation_of_topics(lineage), before.added, lineage, update
    )
