"""The cache root on disk: atomic directories, per-stage results, embeddings, locks, runs.

Layout (documented in docs/artifacts.md)::

    <root>/runs/<name>                  -> symlink to the current build of run <name>
    <root>/.store/runs/<name>/<stamp>/  one immutable build (artifacts + manifest.json)
    <root>/.store/stages/<stage>/<key>/ one stage result, keyed by its inputs and config
    <root>/.store/embeddings/<key>/     embedding shards, keyed per document content hash
                                        (``load_shards`` / ``save_shard``, kind ``embeddings``)
    <root>/.locks/<name>.lock           held while a build of <name> runs

Everything is written into a temporary sibling (``.tmp-*``) and renamed into place, and a
run is published by atomically swapping its symlink, so a crash at any point leaves the
previous result readable; the temporaries a killed build leaves are swept when a later
build takes its lock. Only Parquet, .npy, JSON and safetensors are written: loading a
shared cache must never execute code, so there is no pickle anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import BuildLockedError, CacheError, UserError, os_error_line
from pipeline.store import heartbeat
from pipeline.store.parquet import write_frame
from pipeline.store.shards import plausible_vectors

ENV_CACHE = "TOPICTRENDS_CACHE"
KEEP_BUILDS = 3
SWEEP_DEPTH = 3  # .tmp-* entries sit at most this deep under .store (see sweep_tmp)
log = logging.getLogger("topictrends.cache")


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


def _write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary sibling and a rename."""
    tmp = path.with_name(f".tmp-{path.name}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _disk_error(exc: OSError, where: Path) -> UserError:
    """The one-line report of a failed cache write; the fix depends on the errno."""
    line = os_error_line(exc, where, "cannot write the cache", "pass another --cache-dir")
    return UserError(line + " The previous results are intact.")


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
        write_frame(path, df)  # in row groups above parquet.ROW_GROUP rows
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


def _shard_data(keys_file: Path) -> Path:
    """The data file of a shard: ``.npy`` (vectors) unless a ``.parquet`` (a frame) is there."""
    stem = keys_file.name.removesuffix(".keys.json")
    parquet = keys_file.with_name(f"{stem}.parquet")
    return parquet if parquet.exists() else keys_file.with_name(f"{stem}.npy")


class Store:
    """Access to one cache root. Cheap to create; holds no open files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs_dir = root / "runs"
        self.store_dir = root / ".store"
        self._shards_ok: dict[Path, tuple[tuple[int, int], ...]] = {}  # verified this session

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

    def embedding_dir(self, key: str) -> Path:
        return self.shard_dir("embeddings", key)

    def load_embeddings(self, key: str, wanted: list[str]) -> dict[str, np.ndarray]:
        return self.load_shards("embeddings", key, wanted)

    def save_embeddings(self, key: str, keys: list[str], vectors: np.ndarray) -> None:
        self.save_shard("embeddings", key, keys, vectors)

    def load_shards(self, kind: str, key: str, wanted: list[str]) -> dict[str, Any]:
        """Cached rows for the wanted row keys (content hashes) that are present.

        Each shard is checked against its checksum sidecar before use (once per Store); a
        damaged shard is logged, removed and its rows count as misses, so they are
        computed again. A row of a ``.npy`` shard is a vector (memory-mapped); a row of a
        ``.parquet`` shard is a ``pd.Series`` of its columns.
        """
        d = self.shard_dir(kind, key)
        if not d.exists():
            return {}
        want, found, done = set(wanted), {}, set()
        for _ in range(2):  # a second pass reads what a concurrent compaction merged into
            for keys_file in sorted(set(d.glob("shard-*.keys.json")) - done):
                done.add(keys_file)
                try:
                    keys = json.loads(keys_file.read_text())
                except FileNotFoundError:
                    continue  # merged into another shard meanwhile (``shards.compact``)
                except (OSError, ValueError):
                    keys = None
                if not isinstance(keys, list):
                    self._drop_shard(keys_file, "unreadable keys file")
                    continue
                rows = [i for i, k in enumerate(keys) if k in want and k not in found]
                data = self._checked_shard(keys_file, keys) if rows else None
                if isinstance(data, pd.DataFrame):
                    found.update((keys[i], data.iloc[i]) for i in rows)
                elif data is not None:
                    found.update((keys[i], np.asarray(data[i])) for i in rows)
            if want <= found.keys() or all(f.exists() for f in done):
                return found
        return found

    def _checked_shard(self, keys_file: Path, keys: list[str]) -> np.ndarray | pd.DataFrame | None:
        """The shard's rows if it is whole, else None (after dropping it).

        A shard with a sidecar (``shard-*.sha256.json``) must match its checksums. A
        ``.npy`` shard written before sidecars existed is adopted if it looks like
        embeddings (float32, one unit-length row per key) and gets its sidecar now, so any
        later change is caught; otherwise it is dropped (docs/artifacts.md, "Embedding
        shards"). ``.parquet`` shards always have a sidecar.
        """
        stem = keys_file.name.removesuffix(".keys.json")
        data_file, side = _shard_data(keys_file), keys_file.with_name(f"{stem}.sha256.json")
        kind = data_file.suffix.lstrip(".")
        try:
            stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (data_file, keys_file))
            trusted = self._shards_ok.get(data_file) == stamp
            sums = json.loads(side.read_text()) if side.exists() and not trusted else None
            if sums is not None and (
                not isinstance(sums, dict)
                or sums.get(kind) != sha256_file(data_file)
                or sums.get("keys") != sha256_file(keys_file)
            ):
                self._drop_shard(keys_file, "checksum mismatch")
                return None
            if kind == "parquet" and sums is None and not trusted:
                raise ValueError("no checksum sidecar")
            data = (
                pd.read_parquet(data_file)
                if kind == "parquet"
                else np.load(data_file, mmap_mode="r", allow_pickle=False)
            )
        except (OSError, ValueError) as exc:
            if not keys_file.exists():
                return None  # merged into another shard meanwhile (``shards.compact``)
            self._drop_shard(
                keys_file, f"unreadable ({str(exc).splitlines()[0] if str(exc) else exc!r})"
            )
            return None
        if len(data) != len(keys) or (
            sums is None and not trusted and not plausible_vectors(data, len(keys))
        ):
            self._drop_shard(keys_file, "its rows do not match its keys")
            return None
        if sums is None and not trusted:  # written before checksums: adopt it
            with contextlib.suppress(OSError):
                _write_synced(side, self._shard_sums(data_file, keys_file))
        self._shards_ok[data_file] = stamp
        return data

    @staticmethod
    def _shard_sums(data_file: Path, keys_file: Path) -> bytes:
        kind = data_file.suffix.lstrip(".")
        sums = {kind: sha256_file(data_file), "keys": sha256_file(keys_file)}
        return json.dumps(sums, sort_keys=True).encode()

    def _drop_shard(self, keys_file: Path, why: str) -> None:
        """Warn and remove a damaged shard (keys file first: it marks the shard complete)."""
        stem = keys_file.name.removesuffix(".keys.json")
        what = ("embedding shard", "documents will be embedded")
        if keys_file.parent.parent.name != "embeddings":
            what = ("shard", "rows will be computed")
        log.warning("%s: %s %s; its %s again.", _shard_data(keys_file), what[0], why, what[1])
        for suffix in (".keys.json", ".npy", ".parquet", ".sha256.json"):
            with contextlib.suppress(OSError):
                keys_file.with_name(stem + suffix).unlink()
        self._shards_ok.pop(_shard_data(keys_file), None)

    def save_shard(
        self, kind: str, key: str, keys: list[str], rows: np.ndarray | pd.DataFrame
    ) -> None:
        """Append one shard: rows, checksum sidecar, then the keys file, each fsynced.

        Vectors are kept as ``.npy`` (memory-mapped when read), a frame as ``.parquet``.
        The keys file is written last and is the commit marker, so a reader never sees a
        shard without its sidecar; shard names are unique, so several workers may write
        shards of the same key at once.
        """
        if not keys:
            return
        d = self.shard_dir(kind, key)
        d.mkdir(parents=True, exist_ok=True)
        stem = f"shard-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        keys_bytes = json.dumps(keys).encode()
        ext = "parquet" if isinstance(rows, pd.DataFrame) else "npy"
        try:
            tmp = d / f".tmp-{stem}.{ext}"
            if isinstance(rows, pd.DataFrame):
                rows.to_parquet(tmp, index=False)
            else:
                np.save(tmp, np.asarray(rows, dtype=np.float32), allow_pickle=False)
            _fsync_file(tmp)
            os.replace(tmp, d / f"{stem}.{ext}")
            sums = {
                ext: sha256_file(d / f"{stem}.{ext}"),
                "keys": hashlib.sha256(keys_bytes).hexdigest(),
            }
            _write_synced(d / f"{stem}.sha256.json", json.dumps(sums, sort_keys=True).encode())
            _fsync_dir(d)
            _write_synced(d / f"{stem}.keys.json", keys_bytes)
            _fsync_dir(d)
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

    # ----------------------------------------------------------------- leftovers
    def sweep_tmp(self, cutoff: float) -> list[Path]:
        """Remove the ``.tmp-*`` entries under ``.store`` and ``runs`` last changed before
        ``cutoff`` (epoch seconds); return what was removed.

        Every writer creates its temporaries under these names (``atomic_dir``, shards, the
        run symlink), at most ``SWEEP_DEPTH`` levels below ``.store``.
        """
        removed: list[Path] = []
        for top in (self.store_dir, self.runs_dir):
            for dirpath, dirnames, filenames in os.walk(top):
                here = Path(dirpath)
                for name in (*dirnames, *filenames):
                    path = here / name
                    if not name.startswith(".tmp-"):
                        continue
                    with contextlib.suppress(OSError):
                        if path.lstat().st_mtime >= cutoff:
                            continue
                        if path.is_dir() and not path.is_symlink():
                            shutil.rmtree(path)
                        else:
                            path.unlink()
                        removed.append(path)
                deep = len(here.relative_to(top).parts) >= SWEEP_DEPTH
                dirnames[:] = [] if deep else [n for n in dirnames if not n.startswith(".tmp-")]
        return removed

    def sweep_cutoff(self) -> float:
        """Temporaries older than this belong to no running build.

        Every build writes its progress file before it creates a temporary, so one older
        than the start of every running build (``build_progress``, heartbeat rule) is a
        killed build's. Anything younger than the staleness window is kept as well, for a
        build too busy to beat and for writers that keep no progress file.
        """
        starts = heartbeat.running_since(heartbeat.build_progress(self.root))
        limit = heartbeat.utc_now().timestamp() - heartbeat.STALE_SECONDS
        return min([limit, *(t.timestamp() for t in starts)])

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
            with contextlib.suppress(OSError, ValueError):
                self.sweep_tmp(self.sweep_cutoff())  # what killed builds left behind
            yield
        finally:
            fh.close()
