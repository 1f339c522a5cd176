"""Speed benchmark: topictrends against a plain BERTopic script, on one machine.

    .venv/bin/python bench/speed.py --quick   # smoke run: small samples, a few minutes
    .venv/bin/python bench/speed.py           # the full run: hours on a 2-core CPU
    .venv/bin/python bench/speed.py --quality 1000   # embedding speed/quality per backend

Corpora: the arXiv sample (pipeline/corpora/arxiv-sample.parquet, 4,079 abstracts), the
State of the Union paragraphs (../shared/corpora/sotu_paragraphs.parquet, 22,927) and a
synthetic 100,000-document corpus cut from the SOTU paragraphs (runs of 2-4 consecutive
sentences of one address, each run once, dated like the address). The transformer embeds
about 13 abstracts/s on a 2-core CPU, so the 100k corpus is measured with the static
backend only, and the plain BERTopic script gets the same static embeddings there.

Cases per corpus, each in its own subprocess (peak memory = that process's ru_maxrss) and
its own cache directory:

    cold      empty cache (the static backend's distilled model, an install-time cost,
              is copied in; its distillation is timed once, as its own row)
    warm      a copy of the cold case's cache, nothing changed: the run is up to date
    knob      a copy of the cold case's cache, [cluster] selection_method = "eom"
    add1pct   a copy of the cold case's cache, 1% new documents (held out of the others)
    static    empty cache, [embed] backend = "static"
    cold-jit  the static case with NUMBA_CACHE_DIR pointing at an empty directory (once,
              on the first corpus): what a first run costs before the JIT cache is warm
    plain     SentenceTransformer.encode, then BERTopic(embedding_model=model).fit_transform,
              same model (for the 100k corpus: the same distilled static model)

The cold/warm/knob/static/plain cases see the corpus minus the held-out 1%; add1pct sees
all of it. Where a corpus has labels worth scoring against (the arXiv topic folders), each
case reports NMI between topics and labels (single-label papers, outliers included as one
cluster); for each corpus the 10-nearest-neighbour overlap between the static and the
transformer embeddings is reported too. Results are printed as markdown tables and written,
after every case, to a JSON file (default bench/results/speed-<quick|full>.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ARXIV = REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"
SOTU = REPO.parent / "shared" / "corpora" / "sotu_paragraphs.parquet"
RESULT_MARK = "BENCH-RESULT "
RUN_NAME = "bench"

SIZES = {
    "full": {"arxiv": None, "sotu": None, "synthetic": 100_000},
    "quick": {"arxiv": 200, "sotu": 200, "synthetic": 3_000},
}
CASE_TITLES = {
    "warmup": "numba JIT cache warm-up (per installation)",
    "distill": "distil the static model (once per cache root)",
    "cold": "cold build",
    "warm": "warm rebuild, nothing changed",
    "knob": "clustering knob changed",
    "add1pct": "+1% new documents, full rebuild (build)",
    "update1pct": "+1% new documents, incremental (update)",
    "static": "static backend, cold",
    "cold-jit": "static backend, cold, cold numba JIT",
    "plain": "plain BERTopic script",
}
KNOB = {"cluster": {"selection_method": "eom"}}


# ================================================================== corpora
def _sample(df, n: int | None, seed: int = 0):  # noqa: ANN001, ANN202 - pandas
    return df if n is None or n >= len(df) else df.sample(n=n, random_state=seed).sort_index()


def synthetic_corpus(sotu, n: int, seed: int = 0):  # noqa: ANN001, ANN201 - pandas
    """``n`` distinct texts: runs of 2-4 consecutive sentences of one SOTU address."""
    import numpy as np
    import pandas as pd

    speeches = []
    for speech_id, group in sotu.groupby("speech_id", sort=True):
        sentences = [
            s for text in group["text"] for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20
        ]
        if len(sentences) >= 4:
            first = group.iloc[0]
            speeches.append(
                (speech_id, sentences, first["date"], first["label"], first["president"])
            )
    rng = np.random.default_rng(seed)
    weights = np.array([len(s[1]) for s in speeches], dtype=float)
    weights /= weights.sum()
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        for si in rng.choice(len(speeches), size=min(4 * (n - len(rows)), 1_000_000), p=weights):
            speech_id, sentences, date, label, president = speeches[si]
            length = int(rng.integers(2, 5))
            start = int(rng.integers(0, len(sentences) - length + 1))
            text = " ".join(sentences[start : start + length])
            if text in seen:  # ingest would drop a duplicate
                continue
            seen.add(text)
            rows.append(
                {
                    "id": f"syn-{len(rows):06d}",
                    "title": "",
                    "text": text,
                    "date": date,
                    "label": label,
                    "president": president,
                }
            )
            if len(rows) == n:
                break
    return pd.DataFrame(rows)


def prepare_corpora(work: Path, mode: str, only: list[str]) -> list[dict[str, Any]]:
    """Write <name>-base.parquet (99%) and <name>-full.parquet (100%) for each corpus."""
    import pandas as pd

    out = []
    sizes = SIZES[mode]
    sources = {"arxiv": ARXIV, "sotu": SOTU, "synthetic": SOTU}
    for name in only:
        src = sources[name]
        if not src.exists():
            print(f"skipping {name}: {src} not found", file=sys.stderr)
            continue
        df = pd.read_parquet(src)
        df = synthetic_corpus(df, sizes[name]) if name == "synthetic" else _sample(df, sizes[name])
        df = df.reset_index(drop=True)
        held = df.sample(n=max(1, round(len(df) * 0.01)), random_state=1).index
        base = df.drop(index=held)
        d = work / "corpora"
        d.mkdir(parents=True, exist_ok=True)
        base.to_parquet(d / f"{name}-base.parquet", index=False)
        df.to_parquet(d / f"{name}-full.parquet", index=False)
        labels = None
        if name == "arxiv":
            labels = {"col": "label", "where": "n_labels == 1"}
        out.append(
            {
                "name": name,
                "backend": "static" if name == "synthetic" else "sentence-transformers",
                "base": str(d / f"{name}-base.parquet"),
                "full": str(d / f"{name}-full.parquet"),
                "docs_base": len(base),
                "docs_full": len(df),
                "labels": labels,
            }
        )
    return out


# ================================================================== worker side
def _peak_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)  # Linux reports KiB


def _nmi(
    topic_by_id: dict[str, int], input_path: str, labels: dict[str, str] | None
) -> float | None:
    if not labels:
        return None
    import pandas as pd
    from sklearn.metrics import normalized_mutual_info_score

    df = pd.read_parquet(input_path)
    if labels.get("where"):
        df = df.query(labels["where"])
    df = df[df["id"].astype(str).isin(topic_by_id)]
    if df.empty:
        return None
    topics = [topic_by_id[str(i)] for i in df["id"]]
    return round(float(normalized_mutual_info_score(df[labels["col"]].astype(str), topics)), 4)


def worker_warmup(spec: dict[str, Any]) -> dict[str, Any]:
    from pipeline.cli import compile_numba as warmup
    from pipeline.stages.jit import cache_dir

    seconds = warmup()
    return {
        "wall_s": round(seconds, 3),
        "stages": {"warmup": round(seconds, 3)},
        "numba_cache": str(cache_dir()),
    }


def worker_distill(spec: dict[str, Any]) -> dict[str, Any]:
    from pipeline.config import EmbedConfig
    from pipeline.stages.embed import get_embedder

    t0 = time.perf_counter()
    e = get_embedder(EmbedConfig(backend="static"), cache_root=Path(spec["cache"]))
    e.model()
    seconds = time.perf_counter() - t0
    return {
        "wall_s": round(seconds, 3),
        "stages": {"distill": round(seconds, 3)},
        "distilled": e.distilled,
        "model_dir": str(e.path),
    }


def _summary(result: Any, wall: float, spec: dict[str, Any]) -> dict[str, Any]:
    """What every build-like case reports: timings, counts and NMI of the published run."""
    import pandas as pd

    m = result.manifest
    docs = pd.read_parquet(result.run_dir / "documents.parquet", columns=["doc_id", "topic"])
    topic_by_id = dict(zip(docs["doc_id"].astype(str), docs["topic"].astype(int), strict=True))
    return {
        "wall_s": round(wall, 3),
        "stages": {k: v.get("seconds") for k, v in result.timings.items()},
        "cached": {k: bool(v.get("cached")) for k, v in result.timings.items()},
        "up_to_date": bool(result.up_to_date),
        "docs": int(m["counts"]["documents"]),
        "topics": int(m["counts"]["topics"]),
        "outlier_share": m["counts"]["outlier_share"],
        "truncated_documents": m["embedding"].get("truncated_documents"),
        "new_documents": (m.get("update") or {}).get("new_documents"),
        "nmi": _nmi(topic_by_id, spec["input"], spec.get("labels")),
        "run_dir": str(result.run_dir.resolve()),
    }


def worker_build(spec: dict[str, Any]) -> dict[str, Any]:
    from pipeline.config import Config
    from pipeline.flows import build
    from pipeline.store.cache import Store

    cfg = Config().with_overrides(spec.get("overrides", {}))
    t0 = time.perf_counter()
    result = build(spec["input"], cfg, Store(Path(spec["cache"])), name=RUN_NAME)
    return _summary(result, time.perf_counter() - t0, spec)


def worker_plain(spec: dict[str, Any]) -> dict[str, Any]:
    """What a plain BERTopic user would run: encode with the model, then fit_transform."""
    from pipeline.config import IngestConfig
    from pipeline.stages.ingest import ingest

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    corpus = ingest(Path(spec["input"]), RUN_NAME, IngestConfig())
    texts, ids = corpus.texts, corpus.docs["doc_id"].astype(str).tolist()
    stages["ingest"] = time.perf_counter() - t0
    t = time.perf_counter()
    if spec["embedder"] == "static":
        from model2vec import StaticModel

        model = StaticModel.from_pretrained(spec["static_dir"])
        stages["load"] = time.perf_counter() - t
        t = time.perf_counter()
        emb = model.encode(texts, max_length=None)  # exactly the vectors topictrends uses
    else:
        from sentence_transformers import SentenceTransformer

        from pipeline.stages.embed import model_path

        model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
        stages["load"] = time.perf_counter() - t
        t = time.perf_counter()
        emb = model.encode(texts, batch_size=32, show_progress_bar=False)
    stages["embed"] = time.perf_counter() - t
    t = time.perf_counter()
    from bertopic import BERTopic

    topics, _ = BERTopic(embedding_model=model).fit_transform(texts, emb)
    stages["fit"] = time.perf_counter() - t
    wall = time.perf_counter() - t0
    topics = [int(x) for x in topics]
    return {
        "wall_s": round(wall, 3),
        "stages": {k: round(v, 3) for k, v in stages.items()},
        "docs": len(texts),
        "topics": len(set(topics) - {-1}),
        "outlier_share": round(topics.count(-1) / max(1, len(topics)), 4),
        "nmi": _nmi(dict(zip(ids, topics, strict=True)), spec["input"], spec.get("labels")),
    }


def worker_update(spec: dict[str, Any]) -> dict[str, Any]:
    """``topictrends update``: new documents folded into the cold case's run, no refit."""
    from pipeline.flows import update
    from pipeline.store.cache import Store

    t0 = time.perf_counter()
    result = update(RUN_NAME, spec["input"], Store(Path(spec["cache"])))
    return _summary(result, time.perf_counter() - t0, spec)


