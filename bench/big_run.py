"""A large run for the dashboard's scale checks, synthesised from a built one by tiling.

    .venv/bin/python bench/big_run.py --from-cache /tmp/c --run arxiv-sample --docs 1000000 --out /tmp/big

Building a 1M-document run under a shared 2-core load takes too long for a dashboard
benchmark, and the dashboard only reads artifacts: this copies a built run and repeats its
documents (ids made unique, map coordinates jittered) and their embeddings (with a little
noise, so a search has one best match) up to ``--docs`` rows, then rewrites the manifest's
row counts and checksums. Topics, trends and hierarchy are the source run's. The result is
a normal run under ``OUT/runs/NAME`` (``topictrends serve --cache-dir OUT``).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.store.cache import sha256_file

ROW_GROUP = 65_536


def tile_documents(src: Path, dst: Path, n: int, rng: np.random.Generator) -> None:
    """``src`` documents repeated to ``n`` rows, written in row groups of ``ROW_GROUP``."""
    table = pq.read_table(src)
    base = table.num_rows
    schema = table.schema
    with pq.ParquetWriter(dst, schema) as writer:
        start = 0
        while start < n:
            size = min(ROW_GROUP, n - start)
            idx = (np.arange(start, start + size) % base).astype(np.int64)
            chunk = table.take(pa.array(idx))
            copy = np.arange(start, start + size) // base
            cols = {}
            for name in schema.names:
                col = chunk.column(name)
                if name == "doc_id":
                    ids = [
                        f"{d}#{c}" if c else d for d, c in zip(col.to_pylist(), copy, strict=True)
                    ]
                    col = pa.array(ids, type=schema.field(name).type)
                elif name in ("x", "y"):
                    jitter = rng.normal(0, 0.05, size).astype(np.float32)
                    col = pa.array(
                        col.to_numpy(zero_copy_only=False) + jitter, type=schema.field(name).type
                    )
                cols[name] = col
            writer.write_table(pa.table(cols, schema=schema), row_group_size=ROW_GROUP)
            start += size


def tile_embeddings(src: Path, dst: Path, n: int, rng: np.random.Generator) -> None:
    emb = np.load(src, allow_pickle=False)
    out = np.lib.format.open_memmap(dst, mode="w+", dtype=emb.dtype, shape=(n, emb.shape[1]))
    for start in range(0, n, ROW_GROUP):
        stop = min(n, start + ROW_GROUP)
        block = emb[np.arange(start, stop) % len(emb)].astype(np.float32)
        block += rng.normal(0, 0.01, block.shape).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True) + 1e-12
        out[start:stop] = block.astype(emb.dtype)
    out.flush()
    del out


def tile_run(src: Path, out: Path, docs: int, name: str) -> Path:
    """The run at ``src`` (a run directory) tiled to ``docs`` documents as ``out/runs/name``."""
    src = src.resolve()
    dst = out / "runs" / name
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("documents.parquet", "embeddings.npy"))
    rng = np.random.default_rng(0)
    tile_documents(src / "documents.parquet", dst / "documents.parquet", docs, rng)
    tile_embeddings(src / "embeddings.npy", dst / "embeddings.npy", docs, rng)
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    for file in ("documents.parquet", "embeddings.npy"):
        info = manifest["artifacts"][file]
        info["bytes"] = (dst / file).stat().st_size
        info["sha256"] = sha256_file(dst / file)
    manifest["artifacts"]["documents.parquet"]["rows"] = docs
    counts = manifest.setdefault("counts", {})
    counts["documents"] = counts["dated_documents"] = docs
    manifest["run"] = name
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from-cache", required=True, type=Path)
    ap.add_argument("--run", required=True)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--name", default=None, help="run name (default: RUN-<docs>)")
    args = ap.parse_args()
    name = args.name or f"{args.run}-{args.docs}"
    dst = tile_run(args.from_cache / "runs" / args.run, args.out, args.docs, name)
    print(f"{dst}: {args.docs:,} documents")


if __name__ == "__main__":
    main()
