"""Topic quality: topictrends' defaults against plain BERTopic() on the same embeddings.

    python bench/quality.py                       # all three corpora, seeds 1 11 21
    python bench/quality.py --corpora trending --seeds 1 11

For each corpus and seed it fits both systems on identical all-MiniLM-L6-v2 embeddings
(taken from, or added to, the topictrends embedding cache) and reports NMI and ARI
against labels (arXiv sample, papers with exactly one label; outliers count as their own
cluster), NPMI coherence of each topic's top 10 words, topic diversity, outlier share,
number of topics, and stability (mean pairwise ARI between the seeds' assignments).
Results go to stdout as a markdown table and to bench/results/quality.json.

    python bench/quality.py --split report         # the reporting half of each corpus
    python bench/quality.py --split tune --systems topictrends \
        --keywords round-one coherence=0.3 coherence=0.7   # keyword choices, one clustering

``--split`` cuts each corpus into a tuning half and a reporting half: by date where the
corpus has dates (the earlier half tunes, the later half reports; a date's documents stay
together), by position where it has none (the first half tunes). Defaults are tuned on
the tuning half only and figures are reported on the other. ``--keywords`` adds, for each
seed's clustering, the topics' keywords chosen with other ``[represent]`` settings
(``round-one`` = the keywords before the coherence-aware choice), so keyword choices are
compared on the same topics. ``--set section.key=value`` changes topictrends' settings.
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

from pipeline.config import Config, IngestConfig  # noqa: E402
from pipeline.flows.run import Run  # noqa: E402
from pipeline.progress import SilentReporter  # noqa: E402
from pipeline.stages.base import Context  # noqa: E402
from pipeline.stages.embed import encode  # noqa: E402
from pipeline.stages.ingest import ingest, resolve_input  # noqa: E402
from pipeline.store.cache import Store, cache_root  # noqa: E402

SYSTEMS = ["topictrends", "BERTopic()", "BERTopic(stop words)"]
CORPORA = {
    "arxiv": "arxiv-sample",
    "sotu": str(REPO.parent / "shared" / "corpora" / "sotu_paragraphs.parquet"),
    "trending": "hf-trending-papers",
}


ROUND_ONE = {"keyword_candidates": 10, "coherence": 0.0, "exclusivity": 0.0}


def keyword_variant(spec: str) -> dict:
    """``round-one`` or ``key=value,key=value`` over ``[represent]`` settings."""
    if spec == "round-one":
        return dict(ROUND_ONE)
    out = {}
    for part in spec.split(","):
        key, _, value = part.partition("=")
        out[key.strip()] = json.loads(value)
    return out


def ours(
    texts: list[str],
    emb: np.ndarray,
    doc_ids: list[str],
    seed: int,
    ctx: Context,
    cfg: Config,
    variants: dict[str, dict] | None = None,
    fits_dir: str | None = None,
) -> tuple[np.ndarray, dict[str, list[list[str]]]]:
    """One clustering, and its topics' keywords under each keyword variant ("" = ``cfg``'s).

    With ``fits_dir`` the clustering is kept there (labels and map, .npz) and reused by a
    later run with the same documents and settings: keyword choices are compared without
    fitting UMAP again.
    """
    from pipeline.stages.cluster import cluster
    from pipeline.stages.reduce import reduce
    from pipeline.stages.represent import fit_representation

    reduce_cfg = cfg.reduce.model_copy(update={"seed": seed})
    kept = None
    if fits_dir is not None:
        from pipeline.config import stable_hash

        what = [reduce_cfg.key(), cfg.cluster.key(), cfg.embed.key(), doc_ids]
        kept = Path(fits_dir) / f"labels-{stable_hash(what)}.npz"
    if kept is not None and kept.exists():
        with np.load(kept, allow_pickle=False) as z:
            labels, xy = z["labels"], z["xy"]
    else:
        spaces, xy = reduce(emb, reduce_cfg, texts=texts)
        labels = cluster(spaces, emb, cfg.cluster).labels
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            np.savez(kept, labels=labels, xy=xy)
    words = {}
    for name, update in {"": {}, **(variants or {})}.items():
        rep = fit_representation(
            texts,
            emb,
            labels,
            xy,
            doc_ids,
            lambda t: encode(ctx, t),
            cfg.represent.model_copy(update=update),
            seed=seed,
        )
        words[name] = [list(k) for k in rep.topics["keywords"]]
    return labels, words


def plain_bertopic(
    texts: list[str], emb: np.ndarray, seed: int, stop_words: bool = False
) -> tuple[np.ndarray, list[list[str]]]:
    """BERTopic() as installed; with ``stop_words``, the one change BERTopic's documentation
    recommends for readable topics: a ``CountVectorizer(stop_words="english")``, which
    drops English function words from the keywords after the clustering (same topics)."""
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer
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
    vectorizer = CountVectorizer(stop_words="english") if stop_words else None
    model = BERTopic(umap_model=umap_model, vectorizer_model=vectorizer)
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


def stop_word_share(topic_words: list[list[str]]) -> float:
    """Share of the topics' top 10 keywords made only of English function words ("the",
    "of and"): they co-occur in most documents, so they lift NPMI without saying anything."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [w for ws in topic_words for w in ws[:10]]
    stop = [all(t in ENGLISH_STOP_WORDS for t in w.lower().split()) for w in words]
    return float(np.mean(stop)) if words else float("nan")


