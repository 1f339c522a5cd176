"""Topic quality: topictrends' defaults against plain BERTopic() on the same embeddings.

    python bench/quality.py                       # all three corpora, seeds 1 2 3
    python bench/quality.py --corpora trending --seeds 1 2

For each corpus and seed it fits both systems on identical all-MiniLM-L6-v2 embeddings
(taken from, or added to, the topictrends embedding cache) and reports NMI and ARI
against labels (arXiv sample, papers with exactly one label; outliers count as their own
cluster), NPMI coherence of each topic's top 10 words, topic diversity, outlier share,
number of topics, and stability (mean pairwise ARI between the seeds' assignments).
Results go to stdout as a markdown table and to bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
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

from pipeline.stages.jit import enable_numba_cache  # noqa: E402

enable_numba_cache()

from pipeline.config import Config, IngestConfig, ReduceConfig  # noqa: E402
from pipeline.flows.run import Run  # noqa: E402
from pipeline.progress import SilentReporter  # noqa: E402
from pipeline.stages.base import Context  # noqa: E402
from pipeline.stages.embed import encode  # noqa: E402
from pipeline.stages.ingest import ingest, resolve_input  # noqa: E402
from pipeline.store.cache import Store, cache_root  # noqa: E402

SYSTEMS = ["topictrends", "BERTopic()"]
CORPORA = {
    "arxiv": "arxiv-sample",
    "sotu": str(REPO.parent / "shared" / "corpora" / "sotu_paragraphs.parquet"),
    "trending": "hf-trending-papers",
}


def ours(
    texts: list[str], emb: np.ndarray, doc_ids: list[str], seed: int, ctx: Context
) -> tuple[np.ndarray, list[list[str]]]:
    from pipeline.stages.cluster import cluster
    from pipeline.stages.reduce import reduce
    from pipeline.stages.represent import fit_representation

    cfg = Config()
    spaces, xy = reduce(emb, ReduceConfig(seed=seed), texts=texts)
    result = cluster(spaces, emb, cfg.cluster)
    rep = fit_representation(
        texts, emb, result.labels, xy, doc_ids, lambda t: encode(ctx, t), cfg.represent, seed=seed
    )
    return result.labels, [list(k) for k in rep.topics["keywords"]]


def plain_bertopic(
    texts: list[str], emb: np.ndarray, seed: int
) -> tuple[np.ndarray, list[list[str]]]:
    from bertopic import BERTopic
    from umap import UMAP

    # BERTopic()'s own UMAP settings, seeded so that seeds can be compared.
    umap_model = UMAP(
        n_neighbors=15,
        n_components=5,
        min_dist=0.0,
        metric="cosine",
        low_memory=False,
        random_state=seed,
    )
    model = BERTopic(umap_model=umap_model)
    topics, _ = model.fit_transform(texts, embeddings=emb)
    words = [[w for w, _ in model.get_topic(t)][:10] for t in sorted(set(topics)) if t != -1]
    return np.asarray(topics), words


_STRIP = re.compile(r"[^A-Za-z0-9 ]+")


def reference_matrix(texts: list[str]):  # noqa: ANN201
    """Binary document-term matrix (1-2-grams, hyphens kept) that both systems' words can be found in.

    BERTopic's English preprocessing strips punctuation ("in-context" -> "incontext"), so
    each document is indexed both as written and as stripped.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    pattern = r"(?u)\b\w(?:\w|-(?=\w))*\b"
    docs = [f"{t}\n{_STRIP.sub('', t)}" for t in texts]
    vec = CountVectorizer(
        ngram_range=(1, 2), token_pattern=pattern, lowercase=True, binary=True, min_df=1
    )
    return vec.fit_transform(docs).tocsc(), vec.vocabulary_


def npmi(topic_words: list[list[str]], matrix, vocab: dict[str, int]) -> float:  # noqa: ANN001
    n = matrix.shape[0]
    scores = []
    for words in topic_words:
        cols = [vocab.get(w.lower()) for w in words[:10]]
        pair_scores = []
        for a, b in itertools.combinations(cols, 2):
            if a is None or b is None:
                pair_scores.append(-1.0)
                continue
            da, db = matrix[:, a], matrix[:, b]
            pa, pb = da.nnz / n, db.nnz / n
            pab = da.multiply(db).nnz / n
            if pab == 0:
                pair_scores.append(-1.0)
            elif pab == 1.0:
                pair_scores.append(1.0)
            else:
                pair_scores.append(np.log(pab / (pa * pb)) / -np.log(pab))
        if pair_scores:
            scores.append(float(np.mean(pair_scores)))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topic_words: list[list[str]]) -> float:
    words = [w for ws in topic_words for w in ws[:10]]
    return len(set(words)) / len(words) if words else float("nan")


