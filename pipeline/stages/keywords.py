"""Keywords over time: each topic described in each period by that period's documents only.

c-TF-IDF over one period's documents, so a period's keywords never use later documents;
the same analyser (phrases, stop words) as the topics' own keywords (``[represent]``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import RepresentConfig
from pipeline.periods import period_start
from pipeline.stages.base import Context
from pipeline.store.contract import KEYWORD_COLUMNS

PARALLEL_MIN = 50_000  # dated documents from which periods are tokenised in parallel


def keywords_over_time(
    texts: list[str],
    dates: pd.Series,
    labels: np.ndarray | pd.Series,
    period: str,
    represent: RepresentConfig,
    top_n: int = 5,
) -> pd.DataFrame:
    """Keywords of each topic in each period, from that period's documents only.

    For every period, the period's documents (outliers included, as their own class) are
    joined per topic and weighted by BERTopic's c-TF-IDF (``reduce_frequent_words``,
    see ``class_tfidf``), with
    the term weights ("idf") computed from that period's classes alone: nothing from a
    later period can leak into an earlier period's keywords. The tokeniser is the one
    ``represent`` uses (``PhraseAnalyzer``, same stop words and n-grams; the paper
    boilerplate told apart by the period's documents). When a topic has
    3 or more documents in the period, a keyword must occur in at least 2 of them, so one
    abstract's idiosyncratic words do not describe the topic (falls back to all terms when
    that leaves fewer than ``top_n``).
    """
    from pipeline.stages.phrases import PhraseAnalyzer, base_stop_words

    labels = np.asarray(labels, dtype=np.int64)
    d = pd.to_datetime(pd.Series(dates).reset_index(drop=True))
    keep = np.where(d.notna().to_numpy())[0]
    cols: dict[str, list] = {c: [] for c in KEYWORD_COLUMNS}
    if len(keep) == 0 or not (labels[keep] >= 0).any():
        return _keyword_frame(cols)
    # The paper boilerplate is told apart in each period by that period's documents alone
    # (``_period``), so that no later document decides an earlier period's words.
    spec = (base_stop_words(represent, texts), represent.ngram_max)
    drop = _boilerplate_rule(represent)
    lab = labels[keep]
    starts = period_start(d.iloc[keep].reset_index(drop=True), period)
    tasks = [
        (pd.Timestamp(ps), [texts[i] for i in keep[rows]], lab[rows.to_numpy()])
        for ps, rows in pd.Series(np.arange(len(keep))).groupby(starts.to_numpy())
    ]
    jobs = parallel_jobs(len(keep))
    if jobs > 1:  # tokenising is pure Python: a process per core (same result, in order)
        from joblib import Parallel, delayed

        # The analyser memoises in an lru_cache, which does not pickle: each task makes its own.
        parts = Parallel(n_jobs=jobs)(delayed(_period)(*t, spec, top_n, drop) for t in tasks)
    else:
        analyzer = PhraseAnalyzer(*spec)
        parts = [_period(*t, analyzer, top_n, drop) for t in tasks]
    for part in parts:
        for c in KEYWORD_COLUMNS:
            cols[c] += part[c]
    return _keyword_frame(cols).sort_values(["topic", "period_start"]).reset_index(drop=True)


def parallel_jobs(n_docs: int) -> int:
    """Processes for keywords over time: one per core (at most 4) from ``PARALLEL_MIN``
    dated documents; below it starting processes costs more than it saves."""
    if n_docs < PARALLEL_MIN:
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def _boilerplate_rule(represent: RepresentConfig) -> tuple[frozenset[str], bool]:
    """The paper boilerplate words and whether a period tells which of them are topical
    (``[represent] boilerplate = "auto"``) or leaves them all out."""
    from pipeline.stages.phrases import PAPER_STOP_WORDS

    if represent.boilerplate == "none" or represent.stop_words == "none":
        return frozenset(), False
    return PAPER_STOP_WORDS, represent.boilerplate == "auto"


def _drop_boilerplate(
    x: Any, words: np.ndarray, onehot: Any, classes: np.ndarray, drop: tuple[frozenset[str], bool]
) -> np.ndarray:
    """Which terms (columns of ``x``) to keep: none holding a paper boilerplate word, where
    under "auto" a listed word a topic of this period concentrates is not boilerplate
    (``pipeline.stages.phrases.topical``, on this period's document counts). Leaving such
    terms out gives the terms of tokenising with those words as stop words."""
    from pipeline.stages.phrases import topical

    listed, decide = drop
    if not listed:
        return np.ones(len(words), dtype=bool)
    cols = [i for i, w in enumerate(words) if w in listed] if decide else []
    if cols:
        held = np.asarray((onehot @ (x[:, cols] > 0).astype(np.int64)).todense())
        size = np.asarray(onehot.sum(axis=1)).ravel()
        hit = topical(held, size, classes >= 0)
        listed = listed - {str(words[c]) for c, h in zip(cols, hit, strict=True) if h}
    return np.array([listed.isdisjoint(str(w).split(" ")) for w in words], dtype=bool)


def _period(
    ps: pd.Timestamp,
    texts: list[str],
    lab: np.ndarray,
    analyzer: Any,
    top_n: int,
    drop: tuple[frozenset[str], bool] = (frozenset(), False),
) -> dict[str, list]:
    """One period's keywords per topic (the columns of ``KEYWORD_COLUMNS``); ``analyzer``
    is a ``PhraseAnalyzer`` or the (stop words, n-gram size) to make one; ``drop`` the
    paper boilerplate rule (``_boilerplate_rule``)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    from pipeline.stages.phrases import PhraseAnalyzer

    if isinstance(analyzer, tuple):
        analyzer = PhraseAnalyzer(*analyzer)

    cols: dict[str, list] = {c: [] for c in KEYWORD_COLUMNS}
    # One period's vocabulary at a time: the same terms, counts and (sorted) order as
    # slicing one corpus-wide count matrix, but memory bounded by the largest period
    # instead of every 1-3-gram of the corpus (gigabytes at a million documents).
    vec = CountVectorizer(analyzer=analyzer, min_df=1)
    try:
        x = vec.fit_transform(texts).tocsr()
    except ValueError:  # empty vocabulary in this period
        return cols
    words = np.asarray(vec.get_feature_names_out())
    classes, inv = np.unique(lab, return_inverse=True)
    onehot = sparse.csr_matrix(
        (np.ones(len(lab)), (inv, np.arange(len(lab)))), shape=(len(classes), len(lab))
    )
    kept = _drop_boilerplate(x, words, onehot, classes, drop)
    if not kept.all():
        x, words = x[:, np.where(kept)[0]], words[kept]
    per_class = (onehot @ x).tocsr()
    ctfidf = class_tfidf(per_class)
    docfreq = (onehot @ (x > 0).astype(np.int64)).tocsr()
    for ci, topic in enumerate(classes):
        if topic < 0:
            continue
        n_docs = int((inv == ci).sum())
        row = ctfidf.getrow(ci)
        idx, w = row.indices, row.data
        if n_docs >= 3:
            dfreq = np.asarray(docfreq.getrow(ci).toarray()).ravel()[idx]
            ok = dfreq >= 2
            if ok.sum() >= top_n:
                idx, w = idx[ok], w[ok]
        order = np.lexsort((words[idx], -w))[:top_n]
        cols["topic"].append(int(topic))
        cols["period_start"].append(ps)
        cols["count"].append(n_docs)
        cols["keywords"].append([str(v) for v in words[idx[order]]])
        cols["keyword_weights"].append([round(float(v), 6) for v in w[order]])
    return cols


def class_tfidf(per_class):  # noqa: ANN001, ANN201 - scipy sparse in and out
    """BERTopic's c-TF-IDF, ``ClassTfidfTransformer(reduce_frequent_words=True)``, inline.

    sqrt of the l1-normalised term counts of each class, times log(1 + A / f) where A is
    the average number of words per class (truncated to an int, as BERTopic does) and f a
    term's count over all classes. Written out so a cached build need not import BERTopic
    (and with it torch) only for this; a test checks it equals BERTopic's.
    """
    from scipy import sparse
    from sklearn.preprocessing import normalize

    per_class = sparse.csr_matrix(per_class, dtype=np.float64)
    f = np.asarray(per_class.sum(axis=0)).ravel()
    avg = int(per_class.sum(axis=1).mean())
    idf = np.log(avg / f + 1)
    x = normalize(per_class, axis=1, norm="l1", copy=True)
    x.data = np.sqrt(x.data)
    return (x @ sparse.diags(idf)).tocsr()


def _keyword_frame(cols: dict[str, list]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic": pd.Series(cols["topic"], dtype="int64"),
            "period_start": pd.Series(cols["period_start"], dtype="datetime64[ns]"),
            "count": pd.Series(cols["count"], dtype="int64"),
            "keywords": pd.Series(cols["keywords"], dtype=object),
            "keyword_weights": pd.Series(cols["keyword_weights"], dtype=object),
        }
    )


def run(ctx: Context) -> dict[str, Any]:
    """The keywords_over_time stage: each topic's keywords in each period."""
    from pipeline.stages.over_time import merged, touched

    i, cfg = ctx.inputs, ctx.cfg
    texts, dates, labels = i["texts"], i["dates"], np.asarray(ctx.get("labels"))
    part = touched(ctx, "keywords")  # an update: only the periods it touches
    if part is not None:
        rows = np.where(part[1])[0]
        texts = [texts[r] for r in rows]
        dates, labels = pd.Series(dates).iloc[rows].reset_index(drop=True), labels[rows]
    keywords = keywords_over_time(
        texts, dates, labels, i["period"], cfg.represent, top_n=cfg.trends.keywords_per_period
    )
    if part is not None:
        ctx.record["periods_recounted"] = int(keywords["period_start"].nunique())
        keywords = merged(part[0], keywords)
    return {"keywords": keywords}
