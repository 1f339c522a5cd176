"""How a stage is declared, and the one helper that loads, computes and saves every stage.

A ``Stage`` names what its result depends on (upstream stages, corpus digests, config
sections), the function that computes it and the files it keeps in the stage cache. Its
cache key is ``stable_hash([upstream keys..., data digests..., config keys...])`` in
declaration order, so the declaration *is* the key chain (see ``pipeline.stages``).
``run_stage`` serves a stage from the cache on a hit and computes and saves it on a miss;
``cached_rows`` does the same per document for chunked outputs (embedding shards), through
the ``Executor`` so the batches may run elsewhere.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline.config import stable_hash

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.progress import Reporter
    from pipeline.stages.executor import Executor
    from pipeline.store.cache import Store


def digest(values: list[str]) -> str:
    """Short hash of a list of strings: how a corpus column enters a stage key."""
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Stage:
    """One stage, declared once: what it reads, what computes it, what it keeps."""

    name: str
    compute: Callable[[Context], dict[str, Any]]
    after: tuple[str, ...] = ()  # upstream stages whose keys enter this key, in order
    data: tuple[str, ...] = ()  # corpus inputs whose digests enter the key (DATA_PARTS)
    config: tuple[str, ...] = ()  # config sections ("cluster") or fields ("reduce.seed")
    artifacts: tuple[str, ...] = ()  # outputs kept in the stage cache; none: never cached
    publish: tuple[str, ...] = ()  # frame outputs published in the run as <output>.parquet
    transient: tuple[str, ...] = ()  # outputs held in memory only (a fitted model)
    uses: tuple[str, ...] = ()  # "stage.output" transient outputs this stage reads
    flows: tuple[str, ...] = ("build",)  # the flows that run it ("build", "update")
    shown_as: str = ""  # progress bar and timing entry; stages sharing one are timed together
    when: Callable[[Context], bool] | None = None  # runs only when true (dated corpora)
    key: Callable[[Context], str] | None = None  # a key not made from the parts above
    finish: Callable[[Context], None] | None = None  # after the result is loaded or computed
    usable: Callable[[Context], bool] | None = None  # a hit is used only when this holds
    total: Callable[[Context], int] | None = None  # progress bar length, when counted
    # A last key part that enters only when not None (the fit sample, absent on corpora
    # below [scale] fit_sample, so their keys are what they were before it existed).
    extra: Callable[[Context], str | None] | None = None

    @property
    def progress(self) -> str:
        return self.shown_as or self.name

    @property
    def keyed(self) -> bool:
        return bool(self.artifacts) or self.key is not None


# How each corpus input named in ``Stage.data`` enters a key.
DATA_PARTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "texts": lambda i: digest(i["hashes"]),
    "doc_ids": lambda i: digest(i["doc_ids"]),
    "dates": lambda i: digest(
        [
            f"{d}|{p}"
            for d, p in zip(i["dates"].astype(str), i["precisions"].astype(str), strict=True)
        ]
    ),
    "period": lambda i: i["period"],
}


@dataclass
class Context:
    """What the stages of one flow share: inputs, results so far, keys, and where to run."""

    cfg: Config
    store: Store
    reporter: Reporter
    executor: Executor
    inputs: dict[str, Any]  # texts, hashes, doc_ids, dates, precisions, dated, period, ...
    chain: Sequence[Stage] = ()
    out: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # timing entry of the running stage
    hits: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)  # lazily made helpers (embedder)

    def get(self, name: str) -> Any:
        """Output ``name`` of the most recent stage that produced one."""
        for outputs in reversed(self.out.values()):
            if name in outputs:
                return outputs[name]
        raise KeyError(f"no stage has produced {name!r} yet")

    def config_part(self, name: str) -> Any:
        section, _, attr = name.partition(".")
        value = getattr(self.cfg, section)
        return getattr(value, attr) if attr else value.key()

    def stage_key(self, stage: Stage) -> str:
        if stage.key is not None:
            return stage.key(self)
        parts = [self.keys[a] for a in stage.after]
        parts += [DATA_PARTS[d](self.inputs) for d in stage.data]
        parts += [self.config_part(c) for c in stage.config]
        if stage.extra is not None and (part := stage.extra(self)) is not None:
            parts.append(part)
        return stable_hash(parts)

    def load(self, stage: Stage, key: str) -> dict[str, Any] | None:
        """The stage's cached result (read once per flow), or None on a miss."""
        if (stage.name, key) not in self.hits:
            self.hits[stage.name, key] = self.store.load_stage(stage.name, key)
        return self.hits[stage.name, key]


