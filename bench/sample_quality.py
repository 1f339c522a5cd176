"""Quality floor of the sample fit: NMI of a fit on a share of the arXiv sample vs the full fit.

    python bench/sample_quality.py [--backend hashing] [--share 0.1 0.25 0.5] [--seeds 1 2 3]
    python bench/sample_quality.py --backend static --corpus C.parquet --label group \
        --share 0.5 --seeds 1 --placement      # agreement with the full fit at 100k (ARI)

With ``--corpus`` (a Parquet file with dates, e.g. bench/scale.py's synthetic corpus) the
labels are the column ``--label``, every document counts, and each row also gives the ARI
between the sample fit's topics and the full fit's (same seed), over every document; a later
seed's full fit gives its ARI with the first seed's, the yardstick for those.
``--placement`` measures, for the first seed and share, the map positions of the documents
outside the sample: their mean of the ``[scale] map_neighbors`` nearest sampled documents
(what a build does) against ``UMAP.transform`` of a 2-d UMAP fitted on the sample, both
timed, both scored by neighbourhood preservation (``preservation``).

For each seed, the reduce and cluster stages fit every paper ("full") and then a sample
of ``share`` of them stratified by period, with the rest assigned as a sampled build does
(``pipeline.stages.sample``). Scores NMI and ARI against the topic labels (papers with
exactly one label, outliers count as their own cluster, as bench/quality.py) and the
outlier share. Results go to stdout as markdown.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")

from pipeline.config import Config  # noqa: E402
from pipeline.flows.run import Run, corpus_inputs  # noqa: E402
from pipeline.periods import resolve_period  # noqa: E402
from pipeline.progress import SilentReporter  # noqa: E402
from pipeline.stages import sample  # noqa: E402
from pipeline.stages.cluster import cluster  # noqa: E402
from pipeline.stages.embed import encode  # noqa: E402
from pipeline.stages.ingest import ingest, resolve_input  # noqa: E402
from pipeline.stages.reduce import reduce  # noqa: E402
from pipeline.store.cache import Store, cache_root  # noqa: E402


def fit(emb: np.ndarray, texts: list[str], cfg: Config, picked: np.ndarray | None) -> np.ndarray:
    """Topic labels of every document: fitted on all, or on ``picked`` and assigned."""
    if picked is None:
        spaces, _ = reduce(emb, cfg.reduce, texts=texts)
        return cluster(spaces, emb, cfg.cluster).labels
    spaces, _ = reduce(emb[picked], cfg.reduce, texts=[texts[i] for i in picked])
    mcs = cfg.cluster.min_cluster_size or sample.min_cluster_size(len(emb), len(picked))
    result = cluster(spaces, emb[picked], cfg.cluster.model_copy(update={"min_cluster_size": mcs}))
    vectors = sample.fit_vectors(emb, texts, cfg, picked)
    labels, _, _ = sample.assign_rest(vectors, picked, result.labels, result.probs, cfg)
    return labels


def preservation(
    high: np.ndarray, low: np.ndarray, queries: np.ndarray, ref: np.ndarray, k: int = 10
) -> float:
    """Mean share of each query's ``k`` nearest reference documents in the fit's space
    (cosine of ``high``) that are also among its ``k`` nearest on the 2-d map (``low``)."""
    sim = high[queries] @ high[ref].T
    d2 = ((low[queries][:, None, :] - low[ref][None, :, :]) ** 2).sum(axis=2)
    same = queries[:, None] == ref[None, :]  # a sampled query is not its own neighbour
    sim[same], d2[same] = -np.inf, np.inf
    a = np.argpartition(-sim, k, axis=1)[:, :k]
    b = np.argpartition(d2, k, axis=1)[:, :k]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def placement(emb: np.ndarray, texts: list[str], cfg: Config, picked: np.ndarray) -> None:
    """kNN placement (a build's) against UMAP.transform, for the documents outside the sample."""
    from umap import UMAP

    from pipeline.stages.assign import place
    from pipeline.stages.reduce import n_neighbors_for

    vec = sample.fit_vectors(emb, texts, cfg, picked)
    rest = np.setdiff1d(np.arange(len(emb)), picked)
    t0 = time.perf_counter()
    model = UMAP(
        n_components=2,
        n_neighbors=n_neighbors_for(cfg.reduce, len(picked)),
        metric=cfg.reduce.metric,
        min_dist=cfg.reduce.map_min_dist,
        random_state=cfg.reduce.seed,
        low_memory=True,
    ).fit(vec[picked])
    fit_s = time.perf_counter() - t0
    xy = np.zeros((len(emb), 2), dtype=np.float32)
    xy[picked] = model.embedding_
    t0 = time.perf_counter()
    knn = xy.copy()
    knn[rest] = place(emb[rest], emb[picked], model.embedding_, cfg.scale.map_neighbors)
    knn_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    tr = xy.copy()
    tr[rest] = model.transform(vec[rest])
    tr_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    q_rest = rng.choice(rest, size=min(2_000, len(rest)), replace=False)
    q_in = rng.choice(picked, size=min(2_000, len(picked)), replace=False)
    ref = rng.choice(picked, size=min(20_000, len(picked)), replace=False)
    print(f"\nmap placement of {len(rest):,} documents outside a {len(picked):,}-sample")
    print("| method | seconds | docs/s | 10-NN preservation (outside) | (sampled, UMAP fit) |")
    print("|---|---|---|---|---|")
    inside = preservation(vec, xy, q_in, ref)
    for what, pos, secs in (("kNN mean (build)", knn, knn_s), ("UMAP.transform", tr, tr_s)):
        score = preservation(vec, pos, q_rest, ref)
        print(f"| {what} | {secs:.1f} | {len(rest) / secs:,.0f} | {score:.3f} | {inside:.3f} |")
    print(f"(the 2-d UMAP fit with its search index: {fit_s:.1f} s)", flush=True)


def load(args: argparse.Namespace, base: Config) -> tuple:  # noqa: ANN001
    """The corpus, its inputs, embeddings, the documents scored and their labels."""
    path, name = (Path(args.corpus), "corpus") if args.corpus else resolve_input("arxiv-sample")
    corpus = ingest(path, name, base.ingest)
    docs = corpus.docs
    period = resolve_period(base.time.period, docs["date"], docs["date_precision"])
    inputs = corpus_inputs(corpus, period)
    store = Store(Path(args.cache) if args.cache else cache_root(None))
    emb = np.asarray(encode(Run(store, base, SilentReporter()).context({}), corpus.texts))
    every = np.ones(len(docs), dtype=bool)
    scored = every if args.corpus else (docs["n_labels"] == 1).to_numpy()
    truth = docs[args.label].to_numpy()[scored]
    print(f"{path.name}, {len(docs)} documents, {args.backend} backend, period {period}")
    return corpus, inputs, emb, scored, truth


def main() -> None:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="hashing", choices=["hashing", "static"])
    ap.add_argument("--share", type=float, nargs="+", default=[0.25])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--corpus", help="a Parquet corpus instead of the arXiv sample")
    ap.add_argument("--label", default="label", help="the label column")
    ap.add_argument("--cache", help="cache root (default: $TOPICTRENDS_CACHE or ./cache)")
    ap.add_argument("--placement", action="store_true")
    args = ap.parse_args()
    base = Config().with_overrides({"embed": {"backend": args.backend}})
    corpus, inputs, emb, scored, truth = load(args, base)
    n = len(emb)
    print(
        "| seed | fit | NMI | ARI | ARI with full fit | outliers | seconds |\n"
        "|---|---|---|---|---|---|---|"
    )
    first = None  # the first seed's full fit: the yardstick of seed-to-seed agreement
    for seed in args.seeds:
        full = None
        for share in [None, *args.share]:
            size = None if share is None else int(round(share * n))
            cfg = base.with_overrides({"reduce": {"seed": seed}, "scale": {"fit_sample": size}})
            picked = None if size is None else sample.choose(cfg, inputs)
            t0 = time.perf_counter()
            labels = fit(emb, corpus.texts, cfg, picked)
            secs = time.perf_counter() - t0
            if picked is None:  # a later seed's full fit is compared with the first's
                agree_with, full = (first if first is not None else labels), labels
                first = first if first is not None else labels
            else:
                agree_with = full
            nmi = normalized_mutual_info_score(truth, labels[scored])
            ari = adjusted_rand_score(truth, labels[scored])
            same = agree_with is labels
            agree = "" if same else f"{adjusted_rand_score(agree_with, labels):.3f}"
            what = "full" if size is None else f"sample {size}"
            out = (labels == -1).mean()
            print(
                f"| {seed} | {what} | {nmi:.3f} | {ari:.3f} | {agree} | {out:.3f} | {secs:.0f} |",
                flush=True,
            )
            if args.placement and picked is not None and seed == args.seeds[0]:
                placement(emb, corpus.texts, cfg, picked)


if __name__ == "__main__":
    main()
