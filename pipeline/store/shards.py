"""Compacting the shards of a per-document output, so many updates leave few files.

Every batch of ``cached_rows`` saves its own shard (2,048 embeddings), so a cold build of
a million documents leaves ~500 shards and every daily update adds a few more. Above
``MAX_SHARDS`` shards under one key, ``compact`` merges the small ones into shards of at
most ``COMPACT_ROWS`` rows, one merged shard at a time (memory: one merged shard). Each
merged shard is written by ``Store.save_shard`` (rows, checksum sidecar, then the keys
file as the commit marker) *before* the shards it absorbed are removed (keys file first),
so at every instant each row is in at least one whole, checksummed shard: a reader (or a
kill) in between sees a row twice, never zero times, and ``load_shards`` takes the first.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pipeline.store.cache import Store

MAX_SHARDS = 64  # a key with more shards than this is compacted
COMPACT_ROWS = 131_072  # rows per merged shard: 128 MB of 256-d float32 vectors
log = logging.getLogger("topictrends.cache")


def plausible_vectors(arr: np.ndarray, rows: int) -> bool:
    """What a shard without a checksum must look like to be adopted: every backend writes
    float32 rows of unit length (a text with no token gives a zero row)."""
    if arr.ndim != 2 or arr.dtype != np.float32 or arr.shape[0] != rows:
        return False
    norms = np.linalg.norm(np.asarray(arr, dtype=np.float64), axis=1)
    return bool(np.all(np.isfinite(norms)) and np.all((np.abs(norms - 1) < 1e-2) | (norms == 0)))


def shard_files(store: Store, kind: str, key: str) -> list[Path]:
    """The committed shards (their keys files) of one key, oldest first."""
    return sorted(store.shard_dir(kind, key).glob("shard-*.keys.json"))


def _rows(store: Store, keys_file: Path) -> tuple[list[str], np.ndarray | pd.DataFrame] | None:
    """A shard's keys and rows, verified against its checksums; None if it is gone or bad."""
    try:
        keys = json.loads(keys_file.read_text())
    except FileNotFoundError:
        return None  # compacted by another process meanwhile
    except (OSError, ValueError):
        keys = None
    if not isinstance(keys, list):
        return None  # left for load_shards, which reports and drops it
    data = store._checked_shard(keys_file, keys)
    return None if data is None else (keys, data)


def _remove(keys_file: Path) -> None:
    stem = keys_file.name.removesuffix(".keys.json")
    for suffix in (".keys.json", ".npy", ".parquet", ".sha256.json"):  # keys file first
        with contextlib.suppress(OSError):
            keys_file.with_name(stem + suffix).unlink()


def _merge(parts: list[np.ndarray | pd.DataFrame]) -> np.ndarray | pd.DataFrame:
    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts, ignore_index=True)
    return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])


def compact(
    store: Store, kind: str, key: str, max_shards: int = MAX_SHARDS, rows: int = COMPACT_ROWS
) -> int:
    """Merge the small shards of ``key`` when it has more than ``max_shards``; return how
    many shards were merged away (0 when nothing was done).

    Shards already at least half of ``rows`` are left as they are, so a compacted key is
    not rewritten by every later update. A row present in several shards is kept once.
    """
    files = shard_files(store, kind, key)
    if len(files) <= max_shards:
        return 0
    merged = 0
    seen: set[str] = set()
    batch_keys: list[str] = []
    batch_rows: list[np.ndarray | pd.DataFrame] = []
    absorbed: list[Path] = []

    def flush() -> None:
        nonlocal merged
        if len(absorbed) > 1:  # one shard alone is left as it is
            store.save_shard(kind, key, list(batch_keys), _merge(batch_rows))
            for f in absorbed:  # only now: every row of theirs is in the merged shard
                _remove(f)
            merged += len(absorbed)
        batch_keys.clear(), batch_rows.clear(), absorbed.clear()

    for keys_file in files:
        got = _rows(store, keys_file)
        if got is None or len(got[0]) >= rows // 2:
            continue
        keys, data = got
        take = [i for i, k in enumerate(keys) if k not in seen]
        seen.update(keys[i] for i in take)
        if len(batch_keys) + len(take) > rows:
            flush()
        batch_keys.extend(keys[i] for i in take)
        batch_rows.append(data.iloc[take] if isinstance(data, pd.DataFrame) else data[take])
        absorbed.append(keys_file)
    flush()
    if merged:
        log.info("%s: compacted %d shards", store.shard_dir(kind, key), merged)
    return merged


def gather(
    store: Store, kind: str, key: str, wanted: list[str]
) -> tuple[np.ndarray | None, np.ndarray]:
    """The cached vectors of ``wanted`` written straight into one float32 array, and which
    rows were found.

    ``load_shards`` hands back one array view per row, each keeping its shard's memory
    map alive, so gathering a million rows through it held the vectors twice (the maps
    and the copy) plus a million small objects. Here each shard is mapped, its rows are
    copied in one fancy-indexed assignment, and the map is dropped before the next: the
    peak is the result plus one shard. ``.npy`` shards only; None when nothing was found.
    """
    where: dict[str, list[int]] = {}
    for i, k in enumerate(wanted):
        where.setdefault(k, []).append(i)
    have = np.zeros(len(wanted), dtype=bool)
    out: np.ndarray | None = None
    for keys_file in shard_files(store, kind, key):
        try:
            keys = json.loads(keys_file.read_text())
        except (OSError, ValueError):
            continue  # merged away, or damaged: load_shards deals with it
        if not isinstance(keys, list):
            continue
        rows, at = [], []
        for r, k in enumerate(keys):
            spots = where.get(k)
            if spots and not have[spots[0]]:
                rows += [r] * len(spots)
                at += spots
                have[spots] = True
        if not rows:
            continue
        data = store._checked_shard(keys_file, keys)
        if data is None or isinstance(data, pd.DataFrame):
            have[at] = False
            continue
        if out is None:
            out = np.zeros((len(wanted), data.shape[1]), dtype=np.float32)
        out[at] = data[rows]
        del data
    return out, have
