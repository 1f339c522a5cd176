"""The cache root (pipeline.store.cache): where it is, atomic directories, no pickles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def test_cache_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.store.cache import cache_root

    monkeypatch.setenv("TOPICTRENDS_CACHE", str(tmp_path / "env-cache"))
    assert cache_root(None) == (tmp_path / "env-cache").resolve()
    assert cache_root(tmp_path / "flag") == (tmp_path / "flag").resolve()
    monkeypatch.delenv("TOPICTRENDS_CACHE")
    assert cache_root(None) == Path(os.getcwd(), "cache").resolve()
