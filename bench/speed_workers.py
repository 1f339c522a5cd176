"""The speed benchmark's worker side: one case per process (``bench/speed.py --worker``).

Each worker prints one ``RESULT_MARK`` line of JSON; its peak RSS is the process's own.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.speed_common import RESULT_MARK, RUN_NAME


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
