"""Throughput of the per-document stages on Ray: 2 nodes of 1 CPU against 1 node of 1 CPU.

    python bench/ray_scale.py [--docs 20000] [--backend static] [--batch 2048]

Embeds ``--docs`` documents (the SOTU paragraphs and arXiv abstracts from ../shared, made
distinct and repeated up to that count), then assigns every one of them to 100 topic
centroids and places it on the map beside 5,000 "sampled" documents, as a build above
[scale] fit_sample does, three ways:

- the local engine (this process, every core it may use: the static backend's tokenizer
  runs on all of them);
- [engine] kind = "ray" on a cluster of 1 node with 1 CPU;
- the same on 2 nodes with 1 CPU each (both started here on loopback, tests/ray_cluster.py).

Each stage starts from an empty embedding cache, and every Ray figure includes starting
the stage's actors (each loads the model once). Results go to stdout as markdown.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")

from pipeline.config import Config  # noqa: E402
from pipeline.flows.run import Run  # noqa: E402
from pipeline.progress import SilentReporter  # noqa: E402
from pipeline.stages.assign import AssignBatch, PlaceBatch  # noqa: E402
from pipeline.stages.embed import encode  # noqa: E402
from pipeline.stages.executor import Executor, InProcessExecutor, gather  # noqa: E402
from pipeline.stages.sample import ASSIGN_BATCH  # noqa: E402
from pipeline.store.cache import Store  # noqa: E402
from tests import ray_cluster  # noqa: E402

SHARED = REPO.parent / "shared" / "corpora"


def texts(n: int) -> list[str]:
    """``n`` distinct public-domain texts: SOTU paragraphs and arXiv abstracts, repeated
    with a copy number when ``n`` is larger than both together."""
    base = pd.concat(
        [
            pd.read_parquet(SHARED / "sotu_paragraphs.parquet")["text"],
            pd.read_parquet(SHARED / "arxiv_topic_labelled.parquet")["text"],
        ]
    ).tolist()
    return [
        base[i % len(base)] + ("" if i < len(base) else f" ({i // len(base)})") for i in range(n)
    ]


def measure(executor: Executor, cfg: Config, docs: list[str], models: Path) -> dict[str, float]:
    """Seconds for embed, assign and place of every document through ``executor``."""
    with tempfile.TemporaryDirectory(dir=models.parent) as tmp:
        store = Store(Path(tmp))
        (Path(tmp) / ".store").mkdir()
        (Path(tmp) / ".store" / "models").symlink_to(models)  # the distilled model, shared
        ctx = Run(store, cfg, SilentReporter(), executor).context({"texts": docs})
        t0 = time.perf_counter()
        emb = encode(ctx, docs)
        t1 = time.perf_counter()
        rng = np.random.default_rng(0)
        ids = np.arange(100)
        cents = emb[rng.choice(len(emb), 100, replace=False)]
        gather(executor, AssignBatch(cents, ids, 0.3), emb, ASSIGN_BATCH)
        t2 = time.perf_counter()
        sample = rng.choice(len(emb), 5000, replace=False)
        xy = rng.standard_normal((5000, 2)).astype(np.float32)
        gather(executor, PlaceBatch(emb[sample], xy, 5), emb, ASSIGN_BATCH)
        t3 = time.perf_counter()
    return {"embed": t1 - t0, "assign": t2 - t1, "place": t3 - t2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--backend", default="static", choices=["static", "hashing"])
    ap.add_argument("--batch", type=int, default=2048, help="[engine] batch_size")
    ap.add_argument(
        "--models", type=Path, help="a cache's .store/models holding the distilled static model"
    )
    args = ap.parse_args()
    docs = texts(args.docs)
    work = Path(tempfile.mkdtemp(prefix="ray-scale-"))
    models = args.models.resolve() if args.models else work / "models"
    models.mkdir(exist_ok=True)
    cfg = Config().with_overrides({"embed": {"backend": args.backend}})
    # Distil the static model once, before anything is timed.
    warm = Run(Store(work / "warm"), cfg, SilentReporter(), InProcessExecutor())
    (work / "warm" / ".store").mkdir(parents=True)
    (work / "warm" / ".store" / "models").symlink_to(models)
    encode(warm.context({"texts": docs[:10]}), docs[:10])

    rows = [("local engine, this process", measure(InProcessExecutor(), cfg, docs, models))]
    env = {"PYTHONPATH": str(REPO)}
    for n in (1, 2):
        cluster = ray_cluster.start(n, env=env)
        try:
            ray_cfg = cfg.model_copy(
                update={
                    "engine": cfg.engine.model_copy(
                        update={"kind": "ray", "address": cluster.address, "batch_size": args.batch}
                    )
                }
            )
            from pipeline.stages.ray_executor import RayExecutor

            ex = RayExecutor(ray_cfg.engine)
            ex.ray()  # connect and check versions before the clock starts
            rows.append(
                (f"Ray, {n} node{'s' * (n > 1)} x 1 CPU", measure(ex, ray_cfg, docs, models))
            )
            ex.shutdown()
        finally:
            cluster.stop()
    print(f"{args.docs:,} documents, {args.backend} backend, batch {args.batch}\n")
    print("| engine | embed s | docs/s | assign s | place s | embed+assign+place docs/s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        total = sum(r.values())
        print(
            f"| {name} | {r['embed']:.1f} | {args.docs / r['embed']:,.0f} | {r['assign']:.1f} "
            f"| {r['place']:.1f} | {args.docs / total:,.0f} |"
        )
    one, two = rows[1][1], rows[2][1]
    print(
        f"\n2 nodes / 1 node: embed {one['embed'] / two['embed']:.2f}x, "
        f"embed+assign+place {sum(one.values()) / sum(two.values()):.2f}x"
    )


if __name__ == "__main__":
    main()
