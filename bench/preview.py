"""Preview then refine (``topictrends build --preview``, issue 16) on the arXiv sample.

    python bench/preview.py                               # the 4,079 arXiv papers
    python bench/preview.py --corpus FILE --static-model DIR

One cold ``build_with_preview`` in a fresh cache root (nothing embedded yet), with the
configured backend sentence-transformers: the time until the static preview is published
(what a user waits for a first view), the time until the refined build is published, the
topics of each, the share of refined topics that kept a preview id, and the adjusted Rand
index between the two builds' topic assignments (outliers as a cluster of their own). For
comparison it also counts the ids a keyword-only match would have kept (the rule before
document overlap stood in for the centroid cosine across embedding spaces).

The distilled static model is copied in when ``--static-model`` names one (an install-time
cost, timed apart in BENCHMARKS.md); else it is distilled here and that time is part of
the preview's. ``--embeddings DIR`` copies a transformer embedding-shard directory
(``.store/embeddings/<key>``) in, so the refine reads the vectors instead of computing them:
for a machine too busy to embed 4,079 abstracts in the time there is; the figures that do
not depend on time (topics, ids kept, ARI) are the same, and the refine's time then leaves
out the embed. The load average at the start and the end is recorded: this machine is
shared. Results: ``bench/results/preview-<corpus>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARXIV = REPO.parent / "shared" / "corpora" / "arxiv_topic_labelled.parquet"


def keyword_only_kept(preview: Path, refined: Path) -> int:
    """Ids a keyword-only match would keep: the refined topics (published ids) against the
    preview's, keyword Jaccard alone, the same threshold."""
    import pandas as pd

    from pipeline.config import UpdateConfig
    from pipeline.flows.lineage import keyword_similarity, match_topics

    a = pd.read_parquet(preview / "topics.parquet")
    b = pd.read_parquet(refined / "topics.parquet")
    sim = keyword_similarity([list(k) for k in a["keywords"]], [list(k) for k in b["keywords"]])
    return len(match_topics(sim, UpdateConfig().match_threshold))


def measure(corpus: Path, static_model: Path | None, embeddings: Path | None = None) -> dict:
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    from pipeline.config import Config
    from pipeline.flows.preview import build_with_preview
    from pipeline.store.cache import Store

    root = Path(tempfile.mkdtemp(prefix="preview-bench-")) / "cache"
    if static_model is not None:
        shutil.copytree(static_model, root / ".store" / "models" / static_model.name)
    if embeddings is not None:  # the transformer's vectors, so the refine skips its embed
        shutil.copytree(embeddings, root / ".store" / "embeddings" / embeddings.name)
    store = Store(root)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    marks: dict[str, float] = {}

    built: list[Path] = []

    def ready(first) -> None:  # noqa: ANN001
        marks["preview"] = time.perf_counter() - t0
        built.append(first.run_dir.resolve())  # the run's link moves on to the refined build

    done = build_with_preview(str(corpus), Config(), store, "arxiv", on_preview=ready)
    total = time.perf_counter() - t0
    preview_dir, refined_dir = built[0], done.result.run_dir.resolve()
    assert preview_dir != refined_dir
    cols = ["doc_id", "topic"]
    a = pd.read_parquet(preview_dir / "documents.parquet", columns=cols).set_index("doc_id")
    b = pd.read_parquet(refined_dir / "documents.parquet", columns=cols).set_index("doc_id")
    joined = a.join(b, lsuffix="_preview", rsuffix="_refined", how="inner")
    u = done.result.manifest["update"]
    refined_topics = done.result.manifest["counts"]["topics"]
    out = {
        "corpus": str(corpus),
        "documents": done.result.manifest["counts"]["documents"],
        "static_model_copied": static_model is not None,
        "transformer_embeddings_copied": embeddings is not None,
        "seconds_to_preview": round(marks["preview"], 1),
        "seconds_to_refined": round(total, 1),
        "seconds_refine": round(total - marks["preview"], 1),
        "preview_timings": {k: v.get("seconds") for k, v in done.preview.timings.items()},
        "refined_timings": {k: v.get("seconds") for k, v in done.result.timings.items()},
        "topics_preview": done.preview.manifest["counts"]["topics"],
        "topics_refined": refined_topics,
        "ids_kept": u["ids_kept"],
        "share_refined_topics_kept_preview_id": round(u["ids_kept"] / refined_topics, 3),
        "ids_kept_keyword_only": keyword_only_kept(preview_dir, refined_dir),
        "ari_preview_vs_refined": round(
            adjusted_rand_score(joined["topic_preview"], joined["topic_refined"]), 3
        ),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    shutil.rmtree(root.parent, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ARXIV)
    ap.add_argument("--static-model", type=Path, default=None)
    ap.add_argument("--embeddings", type=Path, default=None)
    args = ap.parse_args()
    result = measure(args.corpus, args.static_model, args.embeddings)
    path = REPO / "bench" / "results" / f"preview-{args.corpus.stem}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
