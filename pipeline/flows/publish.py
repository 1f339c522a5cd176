"""Turning a flow's stage results into a published build: tables, manifest, files.

Build, refit and update all end here: ``Outcome`` gathers what the stages computed,
``Relation`` says how the build relates to the run's previous one (step, history,
lineage), ``assemble_manifest`` is the one place a manifest is put together, and
``publish`` writes the build directory and swaps the run's symlink to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.flows.lineage import history_rows
from pipeline.flows.run import Run, library_versions
from pipeline.stages.base import Context
from pipeline.stages.ingest import Corpus
from pipeline.stages.themes import with_scores
from pipeline.store.artifacts import check_complete
from pipeline.store.cache import save_files, sha256_file, write_json
from pipeline.store.contract import HISTORY_FILE, LINEAGE_FILE, MODEL_DIR


@dataclass
class Outcome:
    """What a flow's stages computed, in the published ids."""

    labels: np.ndarray
    probs: np.ndarray
    xy: np.ndarray
    embeddings: np.ndarray
    topics: pd.DataFrame
    topic_embeddings: np.ndarray
    hierarchy: pd.DataFrame | None
    tables: dict[str, pd.DataFrame]  # topics over time, trends, keywords over time
    trends_info: dict[str, Any] | None
    extra: dict[str, pd.DataFrame]  # frames stages declare in ``publish``, by name
    themes: pd.DataFrame | None = None  # the trends stage's scores of the hierarchy's nodes

    @classmethod
    def of(cls, ctx: Context) -> Outcome:
        """The results of a stage chain (a build's, or an update's)."""
        tables: dict[str, pd.DataFrame] = {}
        info = themes = None
        if "trends" in ctx.out:
            themes = ctx.out["trends"]["themes"]
            info = ctx.out["trends"]["info"]
            starts = [p["period_start"] for p in info.get("partial_periods", [])]
            over_time = ctx.out["over_time"]["over_time"]
            over_time["partial"] = over_time["period_start"].isin(pd.to_datetime(starts))
            tables = {
                "topics_over_time": over_time,
                "trends": ctx.out["trends"]["trends"],
                "topic_keywords_over_time": ctx.out["keywords_over_time"]["keywords"],
            }
        return cls(
            labels=ctx.get("labels").astype(np.int64),
            probs=ctx.get("probs"),
            xy=ctx.get("xy"),
            embeddings=ctx.get("embeddings"),
            topics=ctx.get("topics"),
            topic_embeddings=ctx.get("topic_embeddings"),
            hierarchy=with_scores(ctx.out["hierarchy"]["hierarchy"], themes)
            if "hierarchy" in ctx.out
            else None,
            tables=tables,
            trends_info=info,
            themes=themes,
            extra={
                n: ctx.out[s.name][n] for s in ctx.chain if s.name in ctx.out for n in s.publish
            },
        )

    def with_(self, **changes: Any) -> Outcome:
        return replace(self, **changes)


@dataclass
class Relation:
    """How a new build relates to the run's previous one."""

    step: int
    history: pd.DataFrame | None  # topic history before this build (None: first build)
    relations: dict[int, str]  # topic -> its relation to the previous build
    added_step: np.ndarray  # per document: the step that added it
    lineage: pd.DataFrame | None
    update: dict[str, Any]  # the manifest's ``update`` section


def update_section(
    kind: str,
    step: int,
    previous_build: str | None,
    new_documents: int,
    new_topics: list[int],
    ids_kept: int,
    ids_previous: int,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "step": step,
        "previous_build": previous_build,
        "new_documents": int(new_documents),
        "new_topics": [int(t) for t in new_topics],
        "ids_kept": int(ids_kept),
        "ids_previous": int(ids_previous),
        **extra,
    }


def documents_table(docs: pd.DataFrame, out: Outcome, added_step: np.ndarray) -> pd.DataFrame:
    """documents.parquet column order: ingest's core columns, the model's, then metadata."""
    docs = docs.copy()
    insert_at = docs.columns.get_loc("url") + 1
    for offset, (col, values) in enumerate(
        [
            ("topic", out.labels.astype(np.int64)),
            ("topic_prob", out.probs.astype(np.float32)),
            ("x", out.xy[:, 0].astype(np.float32)),
            ("y", out.xy[:, 1].astype(np.float32)),
            ("added_step", added_step.astype(np.int64)),
        ]
    ):
        docs.insert(insert_at + offset, col, values)
    return docs