def evaluate(
    name: str, spec: str, seeds: list[int], store: Store, systems: list[str] = SYSTEMS
) -> list[dict]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    path, run_name = resolve_input(spec)
    corpus = ingest(path, run_name, IngestConfig())
    texts = corpus.texts
    ctx = Run(store, Config(), SilentReporter()).context({})
    t0 = time.perf_counter()
    emb = encode(ctx, texts)
    print(
        f"[{name}] {len(texts)} documents embedded in {time.perf_counter() - t0:.0f}s",
        file=sys.stderr,
    )
    labels = None
    if "label" in corpus.docs.columns and "n_labels" in corpus.docs.columns:
        single = (corpus.docs["n_labels"] == 1).to_numpy()
        labels = corpus.docs["label"].to_numpy()
    matrix, vocab = reference_matrix(texts)
    rows = []
    fits = {
        "topictrends": lambda s: ours(texts, emb, corpus.docs["doc_id"].tolist(), s, ctx),
        "BERTopic()": lambda s: plain_bertopic(texts, emb, s),
    }
    for system, fit in ((k, v) for k, v in fits.items() if k in systems):
        assignments = []
        for seed in seeds:
            t0 = time.perf_counter()
            topics, words = fit(seed)
            seconds = time.perf_counter() - t0
            assignments.append(topics)
            row = {
                "corpus": name, "system": system, "seed": seed, "documents": len(texts),
                "topics": int(len(words)), "outlier_share": float((topics == -1).mean()),
                "npmi": npmi(words, matrix, vocab), "diversity": diversity(words), "seconds": round(seconds, 1),
            }  # fmt: skip
            if labels is not None:
                row["nmi"] = float(normalized_mutual_info_score(labels[single], topics[single]))
                row["ari"] = float(adjusted_rand_score(labels[single], topics[single]))
            rows.append(row)
            print(
                f"[{name}] {system} seed {seed}: {json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()})}",
                file=sys.stderr,
            )
        pairs = [adjusted_rand_score(a, b) for a, b in itertools.combinations(assignments, 2)]
        for row in rows[-len(seeds) :]:
            row["seed_ari"] = float(np.mean(pairs)) if pairs else float("nan")
    return rows


def table(rows: list[dict]) -> str:
    df = pd.DataFrame(rows)
    metrics = [
        c
        for c in (
            "nmi",
            "ari",
            "npmi",
            "diversity",
            "outlier_share",
            "topics",
            "seed_ari",
            "seconds",
        )
        if c in df.columns
    ]
    out = ["| corpus | system | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for (corpus, system), g in df.groupby(["corpus", "system"], sort=False):
        cells = []
        for m in metrics:
            v = g[m].dropna()
            if v.empty:
                cells.append("–")
            elif m == "topics":
                cells.append(
                    f"{int(v.min())}–{int(v.max())}" if v.min() != v.max() else str(int(v.min()))
                )
            elif m == "seed_ari":
                cells.append(f"{v.iloc[0]:.3f}")
            elif m == "outlier_share":
                cells.append(f"{v.mean():.1%}")
            else:
                cells.append(
                    f"{v.mean():.3f} ± {v.std(ddof=0):.3f}" if len(v) > 1 else f"{v.mean():.3f}"
                )
        out.append(f"| {corpus} | {system} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=list(CORPORA))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument(
        "--cache-dir",
        default=None,
        help="topictrends cache root holding the embeddings (default: $TOPICTRENDS_CACHE or ./cache)",
    )
    ap.add_argument("--systems", nargs="+", choices=SYSTEMS, default=SYSTEMS)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "quality.json"))
    args = ap.parse_args()
    store = Store(cache_root(args.cache_dir))
    rows = []
    for name in args.corpora:
        rows += evaluate(name, CORPORA[name], args.seeds, store, args.systems)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
