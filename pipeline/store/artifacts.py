"""The run artifacts: the documented contract between the pipeline and every reader.

``docs/artifacts.md`` describes each file; ``pipeline.store.contract`` holds the names and
columns (``REQUIRED_COLUMNS``), and a test checks the two agree. Readers go through
``open_run`` / ``read_artifact``, which refuse a wrong schema version, a missing file or a
checksum mismatch with a message naming the path and the command that rebuilds it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import SCHEMA_VERSION
from pipeline.errors import CacheError
from pipeline.store.cache import load_npy, sha256_file
from pipeline.store.contract import MODEL_FILES, REQUIRED_COLUMNS, required_artifacts
from pipeline.store.heartbeat import build_progress  # noqa: F401 - readers import it here
from pipeline.store.parquet import read_columns


def model_complete(directory: Path) -> bool:
    """Whether ``directory`` holds a whole saved model (every file of ``MODEL_FILES``)."""
    return all((directory / f).is_file() for f in MODEL_FILES)


def check_complete(manifest: dict[str, Any], build_dir: Path) -> None:
    """Refuse to publish a build missing any required artifact (listed or on disk).

    Called by the publish step before the manifest is written, so an incomplete build is
    dropped with its temporary directory and the run's current build stays current.
    """
    listed = manifest.get("artifacts") or {}
    missing = [
        f for f in required_artifacts(manifest) if f not in listed or not (build_dir / f).is_file()
    ]
    if missing:
        raise CacheError(
            f"run '{manifest.get('run', build_dir.name)}': the new build lacks "
            f"{', '.join(missing)} (required by docs/artifacts.md), so it was not published and "
            f"the current build is unchanged. Rebuild it with: {rebuild_command(manifest, build_dir)}"
        )


def rebuild_command(manifest: dict[str, Any] | None, run_dir: Path) -> str:
    name = run_dir.name
    source = None
    if manifest:
        name = manifest.get("run", name)
        source = manifest.get("corpus", {}).get("input")
    return f"topictrends build {source or '<INPUT>'} --name {name} --force"


@dataclass
class RunHandle:
    """A verified run directory: the manifest is read, artifacts are read on demand."""

    path: Path
    manifest: dict[str, Any]
    _checked: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.manifest.get("run", self.path.name)

    @property
    def dated(self) -> bool:
        return bool(self.manifest.get("dated"))

    def has(self, filename: str) -> bool:
        return filename in self.manifest.get("artifacts", {})

    def _fail(self, what: str) -> CacheError:
        return CacheError(f"{what}. Rebuild it with: {rebuild_command(self.manifest, self.path)}")

    def verify(self, filename: str) -> Path:
        path = self.path / filename
        info = self.manifest.get("artifacts", {}).get(filename)
        if info is None:
            raise self._fail(f"{path}: not part of this run")
        if not path.exists():
            raise self._fail(f"{path}: missing")
        if filename not in self._checked:
            if sha256_file(path) != info["sha256"]:
                raise self._fail(f"{path}: checksum mismatch (the file changed or is truncated)")
            self._checked.add(filename)
        return path

    def read_table(self, filename: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The artifact, or only those of ``columns`` it has (the rest are never decoded:
        a reader of a million documents' topics need not hold their texts)."""
        path = self.verify(filename)
        try:
            if columns is not None:
                import pyarrow.parquet as pq

                names = set(pq.read_schema(path).names)
                columns = [c for c in columns if c in names]
            df = read_columns(path, columns)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise self._fail(f"{path}: unreadable Parquet ({str(exc).splitlines()[0]})") from None
        wanted = REQUIRED_COLUMNS.get(filename, ())
        if columns is not None:
            wanted = [c for c in wanted if c in columns]
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise self._fail(
                f"{path}: missing columns {missing} for schema version {SCHEMA_VERSION}"
            )
        return df

    def read_array(self, filename: str) -> np.ndarray:
        return load_npy(self.verify(filename))


def open_run(run_dir: Path) -> RunHandle:
    """Read and check a run's manifest; raise CacheError with the rebuild command if wrong."""
    mpath = run_dir / "manifest.json"
    if not mpath.exists():
        raise CacheError(
            f"{mpath}: missing, so {run_dir.name} is not a complete run. Rebuild it with: {rebuild_command(None, run_dir)}"
        )
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CacheError(
            f"{mpath}: unreadable manifest ({exc}). Rebuild it with: {rebuild_command(None, run_dir)}"
        ) from None
    if not isinstance(manifest, dict):
        raise CacheError(
            f"{mpath}: not a manifest object. Rebuild it with: {rebuild_command(None, run_dir)}"
        )
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CacheError(
            f"{mpath}: schema version {version!r}, but this topictrends reads version {SCHEMA_VERSION}. "
            f"Rebuild it with: {rebuild_command(manifest, run_dir)}"
        )
    return RunHandle(path=run_dir, manifest=manifest)


def summary_row(handle: RunHandle) -> dict[str, Any]:
    m = handle.manifest
    counts = m.get("counts", {})
    return {
        "run": handle.name,
        "documents": counts.get("documents"),
        "topics": counts.get("topics"),
        "outlier_share": counts.get("outlier_share"),
        "date_span": " .. ".join(m.get("date_span") or []) or "undated",
        "built_at": m.get("created_at"),
    }
