"""Runs with update history for the dashboard tests, made by the real commands.

``updated_runs`` builds a first corpus, adds documents with ``pipeline.flows.update``
(``topictrends update``) and re-fits with ``build(..., refit=True)``
(``topictrends build --refit``), keeping a copy of the run as it was after the update.
``republish`` writes a changed copy of a run (other labels, files left out) with fresh
checksums through ``Store.publish_run``, so ``open_run`` verifies it like any other run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.flows import build, update
from pipeline.store.cache import Store, save_files, sha256_file, write_json


def republish(
    store: Store,
    name: str,
    frames: dict[str, pd.DataFrame] | None = None,
    arrays: dict[str, np.ndarray] | None = None,
    manifest_patch: dict[str, Any] | None = None,
    source: Path | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Publish a new build of ``name``: the files of ``source`` (default: its current build)
    with ``frames``/``arrays`` (by stem) replaced or added, the artifacts and manifest keys
    in ``drop`` left out, every checksum recomputed."""
    src = (source or store.run_path(name)).resolve()
    manifest = json.loads((src / "manifest.json").read_text())
    manifest.update(manifest_patch or {})
    for key in drop:
        manifest.pop(key, None)
        manifest["artifacts"].pop(key, None)
    frames = dict(frames or {})
    arrays = dict(arrays or {})

    def write(tmp: Path) -> None:
        save_files(tmp, arrays=arrays, frames=frames)
        for rel in manifest["artifacts"]:
            if not (tmp / rel).exists():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, tmp / rel)
        for stem in frames:
            manifest["artifacts"].setdefault(f"{stem}.parquet", {})
        for stem in arrays:
            manifest["artifacts"].setdefault(f"{stem}.npy", {})
        for rel, info in manifest["artifacts"].items():
            info["sha256"] = sha256_file(tmp / rel)
            info["bytes"] = (tmp / rel).stat().st_size
            stem = rel.rsplit(".", 1)[0]
            if stem in frames:
                info["rows"] = int(len(frames[stem]))
        write_json(tmp / "manifest.json", manifest)

    return store.publish_run(name, write)


def updated_runs(
    store: Store, first: str, grown: str, cfg: Config, updated: str, refitted: str
) -> None:
    """Run ``updated``: ``first`` built, then ``grown`` (``first`` plus new documents) added
    by ``topictrends update`` (step 1). Run ``refitted``: the same, then re-fitted with
    ``topictrends build --refit`` (step 2: splits, merges, gone topics)."""
    build(first, cfg, store, name=refitted)
    update(refitted, grown, store)
    republish(store, updated, source=store.run_path(refitted), manifest_patch={"run": updated})
    build(grown, cfg, store, name=refitted, refit=True)