WORKERS = {
    "update": worker_update,
    "warmup": worker_warmup,
    "distill": worker_distill,
    "build": worker_build,
    "plain": worker_plain,
}


def worker_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    result = WORKERS[spec["kind"]](spec)
    result["peak_mib"] = _peak_mib()
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


# ================================================================== embedding quality
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

    def knn(x: np.ndarray) -> np.ndarray:
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        return np.argpartition(-sim, 10, axis=1)[:, :10]

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
    print("\n".join(lines))
    return report


# ================================================================== parent side
def worker_env(numba_cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TQDM_DISABLE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    return env


def run_worker(spec: dict[str, Any], log: Path, numba_cache: Path | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("a") as err:
        err.write(f"\n===== {json.dumps(spec)}\n")
        err.flush()
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=worker_env(numba_cache),
            cwd=str(REPO),
            check=False,
        )
    process_s = round(time.perf_counter() - t0, 3)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds (user + system) of the whole worker process, imports included: on a
    # machine shared with other work, wall time swings with the load and this does not.
    cpu_s = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        return {"error": f"exit {proc.returncode}", "log_tail": tail, "process_s": process_s}
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    result["process_s"] = process_s
    result["cpu_s"] = cpu_s
    return result


def seed_static_model(seed_cache: Path, cache: Path) -> None:
    src = seed_cache / ".store" / "models"
    if src.exists():
        shutil.copytree(src, cache / ".store" / "models", dirs_exist_ok=True)


def knn_overlap(run_a: str, run_b: str, k: int = 10, queries: int = 2000) -> float:
    """Mean share of a document's k nearest neighbours that two embedding spaces agree on."""
    import numpy as np

    a = np.load(Path(run_a) / "embeddings.npy").astype(np.float32)
    b = np.load(Path(run_b) / "embeddings.npy").astype(np.float32)
    rng = np.random.default_rng(0)
    q = rng.choice(len(a), size=min(queries, len(a)), replace=False)
    overlap = []
    for start in range(0, len(q), 256):
        idx = q[start : start + 256]
        nn = []
        for x in (a, b):
            sim = x[idx] @ x.T
            sim[np.arange(len(idx)), idx] = -np.inf
            nn.append(np.argpartition(-sim, k, axis=1)[:, :k])
        overlap += [len(set(r1) & set(r2)) / k for r1, r2 in zip(nn[0], nn[1], strict=True)]
    return round(float(np.mean(overlap)), 4)


def plan(corpus: dict[str, Any], first: bool) -> list[dict[str, Any]]:
    """The cases for one corpus, in order: (case, worker spec, cache seeding)."""
    backend = corpus["backend"]
    labels = corpus["labels"]
    build = {"kind": "build", "input": corpus["base"], "labels": labels}
    own = {"embed": {"backend": backend}}
    cases = [
        {"case": "cold", "spec": {**build, "overrides": own}, "from": None},
        {"case": "warm", "spec": {**build, "overrides": own}, "from": "cold"},
        {"case": "knob", "spec": {**build, "overrides": {**own, **KNOB}}, "from": "cold"},
        {
            "case": "add1pct",
            "spec": {**build, "input": corpus["full"], "overrides": own},
            "from": "cold",
        },
        {
            "case": "update1pct",
            "spec": {"kind": "update", "input": corpus["full"], "labels": labels},
            "from": "cold",
        },
    ]
    if backend != "static":
        cases.append(
            {
                "case": "static",
                "spec": {**build, "overrides": {"embed": {"backend": "static"}}},
                "from": None,
            }
        )
    if first:
        cases.append(
            {
                "case": "cold-jit",
                "spec": {**build, "overrides": {"embed": {"backend": "static"}}},
                "from": None,
                "cold_jit": True,
            }
        )
    plain = {
        "kind": "plain",
        "input": corpus["base"],
        "labels": labels,
        "embedder": "static" if backend == "static" else "transformer",
    }
    cases.append({"case": "plain", "spec": plain, "from": None})
    return cases


def fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


COLUMNS = ("embed", "reduce", "cluster", "represent", "fit")


def markdown(results: list[dict[str, Any]], extras: list[dict[str, Any]]) -> str:
    """Results as markdown: one row per case, stage seconds in columns (represent includes
    hierarchy; ``fit`` is the plain script's BERTopic.fit_transform: reduce + cluster +
    represent in one; ``other`` is everything else: ingest, over time, trends, publish,
    model loading in the plain script)."""
    head = (
        "| corpus | case | backend | docs | wall s | docs/s | process s | CPU s | peak MiB | embed s | "
        "reduce s | cluster s | represent s | BERTopic fit s | other s | topics | outliers | NMI |"
    )
    ncols = head.count("|") - 1
    lines = [head, "|" + "---|" * ncols]
    for r in results:
        title = CASE_TITLES.get(r["case"], r["case"]) + (
            " (up to date)" if r.get("up_to_date") else ""
        )
        if "error" in r:
            cells = [r["corpus"], title, r.get("backend", ""), "", f"failed: {r['error']}"]
            lines.append("| " + " | ".join(cells + [""] * (ncols - len(cells))) + " |")
            continue
        st = dict(r.get("stages") or {})
        st["represent"] = (
            (st.pop("represent", None) or 0) + (st.pop("hierarchy", None) or 0)
            if "represent" in st
            else None
        )
        other = sum(v or 0 for k, v in st.items() if k not in COLUMNS)
        docs, wall = r.get("docs"), r.get("wall_s")
        cells = [
            r["corpus"], title, r.get("backend", ""), fmt(docs), fmt(wall), fmt(docs / wall if docs and wall else None),
            fmt(r.get("process_s")), fmt(r.get("cpu_s")), fmt(r.get("peak_mib"), 0), *(fmt(st.get(c)) for c in COLUMNS),
            fmt(other) if other else "", fmt(r.get("topics")), fmt(r.get("outlier_share"), 3), fmt(r.get("nmi"), 3),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if extras:
        lines += ["", "| corpus | static vs transformer: 10-NN overlap |", "|---|---|"]
        lines += [f"| {e['corpus']} | {fmt(e['knn10_overlap'], 3)} |" for e in extras]
    return "\n".join(lines)


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small samples (200 / 200 / 3,000 documents): a smoke run of every case",
    )
    ap.add_argument(
        "--corpora",
        default="arxiv,sotu,synthetic",
        help="comma-separated subset of arxiv,sotu,synthetic",
    )
    ap.add_argument(
        "--out", type=Path, help="JSON results file (default bench/results/speed-<quick|full>.json)"
    )
    ap.add_argument(
        "--work",
        type=Path,
        help="working directory for corpora and caches (default: a temporary one)",
    )
    ap.add_argument(
        "--cases",
        help="comma-separated subset of the cases to run (e.g. cold,warm,knob,plain); default all",
    )
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    ap.add_argument(
        "--quality",
        type=int,
        metavar="N",
        help="instead: embedding speed and quality of every backend on N arXiv abstracts",
    )
    ap.add_argument(
        "--table",
        type=Path,
        metavar="JSON",
        help="instead: print the markdown table of an earlier results file",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    if args.table:
        report = json.loads(args.table.read_text())
        print(markdown(report["results"], report.get("knn_agreement", [])))
        return 0
    if args.quality:
        work = args.work or Path(tempfile.mkdtemp(prefix="topictrends-quality-"))
        out = args.out or REPO / "bench" / "results" / "quality.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        quality(args.quality, work, out)
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0

    mode = "quick" if args.quick else "full"
    out = args.out or REPO / "bench" / "results" / f"speed-{mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="topictrends-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    print(f"work dir {work}; worker logs in {log}", file=sys.stderr)
    report: dict[str, Any] = {
        "mode": mode, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": machine(), "results": [], "knn_agreement": [],
    }  # fmt: skip

    def save() -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=2))
        os.replace(tmp, out)

    def record(corpus: str, case: str, backend: str, result: dict[str, Any]) -> dict[str, Any]:
        row = {"corpus": corpus, "case": case, "backend": backend, **result}
        report["results"].append(row)
        save()
        status = result.get("error") or f"{result.get('wall_s')} s"
        print(f"  {corpus:9s} {case:9s} {backend:21s} {status}", file=sys.stderr)
        return row

    corpora = prepare_corpora(work, mode, [c.strip() for c in args.corpora.split(",") if c.strip()])
    record("-", "warmup", "-", run_worker({"kind": "warmup"}, log))
    seed = work / "static-seed"
    record("-", "distill", "static", run_worker({"kind": "distill", "cache": str(seed)}, log))

    wanted = {c.strip() for c in args.cases.split(",")} if args.cases else None
    for i, corpus in enumerate(corpora):
        done: dict[str, dict[str, Any]] = {}
        for case in plan(corpus, first=i == 0):
            if wanted is not None and case["case"] not in wanted:
                continue
            spec = dict(case["spec"])
            backend = (spec.get("overrides") or {}).get("embed", {}).get("backend") or (
                "static" if spec.get("embedder") == "static" else "sentence-transformers"
            )
            if spec["kind"] == "update":  # the update keeps the run's own embedding backend
                backend = corpus["backend"]
            cache = work / "caches" / f"{corpus['name']}-{case['case']}"
            if case["from"]:
                parent = done.get(case["from"])
                if not parent or "error" in parent:
                    record(
                        corpus["name"],
                        case["case"],
                        backend,
                        {"error": f"skipped: {case['from']} failed"},
                    )
                    continue
                shutil.copytree(parent["cache"], cache, symlinks=True)
            else:
                cache.mkdir(parents=True, exist_ok=True)
            if backend == "static":
                seed_static_model(seed, cache)
                spec["static_dir"] = str(next((cache / ".store" / "models").glob("static-*"), ""))
            spec["cache"] = str(cache)
            numba = None
            if case.get("cold_jit"):
                numba = work / "numba-empty"
                shutil.rmtree(numba, ignore_errors=True)
                numba.mkdir()
            result = run_worker(spec, log, numba_cache=numba)
            done[case["case"]] = {**result, "cache": str(cache)}
            record(corpus["name"], case["case"], backend, result)
        a, b = done.get("cold"), done.get("static")
        if a and b and "run_dir" in a and "run_dir" in b:
            report["knn_agreement"].append(
                {"corpus": corpus["name"], "knn10_overlap": knn_overlap(a["run_dir"], b["run_dir"])}
            )
            save()
        if not args.keep:
            for d in (work / "caches").glob(f"{corpus['name']}-*"):
                shutil.rmtree(d, ignore_errors=True)

    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["loadavg_at_end"] = os.getloadavg()
    save()
    table = markdown(report["results"], report["knn_agreement"])
    print(table)
    print(f"\nresults: {out}", file=sys.stderr)
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any("error" in r for r in report["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
