"""The cache stays whole (issue 14): complete runs, checked embedding shards, swept
temporaries, and a heartbeat that tells a running build from a dead one anywhere."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.errors import CacheError
from pipeline.flows import build
from pipeline.store import heartbeat
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from pipeline.store.contract import ALWAYS_ARTIFACTS, DATED_ARTIFACTS
from tests.conftest import REPO

KEY = "e" * 16


def _unit_rows(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _shard(store: Store) -> Path:
    (npy,) = store.embedding_dir(KEY).glob("shard-*.npy")
    return npy


def _progress(root: Path, run: str, **entry: object) -> None:
    (root / ".progress").mkdir(parents=True, exist_ok=True)
    (root / ".progress" / f"{run}.json").write_text(json.dumps({"run": run, **entry}))


def _iso(seconds_ago: float) -> str:
    return (heartbeat.utc_now() - dt.timedelta(seconds=seconds_ago)).isoformat()


# ----------------------------------------------------------------- complete runs


def test_every_required_artifact_is_documented() -> None:
    text = (REPO / "docs" / "artifacts.md").read_text()
    for rel in (*ALWAYS_ARTIFACTS, *DATED_ARTIFACTS, "lineage.parquet"):
        assert f"`{rel.split('/')[-1]}`" in text, f"{rel} is not in docs/artifacts.md"


def test_a_build_without_its_model_is_not_published(
    tmp_path: Path, planted_csv: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "cache")
    before = build(str(planted_csv), fast_config, store).run_dir.resolve()
    import pipeline.stages.represent as represent

    monkeypatch.setattr(represent, "save_model", lambda model, directory: None)
    other = fast_config.with_overrides({"represent": {"top_n_words": 7}})
    with pytest.raises(CacheError, match=r"the new build lacks model/config\.json.*not published"):
        build(str(planted_csv), other, store)
    assert store.run_path("planted").resolve() == before
    assert list((tmp_path / "cache").rglob(".tmp-*")) == []


# ----------------------------------------------------------------- embedding shards


def test_a_shard_with_wrong_contents_is_embedded_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path)
    keys, vecs = [f"k{i}" for i in range(6)], _unit_rows(6)
    store.save_embeddings(KEY, keys, vecs)
    npy = _shard(store)
    np.save(npy, vecs[::-1].copy(), allow_pickle=False)  # same header, rows swapped
    with caplog.at_level(logging.WARNING, logger="topictrends"):
        assert Store(tmp_path).load_embeddings(KEY, keys) == {}
    assert "checksum mismatch" in caplog.text and "embedded again" in caplog.text
    assert list(store.embedding_dir(KEY).glob("shard-*")) == []


def test_shards_are_checksummed_and_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.store.cache as cache

    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(cache.os, "fsync", fsync)
    store = Store(tmp_path)
    keys, vecs = ["a", "b"], _unit_rows(2)
    store.save_embeddings(KEY, keys, vecs)
    stem = _shard(store).name.removesuffix(".npy")
    names = [Path(p).name for p in synced]
    for part in (".npy", ".sha256.json", ".keys.json"):
        assert f".tmp-{stem}{part}" in names, f"{part} not fsynced before its rename"
    assert str(store.embedding_dir(KEY)) in synced  # the directory, after the renames
    sums = json.loads((store.embedding_dir(KEY) / f"{stem}.sha256.json").read_text())
    assert set(sums) == {"npy", "keys"}
    got = Store(tmp_path).load_embeddings(KEY, keys)
    np.testing.assert_array_equal(np.stack([got["a"], got["b"]]), vecs)


def _legacy_shard(store: Store, keys: list[str], vecs: np.ndarray) -> Path:
    """A shard as topictrends wrote it before checksums: vectors and keys, no sidecar."""
    d = store.embedding_dir(KEY)
    d.mkdir(parents=True)
    np.save(d / "shard-20250101T000000-00000000.npy", vecs, allow_pickle=False)
    (d / "shard-20250101T000000-00000000.keys.json").write_text(json.dumps(keys))
    return d / "shard-20250101T000000-00000000.npy"


def test_a_legacy_shard_is_adopted_then_protected(tmp_path: Path) -> None:
    keys, vecs = ["a", "b", "c"], _unit_rows(3)
    npy = _legacy_shard(Store(tmp_path), keys, vecs)
    got = Store(tmp_path).load_embeddings(KEY, keys)
    np.testing.assert_array_equal(got["c"], vecs[2])
    assert npy.with_name(npy.name.replace(".npy", ".sha256.json")).exists()
    np.save(npy, vecs[::-1].copy(), allow_pickle=False)  # changed after adoption
    assert Store(tmp_path).load_embeddings(KEY, keys) == {}


@pytest.mark.parametrize("bad", ["nan", "not unit", "too few rows", "float64"])
def test_an_implausible_legacy_shard_is_embedded_again(
    tmp_path: Path, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys, vecs = ["a", "b", "c"], _unit_rows(3)
    vecs = {
        "nan": np.where(np.eye(3, 8, dtype=bool), np.nan, vecs).astype(np.float32),
        "not unit": vecs * 3,
        "too few rows": vecs[:2],
        "float64": vecs.astype(np.float64),
    }[bad]
    _legacy_shard(Store(tmp_path), keys, vecs)
    with caplog.at_level(logging.WARNING, logger="topictrends"):
        assert Store(tmp_path).load_embeddings(KEY, keys) == {}
    assert "embedded again" in caplog.text


def test_a_build_re_embeds_a_tampered_shard(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    store = Store(tmp_path / "cache")
    first = build(str(planted_csv), fast_config, store)
    vectors = open_run(first.run_dir).read_array("embeddings.npy")
    (d,) = (store.store_dir / "embeddings").iterdir()
    # The documents are embedded first; the keywords' shard comes later (represent).
    docs_shard = min(d.glob("shard-*.npy"), key=lambda p: p.stat().st_mtime_ns)
    arr = np.load(docs_shard)
    np.save(docs_shard, np.roll(arr, 1, axis=0), allow_pickle=False)
    again = build(str(planted_csv), fast_config, store, force=True)
    assert again.timings["embed"]["new_documents"] == arr.shape[0]
    np.testing.assert_array_equal(open_run(again.run_dir).read_array("embeddings.npy"), vectors)


# ----------------------------------------------------------------- leftovers


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


def test_temporaries_older_than_every_running_build_are_swept(tmp_path: Path) -> None:
    store = Store(tmp_path)
    old = [
        store.store_dir / "stages" / "reduce" / ".tmp-0123-abcd",
        store.store_dir / "stages" / "represent" / "k" / ".tmp-model-abcd",
        store.store_dir / "runs" / "news" / ".tmp-20250101T000000-aaaaaa-abcd",
    ]
    for p in old:
        (p / "sub").mkdir(parents=True)
        (p / "sub" / "x.npy").write_bytes(b"x")
    shard_tmp = store.store_dir / "embeddings" / KEY / ".tmp-shard-x.npy"
    shard_tmp.parent.mkdir(parents=True)
    shard_tmp.write_bytes(b"x")
    store.runs_dir.mkdir()
    link_tmp = store.runs_dir / ".tmp-news-abcd"
    link_tmp.symlink_to("../.store/runs/news/gone")
    young = store.store_dir / "stages" / "cluster" / ".tmp-4567-abcd"
    young.mkdir(parents=True)
    for p in [*old, shard_tmp, link_tmp]:
        _age(p, 2 * 3600)
    _age(young, 1800)  # newer than the running build below: may be its own
    # A build in another container, started an hour ago, heartbeat fresh.
    _progress(
        tmp_path,
        "other",
        state="running",
        pid=1,
        host="another-container",
        started_at=_iso(3600),
        heartbeat_at=_iso(1),
    )
    with store.lock("news"):
        pass
    assert [p for p in [*old, shard_tmp, link_tmp] if os.path.lexists(p)] == []
    assert young.exists()


# ----------------------------------------------------------------- heartbeat


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_cache_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.store.cache import cache_root

    monkeypatch.setenv("TOPICTRENDS_CACHE", str(tmp_path / "env-cache"))
    assert cache_root(None) == (tmp_path / "env-cache").resolve()
    assert cache_root(tmp_path / "flag") == (tmp_path / "flag").resolve()
    monkeypatch.delenv("TOPICTRENDS_CACHE")
    assert cache_root(None) == Path(os.getcwd(), "cache").resolve()
