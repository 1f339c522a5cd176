"""Embedding speed and quality of every backend on arXiv abstracts (``bench/speed.py --quality N``)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.speed_common import ARXIV, _sample, fmt, machine


def knn(x: Any) -> Any:  # noqa: ANN401 - numpy
    """Each row's 10 nearest other rows by dot product (the vectors are normalised)."""
    import numpy as np

    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return np.argpartition(-sim, 10, axis=1)[:, :10]


def quality(n: int, work: Path, out: Path) -> dict[str, Any]:
    """Each backend on ``n`` single-label arXiv abstracts: speed, agreement, label structure.

    Speed here is the embedding alone (model loaded first). ``cpu docs/s`` divides by the
    process's CPU seconds per thread, which a busy shared machine disturbs far less than
    wall time. Agreement is with the fp32 transformer: cosine per document (same space
    only) and the share of each document's 10 nearest neighbours both agree on. Label
    structure: the share of a document's 10 nearest neighbours in its own arXiv folder,
    and NMI of k-means (k = number of folders) with the folders.
    """
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from pipeline.config import EmbedConfig, IngestConfig
    from pipeline.stages.embed import available_cpus, get_embedder
    from pipeline.stages.ingest import ingest

    df = _sample(pd.read_parquet(ARXIV).query("n_labels == 1"), n).reset_index(drop=True)
    work.mkdir(parents=True, exist_ok=True)
    df.to_parquet(work / "quality.parquet", index=False)
    corpus = ingest(work / "quality.parquet", "quality", IngestConfig())
    texts = corpus.texts
    labels = (
        df.set_index(df["id"].astype(str))
        .loc[corpus.docs["doc_id"].astype(str), "label"]
        .to_numpy()
    )
    k = len(set(labels))

    threads = available_cpus()
    configs = {
        "transformer fp32": EmbedConfig(),
        "transformer int8": EmbedConfig(precision="int8"),
        "static": EmbedConfig(backend="static"),
        "hashing": EmbedConfig(backend="hashing"),
    }
    rows, ref, ref_nn = [], None, None
    for name, cfg in configs.items():
        e = get_embedder(cfg, cache_root=work / "quality-cache")
        if hasattr(e, "model"):
            e.model()  # load (or distil) outside the timing
        t0, c0 = time.perf_counter(), time.process_time()
        vecs = e.encode(texts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        nn = knn(vecs)
        row = {
            "backend": name, "docs": len(texts), "dim": int(vecs.shape[1]),
            "docs_per_s": round(len(texts) / wall, 1), "cpu_docs_per_s": round(len(texts) / (cpu / threads), 1),
            "knn10_label_agreement": round(float((labels[nn] == labels[:, None]).mean()), 4),
            "kmeans_nmi": round(float(normalized_mutual_info_score(labels, KMeans(k, n_init=3, random_state=0).fit_predict(vecs))), 4),
        }  # fmt: skip
        if ref is None:
            ref, ref_nn = vecs, nn
        else:
            row["knn10_overlap_fp32"] = round(
                float(
                    np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nn, ref_nn, strict=True)])
                ),
                4,
            )
            if vecs.shape == ref.shape and name.startswith("transformer"):
                cos = (vecs * ref).sum(axis=1)
                row["cosine_fp32_min"], row["cosine_fp32_mean"] = (
                    round(float(cos.min()), 4),
                    round(float(cos.mean()), 4),
                )
        rows.append(row)
        print(f"  {name:17s} {row}", file=sys.stderr)
    report = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "labels": k,
        "rows": rows,
    }
    out.write_text(json.dumps(report, indent=2))
    print(quality_table(rows))
    return report


def quality_table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of ``quality``'s rows (docs/performance.md quotes it)."""
    head = "| backend | dim | docs/s | cpu docs/s | cosine to fp32 (min / mean) | 10-NN overlap with fp32 | 10-NN same folder | k-means NMI |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cos = (
            f"{r['cosine_fp32_min']:.4f} / {r['cosine_fp32_mean']:.4f}"
            if "cosine_fp32_min" in r
            else ""
        )
        lines.append(
            f"| {r['backend']} | {r['dim']} | {r['docs_per_s']:,.1f} | {r['cpu_docs_per_s']:,.1f} | {cos} | "
            f"{fmt(r.get('knn10_overlap_fp32'), 3)} | {r['knn10_label_agreement']:.3f} | {r['kmeans_nmi']:.3f} |"
        )
    return "\n".join(lines)
