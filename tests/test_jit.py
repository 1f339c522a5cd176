"""The numba cache (pipeline.stages.jit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.stages import jit


def test_cache_dir_follows_numba_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "nb"))
    assert jit.cache_dir() == tmp_path / "nb"
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert jit.cache_dir().name == f"numba-{jit.CACHE_VERSION}"


def test_enabling_defaults_cache_and_nogil_once(tmp_path: Path) -> None:
    """In a fresh process (numba's decorators are patched process-wide)."""
    code = (
        "from pipeline.stages import jit; jit.enable_numba_cache(); jit.enable_numba_cache();"
        "import numba;"
        "inner = numba.njit.__wrapped__;"
        "print(hasattr(inner, '__wrapped__'), numba.jit.__wrapped__ is not None)"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=repo, check=True
    ).stdout.split()
    assert out == ["False", "True"]  # wrapped once, however often it is called
