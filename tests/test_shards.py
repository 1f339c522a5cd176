"""Shard compaction (pipeline.store.shards): many small shards become a few, checksums
kept, with every row readable before, during and after it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.store import shards
from pipeline.store.cache import Store, sha256_file
from tests.test_base import _ctx

KEY = "c" * 16


def _unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _many(store: Store, n_shards: int = 12, per: int = 5) -> dict[str, np.ndarray]:
    rows: dict[str, np.ndarray] = {}
    for s in range(n_shards):
        keys = [f"k{s}-{i}" for i in range(per)]
        vecs = _unit(per, s)
        store.save_shard("embeddings", KEY, keys, vecs)
        rows.update(zip(keys, vecs, strict=True))
    return rows


def _all_equal(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert got.keys() == want.keys()
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v)


def test_compaction_merges_small_shards_with_checksums(tmp_path: Path) -> None:
    store = Store(tmp_path)
    want = _many(store)
    assert shards.compact(store, "embeddings", KEY, max_shards=20) == 0  # under the count
    merged = shards.compact(store, "embeddings", KEY, max_shards=4, rows=25)
    files = shards.shard_files(store, "embeddings", KEY)
    assert merged == 12 and len(files) == 3  # 60 rows in shards of at most 25
    assert len(list(store.shard_dir("embeddings", KEY).iterdir())) == 3 * 3  # no leftovers
    _all_equal(Store(tmp_path).load_shards("embeddings", KEY, list(want)), want)
    for keys_file in files:  # each merged shard carries its checksum sidecar
        stem = keys_file.name.removesuffix(".keys.json")
        sums = json.loads(keys_file.with_name(f"{stem}.sha256.json").read_text())
        assert sums["npy"] == sha256_file(keys_file.with_name(f"{stem}.npy"))
    # The next compaction leaves the full shards alone: only the 10-row rest and the new
    # shard are merged.
    store.save_shard("embeddings", KEY, ["late"], _unit(1, 99))
    full = [f for f in files if len(json.loads(f.read_text())) == 25]
    assert shards.compact(store, "embeddings", KEY, max_shards=3, rows=25) == 2
    assert set(full) < set(shards.shard_files(store, "embeddings", KEY))


def test_a_reader_racing_a_compaction_still_gets_every_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The compaction runs between the reader's listing of shards and its reading of them."""
    want = _many(Store(tmp_path))

    class Racing(Store):
        raced = False

        def _checked_shard(self, keys_file, keys):  # noqa: ANN001, ANN202
            if not Racing.raced:
                Racing.raced = True
                shards.compact(Store(self.root), "embeddings", KEY, max_shards=4, rows=25)
            return super()._checked_shard(keys_file, keys)

    with caplog.at_level(logging.WARNING):
        got = Racing(tmp_path).load_shards("embeddings", KEY, list(want))
    assert Racing.raced
    _all_equal(got, want)
    assert not caplog.records, "a compacted shard is not a damaged one"


def test_compaction_killed_midway_loses_no_row(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    store = Store(tmp_path)
    want = _many(store)
    removed: list[Path] = []

    def remove_then_die(keys_file: Path) -> None:
        if len(removed) == 3:
            raise KeyboardInterrupt
        removed.append(keys_file)
        keys_file.unlink()

    monkeypatch.setattr(shards, "_remove", remove_then_die)
    with pytest.raises(KeyboardInterrupt):
        shards.compact(store, "embeddings", KEY, max_shards=4, rows=25)
    _all_equal(Store(tmp_path).load_shards("embeddings", KEY, list(want)), want)


def test_frame_shards_are_compacted_too(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for s in range(6):
        frame = pd.DataFrame({"n": [s * 10 + i for i in range(3)]})
        store.save_shard("records", KEY, [f"r{s}-{i}" for i in range(3)], frame)
    assert shards.compact(store, "records", KEY, max_shards=2) == 6
    got = Store(tmp_path).load_shards("records", KEY, ["r0-0", "r5-2"])
    assert got["r0-0"]["n"] == 0 and got["r5-2"]["n"] == 52


def test_cached_rows_compacts_the_shards_it_leaves(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(shards, "MAX_SHARDS", 3)
    monkeypatch.setattr(shards.compact, "__defaults__", (3, shards.COMPACT_ROWS))
    from pipeline.stages.base import cached_rows

    ctx = _ctx(tmp_path)
    keys = [f"k{i}" for i in range(10)]
    found = cached_rows(ctx, "lengths", "v1", keys, keys, lambda b: _unit(len(b), len(b)), 1)
    assert len(shards.shard_files(ctx.store, "lengths", "v1")) == 1  # not 10 shards of one row
    again = Store(ctx.store.root).load_shards("lengths", "v1", keys)
    _all_equal(again, {k: found[k] for k in keys})


def test_gather_copies_rows_shard_by_shard_and_keeps_no_map(tmp_path: Path) -> None:
    """Rows straight into one array, duplicates and misses marked, and no shard left
    memory-mapped afterwards (the maps of every shard were once held at the same time)."""
    store = Store(tmp_path)
    want = _many(store, n_shards=4)
    asked = ["k2-1", "nope", "k0-0", "k2-1", "k3-4"]
    out, have = shards.gather(store, "embeddings", KEY, asked)
    assert have.tolist() == [True, False, True, True, True]
    for i, k in enumerate(asked):
        if have[i]:
            np.testing.assert_array_equal(out[i], want[k])
    assert not out[1].any() and out.flags.owndata
    maps = Path("/proc/self/maps")
    if maps.exists():
        assert str(store.shard_dir("embeddings", KEY)) not in maps.read_text()
    assert shards.gather(store, "embeddings", KEY, ["nope"])[0] is None
