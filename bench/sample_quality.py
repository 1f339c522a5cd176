"""Quality floor of the sample fit: NMI of a fit on a share of the arXiv sample vs the full fit.

    python bench/sample_quality.py [--backend hashing] [--share 0.25] [--seeds 1 2 3]

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


def main() -> None:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="hashing", choices=["hashing", "static"])
    ap.add_argument("--share", type=float, default=0.25)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    path, name = resolve_input("arxiv-sample")
    base = Config().with_overrides({"embed": {"backend": args.backend}})
    corpus = ingest(path, name, base.ingest)
    docs = corpus.docs
    period = resolve_period(base.time.period, docs["date"], docs["date_precision"])
    inputs = corpus_inputs(corpus, period)
    store = Store(cache_root(None))
    emb = np.asarray(encode(Run(store, base, SilentReporter()).context({}), corpus.texts))
    single = (docs["n_labels"] == 1).to_numpy()
    truth = docs["label"].to_numpy()[single]
    size = int(round(args.share * len(docs)))
    print(
        f"arXiv sample, {len(docs)} papers, {args.backend} backend, sample {size}, period {period}"
    )
    print("| seed | fit | NMI | ARI | outliers | seconds |\n|---|---|---|---|---|---|")
    for seed in args.seeds:
        cfg = base.with_overrides({"reduce": {"seed": seed}, "scale": {"fit_sample": size}})
        picked = sample.choose(cfg, inputs)
        for what, chosen in (("full", None), (f"sample {size}", picked)):
            t0 = time.perf_counter()
            labels = fit(emb, corpus.texts, cfg, chosen)
            secs = time.perf_counter() - t0
            nmi = normalized_mutual_info_score(truth, labels[single])
            ari = adjusted_rand_score(truth, labels[single])
            out = (labels == -1).mean()
            print(
                f"| {seed} | {what} | {nmi:.3f} | {ari:.3f} | {out:.3f} | {secs:.0f} |", flush=True
            )


if __name__ == "__main__":
    main()
