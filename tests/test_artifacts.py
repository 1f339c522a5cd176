"""Reading runs (pipeline.store.artifacts): the manifest, checksums and columns are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.errors import CacheError
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store


def test_reader_refuses_wrong_schema_and_corruption(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    run_dir = build(str(planted_csv), fast_config, Store(tmp_path / "cache")).run_dir.resolve()
    # Builds are read-only snapshots once published; copy one to tamper with it.
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    (bad / "topics.parquet").write_bytes((bad / "topics.parquet").read_bytes()[:100])
    with pytest.raises(
        CacheError,
        match=r"topics.parquet: checksum mismatch.*topictrends build .* --name planted --force",
    ):
        open_run(bad).read_table("topics.parquet")
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["schema_version"] = 999
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        CacheError, match=r"manifest.json: schema version 999.*Rebuild it with: topictrends build"
    ):
        open_run(bad)
