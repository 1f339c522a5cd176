"""The cache root on disk: atomic directories, per-stage results, embeddings, locks, runs.

Layout (documented in docs/artifacts.md)::

    <root>/runs/<name>                  -> symlink to the current build of run <name>
    <root>/.store/runs/<name>/<stamp>/  one immutable build (artifacts + manifest.json)
    <root>/.store/stages/<stage>/<key>/ one stage result, keyed by its inputs and config
    <root>/.store/embeddings/<key>/     embedding shards, keyed per document content hash
                                        (``load_shards`` / ``save_shard``, kind ``embeddings``)
    <root>/.locks/<name>.lock           held while a build of <name> runs

Everything is written into a temporary sibling and renamed into place, and a run is
published by atomically swapping its symlink, so a crash at any point leaves the previous
result readable. Only Parquet, .npy, JSON and safetensors are written: loading a shared
cache must never execute code, so there is no pickle anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import BuildLockedError, CacheError, UserError

ENV_CACHE = "TOPICTRENDS_CACHE"
KEEP_BUILDS = 3


def cache_root(cli_value: str | Path | None) -> Path:
    """``--cache-dir``, else ``$TOPICTRENDS_CACHE``, else ``./cache``."""
    value = cli_value or os.environ.get(ENV_CACHE) or "cache"
    return Path(value).expanduser().resolve()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_stamp() -> str:
    """Name of a new build directory: UTC time to the second plus 6 random hex digits."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _disk_error(exc: OSError, where: Path) -> UserError:
    return UserError(
        f"{where}: cannot write the cache ({exc.strerror or exc}). Free some space or pass another --cache-dir; "
        "the previous results are intact."
    )


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temp dir next to ``final``; on success rename it into place.

    If ``final`` already exists (a concurrent writer of the same key), the new copy is
    dropped: keys are content hashes, so both copies are identical.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        for f in tmp.rglob("*"):
            if f.is_file():
                with f.open("rb") as fh:
                    os.fsync(fh.fileno())
        try:
            os.rename(tmp, final)
        except OSError:
            if final.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                raise
        _fsync_dir(final.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _disk_error(exc, final.parent) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_files(
    directory: Path,
    arrays: dict[str, np.ndarray] | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
    jsons: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write named arrays (.npy), frames (.parquet) and JSON; return {filename: sha256}."""
    written: dict[str, str] = {}
    for name, arr in (arrays or {}).items():
        path = directory / f"{name}.npy"
        np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
        written[path.name] = sha256_file(path)
    for name, df in (frames or {}).items():
        path = directory / f"{name}.parquet"
        df.to_parquet(path, index=False)
        written[path.name] = sha256_file(path)
    for name, obj in (jsons or {}).items():
        path = directory / f"{name}.json"
        write_json(path, obj)
        written[path.name] = sha256_file(path)
    return written


def load_npy(path: Path) -> np.ndarray:
    """np.load with pickles refused, so a planted object array cannot run code."""
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CacheError(f"{path}: unreadable array ({exc}).") from None


def _read_shard(stem: Path) -> np.ndarray | pd.DataFrame:
    """The data file of one shard: ``<stem>.npy`` memory-mapped, else ``<stem>.parquet``."""
    npy = stem.with_name(stem.name + ".npy")
    if npy.exists():
        return np.load(npy, mmap_mode="r", allow_pickle=False)
    return pd.read_parquet(stem.with_name(stem.name + ".parquet"))


class Store:
    """Access to one cache root. Cheap to create; holds no open files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs_dir = root / "runs"
        self.store_dir = root / ".store"

    # ----------------------------------------------------------------- stage results
    def stage_dir(self, stage: str, key: str) -> Path:
        return self.store_dir / "stages" / stage / key

    def load_stage(self, stage: str, key: str) -> dict[str, Any] | None:
        """Return the stage's files as {name: array | frame | json}, or None on a miss.

        A damaged entry (missing file, checksum mismatch) counts as a miss, so the stage
        is recomputed instead of failing the build.
        """
        d = self.stage_dir(stage, key)
        meta_path = d / "stage.json"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            out: dict[str, Any] = {"_meta": meta}
            for fname, digest in meta["files"].items():
                p = d / fname
                if sha256_file(p) != digest:
                    return None
                stem, ext = fname.rsplit(".", 1)
                if ext == "npy":
                    out[stem] = load_npy(p)
                elif ext == "parquet":
                    out[stem] = pd.read_parquet(p)
                elif ext == "json":
                    out[stem] = json.loads(p.read_text())
            return out
        except (OSError, ValueError, KeyError, CacheError):
            return None

    def save_stage(
        self, stage: str, key: str, upstream: dict[str, str], seconds: float, **files: Any
    ) -> None:
        arrays = {k: v for k, v in files.items() if isinstance(v, np.ndarray)}
        frames = {k: v for k, v in files.items() if isinstance(v, pd.DataFrame)}
        jsons = {k: v for k, v in files.items() if k not in arrays and k not in frames}
        d = self.stage_dir(stage, key)
        if (d / "stage.json").exists():
            shutil.rmtree(d, ignore_errors=True)  # damaged entry being replaced
        with atomic_dir(d) as tmp:
            written = save_files(tmp, arrays, frames, jsons)
            write_json(
                tmp / "stage.json",
                {
                    "stage": stage,
                    "key": key,
                    "upstream": upstream,
                    "files": written,
                    "seconds": round(seconds, 3),
                    "created_at": now_iso(),
                },
            )

    # ----------------------------------------------------------------- per-document shards
    def shard_dir(self, kind: str, key: str) -> Path:
        """Shards of one per-document output (``embeddings``) under one key."""
        return self.store_dir / kind / key

    def load_shards(self, kind: str, key: str, wanted: list[str]) -> dict[str, Any]:
        """Cached rows for the wanted row keys (content hashes) that are present.

        A row of a ``.npy`` shard is a vector (read memory-mapped); a row of a ``.parquet``
        shard is a ``pd.Series`` of its columns.
        """
        d = self.shard_dir(kind, key)
        if not d.exists():
            return {}
        want = set(wanted)
        found: dict[str, Any] = {}
        for keys_file in sorted(d.glob("shard-*.keys.json")):
            try:
                keys = json.loads(keys_file.read_text())
                rows = [i for i, k in enumerate(keys) if k in want and k not in found]
                if not rows:
                    continue
                data = _read_shard(keys_file.with_name(keys_file.name.replace(".keys.json", "")))
                if len(data) != len(keys):
                    continue
                for i in rows:
                    found[keys[i]] = (
                        data.iloc[i] if isinstance(data, pd.DataFrame) else np.asarray(data[i])
                    )
            except (OSError, ValueError):
                continue  # a damaged shard is just a miss
        return found

    def save_shard(
        self, kind: str, key: str, keys: list[str], rows: np.ndarray | pd.DataFrame
    ) -> None:
        """Append one shard (vectors as .npy, a frame as .parquet); the keys file is written
        last and is the commit marker.

        Each shard has a unique name, so several workers may write shards of the same key
        at once; a reader sees a shard only once its keys file is in place.
        """
        if not keys:
            return
        d = self.shard_dir(kind, key)
        d.mkdir(parents=True, exist_ok=True)
        stem = f"shard-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        try:
            if isinstance(rows, pd.DataFrame):
                tmp = d / f".tmp-{stem}.parquet"
                rows.to_parquet(tmp, index=False)
                os.replace(tmp, d / f"{stem}.parquet")
            else:
                tmp = d / f".tmp-{stem}.npy"
                np.save(tmp, rows.astype(np.float32), allow_pickle=False)
                os.replace(tmp, d / f"{stem}.npy")
            tmp_keys = d / f".tmp-{stem}.keys.json"
            tmp_keys.write_text(json.dumps(keys))
            os.replace(tmp_keys, d / f"{stem}.keys.json")
        except OSError as exc:
            raise _disk_error(exc, d) from None

    # ----------------------------------------------------------------- runs
    def run_path(self, name: str) -> Path:
        return self.runs_dir / name

    def publish_run(self, name: str, build_dir_writer, stamp: str | None = None) -> Path:  # noqa: ANN001 - callable(tmp: Path) -> None
        """Write a new build with ``build_dir_writer(tmp)`` and swap the run's symlink to it.

        ``stamp`` names the build directory (``new_stamp()`` when not given); a caller
        that records the build's name inside it (``topic_history.parquet``) makes it first.
        """
        stamp = stamp or new_stamp()
        builds = self.store_dir / "runs" / name
        final = builds / stamp
        with atomic_dir(final) as tmp:
            build_dir_writer(tmp)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        link = self.run_path(name)
        tmp_link = self.runs_dir / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
        try:
            os.symlink(os.path.relpath(final, self.runs_dir), tmp_link)
            os.replace(tmp_link, link)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp_link.unlink()
            raise _disk_error(exc, self.runs_dir) from None
        _fsync_dir(self.runs_dir)
        self._prune(builds, keep=final)
        return link

    def previous_build(self, name: str) -> Path | None:
        link = self.run_path(name)
        return link.resolve() if link.is_symlink() and link.resolve().exists() else None

    def _prune(self, builds: Path, keep: Path) -> None:
        done = sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".tmp-"))
        for old in done[:-KEEP_BUILDS]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)

    def list_runs(self) -> list[Path]:
        if not self.runs_dir.exists():
            return []
        return sorted(p for p in self.runs_dir.iterdir() if not p.name.startswith("."))

    # ----------------------------------------------------------------- locks
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        locks = self.root / ".locks"
        try:
            locks.mkdir(parents=True, exist_ok=True)
            fh = (locks / f"{name}.lock").open("a+")
        except OSError as exc:
            raise _disk_error(exc, locks) from None
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BuildLockedError(
                    f"{locks / (name + '.lock')}: another build of run '{name}' is running. "
                    "Wait for it to finish, or build under another --name."
                ) from None
            yield
        finally:
            fh.close()