def assemble_manifest(
    base: dict[str, Any],
    corpus: Corpus,
    docs: pd.DataFrame,
    out: Outcome,
    sections: dict[str, Any],
    counts: dict[str, int],
) -> dict[str, Any]:
    """``base`` (a new build's identity, or the previous manifest) with this build's facts.

    ``sections`` holds what differs between flows: run_key, created_at, config,
    stage_keys, period, corpus, embedding, update, trends_absent_reason.
    """
    labels = out.labels
    dates = docs["date"].dropna()
    manifest = {**base, **sections}
    manifest.update(
        {
            "libraries": library_versions(),
            "dated": corpus.dated,
            "date_span": [str(dates.min().date()), str(dates.max().date())] if len(dates) else None,
            "trends": out.trends_info,
            "counts": {
                "documents": int(len(docs)),
                "topics": int(len(out.topics)),
                "outliers": int((labels == -1).sum()),
                "outlier_share": round(float((labels == -1).mean()), 4),
                **counts,
                "dated_documents": int(len(dates)),
            },
        }
    )
    if corpus.dated:
        manifest["trends_absent_reason"] = None
    return manifest


def _writer(
    frames: dict[str, pd.DataFrame],
    arrays: dict[str, np.ndarray],
    model_src: Path | None,
    manifest: dict[str, Any],
    run: Run,
) -> Callable[[Path], None]:
    """The function ``Store.publish_run`` calls to fill the new build directory."""

    def write(tmp: Path) -> None:
        digests = save_files(tmp, arrays=arrays, frames=frames)
        artifacts: dict[str, Any] = {}
        for fname, digest in digests.items():
            info: dict[str, Any] = {"sha256": digest, "bytes": (tmp / fname).stat().st_size}
            stem = fname.rsplit(".", 1)[0]
            if stem in frames:
                info["rows"] = int(len(frames[stem]))
            artifacts[fname] = info
        if model_src is not None and model_src.exists():
            (tmp / MODEL_DIR).mkdir()
            for f in sorted(model_src.iterdir()):
                (tmp / MODEL_DIR / f.name).write_bytes(f.read_bytes())
                artifacts[f"{MODEL_DIR}/{f.name}"] = {
                    "sha256": sha256_file(tmp / MODEL_DIR / f.name),
                    "bytes": f.stat().st_size,
                }
        manifest["artifacts"] = artifacts
        check_complete(manifest, tmp)  # every artifact docs/artifacts.md requires, or no publish
        manifest["timings"] = {**run.timings, "publish": {"cached": False, "seconds": None}}
        manifest["total_seconds"] = round(time.perf_counter() - run.t_start, 3)
        write_json(tmp / "manifest.json", manifest)

    return write


def publish(
    run: Run,
    name: str,
    stamp: str,
    created_at: str,
    docs: pd.DataFrame,
    out: Outcome,
    rel: Relation,
    manifest: dict[str, Any],
    model_src: Path | None,
) -> Path:
    """Write the build (tables, arrays, model, manifest) and make it the run's current one."""
    this_step = history_rows(rel.step, stamp, created_at, out.topics, rel.relations)
    history = (
        this_step if rel.history is None else pd.concat([rel.history, this_step], ignore_index=True)
    )
    frames = {"documents": docs, "topics": out.topics, "hierarchy": out.hierarchy, **out.tables}
    frames.update(out.extra)
    frames[HISTORY_FILE.removesuffix(".parquet")] = history
    if rel.lineage is not None:
        frames[LINEAGE_FILE.removesuffix(".parquet")] = rel.lineage
    arrays = {
        "embeddings": out.embeddings.astype(np.float16),
        "topic_embeddings": out.topic_embeddings,
    }
    write = _writer(frames, arrays, model_src, manifest, run)
    return run.store.publish_run(name, write, stamp=stamp)
