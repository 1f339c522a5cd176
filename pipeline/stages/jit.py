"""Make numba's JIT compilation a one-time cost per installation, not per build.

UMAP, pynndescent and HDBSCAN compile dozens of numba functions on first use in every
new process (about a minute on a 2-core machine, even for 265 documents), and most of
them are declared without ``cache=True``, so ``NUMBA_CACHE_DIR`` alone does not help.
Defaulting ``cache=True`` in numba's decorators *before* those libraries are imported
makes numba write the compiled code to disk and load it in later processes: measured
here, the first UMAP fit of a fresh process drops from ~50 s to ~0.5 s once warm.
``topictrends warmup`` (run by ``make setup``; ``pipeline.cli.compile_numba``) fills the
cache at install time.

``njit`` functions also default to ``nogil=True``, so UMAP's layout optimisation (a
numba loop over epochs, most of a fit's time) runs without Python's lock and several fits
share the cores from threads (``pipeline.stages.reduce``). Numba's cache ignores decorator flags,
so the cache directory carries a version: code compiled with the lock held is not reused.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

_ENABLED = False


CACHE_VERSION = "2"  # bump when the decorator defaults below change


def cache_dir() -> Path:
    return Path(
        os.environ.get("NUMBA_CACHE_DIR")
        or Path.home() / ".cache" / "topictrends" / f"numba-{CACHE_VERSION}"
    )


_LOCK = threading.Lock()


def enable_numba_cache() -> None:
    """Idempotent and thread-safe; call before importing umap, pynndescent, hdbscan or bertopic."""
    with _LOCK:
        _enable_numba_cache()


def _enable_numba_cache() -> None:
    global _ENABLED
    if _ENABLED:
        return
    _ENABLED = True
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # read-only home: numba falls back to compiling in memory
    os.environ["NUMBA_CACHE_DIR"] = str(directory)
    if any(m in sys.modules for m in ("umap", "pynndescent")):
        return  # too late for this process; it still works, just compiles
    import numba
    from numba.core import decorators

    def _with_cache(decorator, **defaults):  # noqa: ANN001, ANN003, ANN202
        def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            kwargs.setdefault("cache", True)
            for key, value in defaults.items():
                kwargs.setdefault(key, value)
            return decorator(*args, **kwargs)

        wrapped.__wrapped__ = decorator  # type: ignore[attr-defined]
        return wrapped

    decorators.jit = _with_cache(decorators.jit)
    decorators.njit = _with_cache(decorators.njit, nogil=True)
    numba.jit = decorators.jit
    numba.njit = decorators.njit
