"""What the speed benchmark's parts share: paths, the result mark, sampling, the machine.

``bench/speed.py`` runs the cases, ``bench/speed_workers.py`` is the code each case's
process runs, ``bench/speed_quality.py`` the embedding comparison (``--quality``).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ARXIV = REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"
SOTU = REPO.parent / "shared" / "corpora" / "sotu_paragraphs.parquet"
RESULT_MARK = "BENCH-RESULT "
RUN_NAME = "bench"


def _sample(df, n: int | None, seed: int = 0):  # noqa: ANN001, ANN202 - pandas
    return df if n is None or n >= len(df) else df.sample(n=n, random_state=seed).sort_index()


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def machine() -> dict[str, Any]:
    import importlib.metadata as md

    from pipeline.stages.embed import available_cpus

    cpu = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for lib in (
        "torch",
        "transformers",
        "sentence-transformers",
        "bertopic",
        "umap-learn",
        "hdbscan",
        "model2vec",
        "numba",
    ):
        try:
            versions[lib] = md.version(lib)
        except md.PackageNotFoundError:
            versions[lib] = None
    return {
        "cpu": cpu, "cpus_available": available_cpus(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_at_start": os.getloadavg(), "python": platform.python_version(), "versions": versions,
    }  # fmt: skip