def _needed_fresh(stage: Stage, ctx: Context) -> bool:
    """True when the cached result is not usable as it is, or when a later stage that
    misses needs this stage's in-memory outputs."""
    if stage.usable is not None and not stage.usable(ctx):
        return True  # e.g. a build killed before the represent stage saved its model
    mine = {f"{stage.name}.{t}" for t in stage.transient}
    for later in ctx.chain:
        ready = mine & set(later.uses) and all(a in ctx.keys for a in later.after)
        if ready and ctx.load(later, ctx.stage_key(later)) is None:
            return True
    return False


def run_stage(stage: Stage, ctx: Context) -> bool:
    """Load ``stage`` from the cache or compute (and save) it; True when served from cache."""
    key = ctx.stage_key(stage) if stage.keyed else None
    if key is not None:
        ctx.keys[stage.name] = key
    hit = ctx.load(stage, key) if stage.artifacts and key is not None else None
    if hit is not None and not _needed_fresh(stage, ctx):
        ctx.out[stage.name] = {a: hit[a] for a in stage.artifacts}
        cached = True
    else:
        t0 = time.perf_counter()
        ctx.out[stage.name] = stage.compute(ctx)
        if stage.artifacts and hit is None and key is not None:
            upstream = {a: ctx.keys[a] for a in stage.after[:1]}
            files = {a: ctx.out[stage.name][a] for a in stage.artifacts}
            ctx.store.save_stage(stage.name, key, upstream, time.perf_counter() - t0, **files)
        cached = False
    if stage.finish is not None:
        stage.finish(ctx)
    return cached


@dataclass
class ShardBatch:
    """One batch of ``cached_rows``: compute the rows, save them as one shard, return them.

    A picklable object, not a closure, so a Ray actor can run it where it is (the shard
    is then written by the worker: every worker must reach the cache root).
    """

    compute: Callable[[list[Any]], np.ndarray | pd.DataFrame]
    store: Store
    kind: str
    key: str

    def __call__(
        self, batch: Sequence[tuple[str, Any]]
    ) -> tuple[np.ndarray, np.ndarray | pd.DataFrame]:
        keys = [k for k, _ in batch]
        rows = self.compute([item for _, item in batch])
        self.store.save_shard(self.kind, self.key, keys, rows)
        return np.asarray(keys, dtype=object), rows


def cached_rows(
    ctx: Context,
    kind: str,
    key: str,
    row_keys: list[str],
    items: list[Any],
    compute: Callable[[list[Any]], np.ndarray | pd.DataFrame],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One row per distinct row key, from the shard cache or computed in batches.

    Rows already cached under ``key`` are read (memory-mapped); the rest go to the
    executor in batches of ``batch_size``, and each batch saves its own shard as soon as
    it is done, so work survives an interruption. ``kind`` names the shard family
    (``embeddings``). ``compute`` (picklable for a remote executor) returns vectors (kept
    as memory-mapped ``.npy`` shards, a row comes back as an array) or a frame
    (``.parquet`` shards, a row comes back as a ``pd.Series``); it ticks ``progress``
    itself when it runs here, and a remote executor's batches are counted as they return.
    """
    found = ctx.store.load_shards(kind, key, row_keys)
    if progress:
        progress(sum(1 for k in row_keys if k in found))
    todo: dict[str, Any] = {}
    for k, item in zip(row_keys, items, strict=True):
        if k not in found and k not in todo:
            todo[k] = item

    work = ShardBatch(compute, ctx.store, kind, key)
    for chunk, rows in ctx.executor.map_batches(work, list(todo.items()), batch_size):
        values = [r for _, r in rows.iterrows()] if isinstance(rows, pd.DataFrame) else rows
        found.update(zip(chunk.tolist(), values, strict=True))
        if progress and ctx.executor.remote:
            progress(len(chunk))
    return found