def split_mask(docs: pd.DataFrame, half: str) -> np.ndarray:
    """Which documents are in ``half`` ("tune", "report" or "all").

    Dated corpora are cut at the median date: documents dated before it tune, the rest
    report, so a date's documents (one speech's paragraphs) stay on one side. Undated
    corpora are cut by position: the first half tunes.
    """
    n = len(docs)
    if half == "all":
        return np.ones(n, dtype=bool)
    dates = pd.to_datetime(docs["date"], errors="coerce") if "date" in docs else None
    if dates is not None and dates.notna().all():
        cutoff = dates.sort_values(kind="stable").iloc[n // 2]
        tune = (dates < cutoff).to_numpy()
    else:
        tune = np.arange(n) < n // 2
    return tune if half == "tune" else ~tune


def _row(name: str, system: str, seed: int, topics: np.ndarray, words: list, ref: tuple) -> dict:
    matrix, vocab, labels, single = ref
    row = {
        "corpus": name, "system": system, "seed": seed, "documents": len(topics),
        "topics": int(len(words)), "outlier_share": float((topics == -1).mean()),
        "npmi": npmi(words, matrix, vocab), "diversity": diversity(words),
        "stop_word_share": stop_word_share(words),
    }  # fmt: skip
    if labels is not None:
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

        row["nmi"] = float(normalized_mutual_info_score(labels[single], topics[single]))
        row["ari"] = float(adjusted_rand_score(labels[single], topics[single]))
    return row


def evaluate(
    name: str,
    spec: str,
    seeds: list[int],
    store: Store,
    systems: list[str] = SYSTEMS,
    half: str = "all",
    cfg: Config | None = None,
    variants: dict[str, dict] | None = None,
    fits_dir: str | None = None,
) -> list[dict]:
    from sklearn.metrics import adjusted_rand_score

    cfg = cfg or Config()
    path, run_name = resolve_input(spec)
    corpus = ingest(path, run_name, IngestConfig())
    keep = split_mask(corpus.docs, half)
    docs = corpus.docs[keep].reset_index(drop=True)
    texts = [t for t, k in zip(corpus.texts, keep, strict=True) if k]
    ctx = Run(store, cfg, SilentReporter()).context({})
    t0 = time.perf_counter()
    emb = encode(ctx, texts)
    print(
        f"[{name}/{half}] {len(texts)} documents embedded in {time.perf_counter() - t0:.0f}s",
        file=sys.stderr,
    )
    labels = single = None
    if "label" in docs.columns and "n_labels" in docs.columns:
        single = (docs["n_labels"] == 1).to_numpy()
        labels = docs["label"].to_numpy()
    ref = (*reference_matrix(texts), labels, single)
    doc_ids = docs["doc_id"].tolist()
    rows: list[dict] = []
    for system in systems:
        assignments: dict[str, list[np.ndarray]] = {}
        for seed in seeds:
            t0 = time.perf_counter()
            if system == "topictrends":
                topics, by_variant = ours(texts, emb, doc_ids, seed, ctx, cfg, variants, fits_dir)
            else:
                topics, words = plain_bertopic(texts, emb, seed, system == "BERTopic(stop words)")
                by_variant = {"": words}
            seconds = round(time.perf_counter() - t0, 1)
            for variant, words in by_variant.items():
                label = f"{system} [{variant}]" if variant else system
                row = _row(name, label, seed, topics, words, ref) | {"seconds": seconds}
                row["split"] = half
                rows.append(row)
                assignments.setdefault(label, []).append(topics)
                shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
                print(f"[{name}/{half}] {label} seed {seed}: {json.dumps(shown)}", file=sys.stderr)
        for label, runs in assignments.items():
            pairs = [adjusted_rand_score(a, b) for a, b in itertools.combinations(runs, 2)]
            for row in rows:
                if row["system"] == label:
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
            "stop_word_share",
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
            elif m in ("outlier_share", "stop_word_share"):
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
    ap.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[1, 11, 21],
        help="master seeds; an ensemble of m UMAP fits uses seeds s..s+m-1, so seeds closer than 10 share fits and overstate stability",
    )
    ap.add_argument(
        "--cache-dir",
        default=None,
        help="topictrends cache root holding the embeddings (default: $TOPICTRENDS_CACHE or ./cache)",
    )
    ap.add_argument("--systems", nargs="+", choices=SYSTEMS, default=SYSTEMS)
    ap.add_argument(
        "--split",
        choices=["all", "tune", "report"],
        default="all",
        help="the whole corpus, its tuning half or its reporting half",
    )
    ap.add_argument(
        "--keywords",
        nargs="*",
        default=[],
        metavar="SPEC",
        help="keyword choices to compare on the same clusterings: round-one, or key=value,... over [represent]",
    )
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="topictrends settings, e.g. cluster.selection_method=eom (JSON values, or a bare word)",
    )
    ap.add_argument(
        "--fits-dir",
        default=None,
        help="keep topictrends' clusterings here and reuse them (keyword choices compared without refitting)",
    )
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "quality.json"))
    args = ap.parse_args()
    overrides: dict[str, dict] = {}
    for item in args.set:
        dotted, _, value = item.partition("=")
        section, _, key = dotted.partition(".")
        try:
            overrides.setdefault(section, {})[key] = json.loads(value)
        except ValueError:  # a bare word: a string
            overrides.setdefault(section, {})[key] = value
    cfg = Config().with_overrides(overrides) if overrides else Config()
    variants = {spec: keyword_variant(spec) for spec in args.keywords}
    store = Store(cache_root(args.cache_dir))
    rows = []
    for name in args.corpora:
        rows += evaluate(
            name,
            CORPORA[name],
            args.seeds,
            store,
            args.systems,
            args.split,
            cfg,
            variants,
            args.fits_dir,
        )
    for row in rows:
        row["settings"] = args.set
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
