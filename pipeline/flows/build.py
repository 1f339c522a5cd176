"""The build flow: ingest a corpus, run the build stages, publish the run.

A build whose corpus and config are unchanged is not rebuilt (``up_to_date``); every
stage whose inputs are unchanged is read from the stage cache. ``refit`` builds from
scratch and publishes under the previous build's ids (``pipeline.flows.refit``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline import SCHEMA_VERSION
from pipeline.config import Config
from pipeline.flows.publish import Outcome, assemble_manifest, documents_table, publish
from pipeline.flows.refit import first_build, relate_refit
from pipeline.flows.run import (
    BuildResult,
    Run,
    corpus_inputs,
    previous,
    run_key,
    settings,
    up_to_date,
)
from pipeline.periods import resolve_period
from pipeline.progress import Reporter, tracked
from pipeline.stages import memory, sample
from pipeline.stages.base import Context
from pipeline.stages.executor import Executor
from pipeline.stages.ingest import Corpus, ingest, resolve_input
from pipeline.stages.represent import model_dir
from pipeline.stages.titles import carried
from pipeline.store.cache import Store, new_stamp, now_iso
from pipeline.store.contract import MANIFEST_FILE


def build(
    spec: str,
    cfg: Config,
    store: Store,
    name: str | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
    refit: bool = False,
    executor: Executor | None = None,
    preview: bool = False,
) -> BuildResult:
    """Build (or reuse) the run for corpus ``spec``; returns the published run directory.

    ``refit`` builds from scratch even when nothing changed, then publishes the topics
    under the ids of the run's current build wherever they are the same topic
    (``pipeline.flows.lineage``), with ``lineage.parquet`` and the topic history carried on.
    ``executor`` runs the per-document batches (in this process when not given).
    ``preview`` marks the build as a preview (``manifest.update.preview``) that a refined
    build will follow (``pipeline.flows.preview``).
    """
    path, default_name = resolve_input(spec)
    name = name or default_name
    source = spec if spec == default_name and not Path(spec).exists() else str(path.resolve())

    def flow(reporter: Reporter) -> BuildResult:
        run = Run(store, cfg, reporter, executor)
        return _build(run, path, source, name, force or refit, refit, preview)

    return tracked(store.root, name, reporter, flow)


def _build(
    run: Run, path: Path, source: str, name: str, force: bool, refit: bool, preview: bool
) -> BuildResult:
    store, cfg = run.store, run.cfg
    with store.lock(name):
        with run.timed("ingest"):
            memory.check_file(path, cfg)
            prev = previous(store, name) if refit else None
            title = carried(prev.manifest, cfg.ingest.title_in_text, False) if prev else None
            corpus = ingest(path, name, cfg.ingest, titles=title)
            corpus_hash = corpus.content_hash()
        period = None
        if corpus.dated:
            docs = corpus.docs
            period = resolve_period(cfg.time.period, docs["date"], docs["date_precision"])
        inputs = corpus_inputs(corpus, period)
        inputs["sample"] = sample.choose(cfg, inputs)
        key = run_key(corpus_hash, cfg, inputs["sample"] is not None, corpus.title.in_text)
        if not force and (current := up_to_date(store, name, key)):
            manifest = json.loads((current / MANIFEST_FILE).read_text())
            return BuildResult(store.run_path(name), manifest, True, run.timings)
        ctx = run.run_chain("build", inputs)
        with run.timed("publish"):
            stamp, created_at = new_stamp(), now_iso()
            out = Outcome.of(ctx)
            if prev is None:
                rel = first_build(out)
            else:
                with run.timed("lineage"):
                    out, rel = relate_refit(prev, out, corpus.docs["doc_id"], cfg)
            docs = documents_table(corpus.docs, out, rel.added_step)
            sections = _sections(ctx, corpus, path, source, (key, corpus_hash), created_at, out)
            sections["update"] = {**rel.update, **({"preview": True} if preview else {})}
            base = {"schema_version": SCHEMA_VERSION, "run": name, "notes": corpus.notes}
            reassigned = int(ctx.out["cluster"]["info"].get("n_reassigned", 0))
            counts = {"reassigned_outliers": reassigned}
            manifest = assemble_manifest(base, corpus, docs, out, sections, counts)
            run_dir = publish(
                run, name, stamp, created_at, docs, out, rel, manifest, model_dir(ctx)
            )
        manifest["timings"]["publish"] = run.timings["publish"]
    return BuildResult(run_dir=run_dir, manifest=manifest, timings=run.timings)


def _sections(
    ctx: Context,
    corpus: Corpus,
    path: Path,
    source: str,
    keys: tuple[str, str],
    created_at: str,
    out: Outcome,
) -> dict[str, Any]:
    """The manifest sections a build writes afresh (an update carries most of them on)."""
    cfg = ctx.cfg
    key, corpus_hash = keys  # the run key and the corpus content hash
    transformer = cfg.embed.backend == "sentence-transformers"
    picked = ctx.inputs.get("sample")
    scale = {}
    if picked is not None:
        info = ctx.out["cluster"]["info"]
        scale = {
            "scale": {
                "fit_sample": len(picked),
                "documents": len(ctx.inputs["texts"]),
                "assigned": int(info.get("assigned", 0)),
                "assign_threshold": info.get("assign_threshold"),
            }
        }
    return {
        **scale,
        "run_key": key,
        "created_at": created_at,
        "corpus": {
            "input": source,
            "path": str(path.resolve()),
            "content_hash": corpus_hash,
            "columns": corpus.columns,
            "metadata_columns": corpus.metadata_columns,
            "rows_in": corpus.n_input,
            "dropped_empty": corpus.n_empty,
            "dropped_duplicate": corpus.n_duplicate,
            "title_in_text": corpus.title.in_text,
            "title_decision": corpus.title.record(),
        },
        "config": settings(cfg, picked is not None),
        "stage_keys": ctx.keys,
        "period": ctx.inputs["period"],
        "trends_absent_reason": corpus.notes[0] if corpus.notes else "the corpus has no dates",
        "embedding": {
            "backend": cfg.embed.backend,
            "model": cfg.embed.model if cfg.embed.backend != "hashing" else "hashing",
            "dim": int(out.embeddings.shape[1]),
            "max_seq_length": cfg.embed.max_seq_length if transformer else None,
            "truncated_documents": ctx.out["embed"]["truncated_documents"],
        },
    }
