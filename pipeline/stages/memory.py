"""Memory estimates: stop before a stage that would not fit, never the kernel's OOM killer.

Before each heavy stage computes (a cache hit needs nothing), ``check`` estimates the
memory the stage adds from the corpus size (documents, embedding dimensions, fit sample,
text length, which sets the vocabulary) and compares what the process holds now plus
that estimate with the budget: ``[scale] max_memory`` when set, else 90% of what the
machine (or its cgroup) has available at that moment on top of what the build holds. A
stage over budget is one line (exit 2) naming the setting that lowers it. The figures
are first-order models fitted to measured peaks (docs/scale.md, "Memory"), meant to be a
little pessimistic: a false stop costs one rerun with a larger budget, an OOM kill costs
the build.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import UserError

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.stages.base import Context

DEFAULT_SHARE = 0.9  # of the available memory, when [scale] max_memory is not set
MB = 1 << 20
_UNITS = {"": 1, "b": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
_UNITS.update({f"{u}b": v for u, v in list(_UNITS.items()) if u not in ("", "b")})
_UNITS.update({"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40})
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """ "6GB", "512 MiB", "2.5g" or a number of bytes, as bytes; ValueError otherwise."""
    m = SIZE_RE.match(str(text))
    if not m or m[2].lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size: write e.g. '6GB', '512MB' or '2GiB'")
    return int(float(m[1]) * _UNITS[m[2].lower()])


def human(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{max(n, 0) / 1e6:.0f} MB"


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def available() -> int | None:
    """Bytes the machine can still give this process: MemAvailable, capped by a cgroup
    (v2) limit; None where neither can be read (then only [scale] max_memory is checked)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    limit, used = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        avail = min(avail if avail is not None else limit, max(limit - used, 0))
    return avail


def resident() -> int:
    """This process's resident memory now (0 where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass(frozen=True)
class Need:
    """A stage's estimated extra memory and the setting that lowers it."""

    bytes: int
    what: str  # "UMAP on 50,000 documents"
    lower: str  # "[scale] fit_sample"


def dims(cfg: Config) -> int:
    e = cfg.embed
    return {"hashing": e.dim, "static": e.static_dims}.get(e.backend, 384)


def _lower_dims(cfg: Config) -> str:
    return {"hashing": "[embed] dim", "static": "[embed] static_dims"}.get(
        cfg.embed.backend, "[embed] backend ('static' keeps fewer dimensions)"
    )


def _sizes(ctx: Context) -> tuple[int, int, float]:
    """Documents, fit size (the sample, or every document) and mean text length."""
    texts = ctx.inputs["texts"]
    n = len(texts)
    sample = ctx.inputs.get("sample")
    m = n if sample is None else len(sample)
    step = max(1, n // 2000)  # the mean length from a spread of 2,000 texts
    probe = texts[::step]
    return n, m, (sum(map(len, probe)) / len(probe) if probe else 0.0)


def _embed(ctx: Context) -> Need:
    n, _, chars = _sizes(ctx)
    d = dims(ctx.cfg)
    model = 600 * MB if ctx.cfg.embed.backend == "sentence-transformers" else 150 * MB
    # the vectors (and a copy while they are gathered), a batch's texts, the model
    need = n * (2 * 4 * d + 300) + 2048 * chars * 8 + model
    return Need(int(need), f"embedding {n:,} documents ({d} dimensions)", _lower_dims(ctx.cfg))


def _reduce(ctx: Context) -> Need:
    from pipeline.stages.reduce import n_neighbors_for

    _, m, chars = _sizes(ctx)
    k = n_neighbors_for(ctx.cfg.reduce, m)
    d = dims(ctx.cfg) + ctx.cfg.reduce.lexical_dims
    # input copies, the kNN heaps and graph (NN-descent), the word profile's sparse
    # matrix and SVD, numba's compiled code
    need = m * (3 * 4 * d + 160 * k + 3 * chars) + 400 * MB
    return Need(int(need), f"UMAP on {m:,} documents", "[scale] fit_sample")


def _cluster(ctx: Context) -> Need:
    n, m, _ = _sizes(ctx)
    # HDBSCAN's tree over the fit, and the similarities of the rest in blocks
    need = m * 600 + n * 4 * dims(ctx.cfg) + 200 * MB
    return Need(int(need), f"clustering {m:,} documents", "[scale] fit_sample")


def _terms(ctx: Context, what: str) -> Need:
    n, _, chars = _sizes(ctx)
    ngrams = ctx.cfg.represent.ngram_max
    # the document-term matrix (about one term per 5 characters per n-gram length, 12
    # bytes each, three copies while classes are summed) and the vocabulary
    need = n * chars / 5 * ngrams * 12 * 3 + n * chars * 2 + 200 * MB
    return Need(int(need), f"{what} over {n:,} documents", "[represent] ngram_max")


ESTIMATES: dict[str, Callable[[Context], Need]] = {
    "embed": _embed,
    "reduce": _reduce,
    "cluster": _cluster,
    "represent": lambda ctx: _terms(ctx, "topic keywords"),
    "describe": lambda ctx: _terms(ctx, "topic keywords"),
    "keywords_over_time": lambda ctx: _terms(ctx, "keywords per period"),
}


def budget(cfg: Config, held: int) -> tuple[int | None, str]:
    """The most the process may hold, and where that figure comes from."""
    if cfg.scale.max_memory is not None:
        return parse_size(cfg.scale.max_memory), "[scale] max_memory"
    avail = available()
    if avail is None:
        return None, ""
    share = f"{DEFAULT_SHARE:.0%} of the {human(avail)} available"
    return held + int(DEFAULT_SHARE * avail), share


def file_need(path: Path) -> Need:
    """Reading a corpus file: its decoded size (a Parquet file's uncompressed row groups)
    about three times over, as Arrow buffers, Python strings and the documents table."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            parquet = fh.read(4) == b"PAR1"
        if parquet:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception:  # noqa: BLE001 - the reader reports a bad file in its own words
        size = 0
    how = "build from part of the file and add the rest with `topictrends update`"
    return Need(int(size * 3), f"reading {human(size)} of documents", how)


def check_file(path: Path, cfg: Config) -> None:
    """Stop with one line (exit 2) if reading ``path`` would take the process over budget."""
    _stop("ingest", file_need(path), cfg)


def _stop(stage: str, need: Need, cfg: Config) -> None:
    held = resident()
    limit, source = budget(cfg, held)
    if limit is None or held + need.bytes <= limit:
        return
    lower = need.lower if need.lower.startswith("build") else f"Lower {need.lower}"
    raise UserError(
        f"memory: the {stage} stage ({need.what}) needs about {human(need.bytes)} on top of "
        f"the {human(held)} this build holds, over the {human(limit)} allowed ({source}). "
        f"{lower[0].upper()}{lower[1:]}, or run it where [scale] max_memory can be higher."
    )


def check(stage: str, ctx: Context) -> None:
    """Stop with one line (exit 2) if ``stage`` would take the process over budget."""
    estimate = ESTIMATES.get(stage)
    if estimate is None:
        return
    _stop(stage, estimate(ctx), ctx.cfg)
