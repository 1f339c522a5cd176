"""Coherence: keywords chosen among c-TF-IDF candidates so that a topic's words go together.

c-TF-IDF ranks terms one at a time. On a small corpus its best candidates are often
distinctive 1-2-grams that occur in one or two documents and never beside the topic's
other words, and a reader (and NPMI, the usual coherence measure) sees an incoherent
list. On a corpus with many topics, the same broad words ("congress", "government")
describe many of them, and topics stop reading apart. Here each candidate is scored by
how often it occurs in the same documents as the topic's other chosen words (NPMI from
document co-occurrence over the corpus) and by how much of its use falls in this topic
(exclusivity), mixed with its c-TF-IDF relevance (``pipeline.stages.represent``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

COOC_MAX_DOCS = 20_000  # documents sampled for co-occurrence: bounds the cost at a million
EXCLUSIVITY_TOPICS = 100  # topics at which a keyword's exclusivity counts with its full weight


@dataclass
class Cooccurrence:
    """Which candidate words occur in which documents (a seeded sample of at most
    ``COOC_MAX_DOCS``), and each sampled document's topic."""

    matrix: object  # scipy.sparse csc, binary, documents x words
    index: dict[str, int]
    per_topic: object  # scipy.sparse csr, topics x words: documents of the topic holding the word
    df: np.ndarray  # documents holding each word (outliers included)

    def npmi(self, words: list[str]) -> np.ndarray:
        """Normalised pointwise mutual information of every pair of ``words`` (-1 when a
        pair never shares a document, 1 on the diagonal)."""
        n = self.matrix.shape[0]
        cols = [self.index.get(w, -1) for w in words]
        known = np.array([c >= 0 for c in cols])
        sub = self.matrix[:, [max(c, 0) for c in cols]]
        both = np.asarray((sub.T @ sub).todense(), dtype=np.float64)
        both[~known, :] = 0
        both[:, ~known] = 0
        single = np.diag(both).copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            pab = both / max(n, 1)
            pa = single / max(n, 1)
            pmi = np.log(pab / np.outer(pa, pa))
            out = pmi / -np.log(pab)
        out[both == 0] = -1.0
        out[pab >= 1.0] = 1.0
        np.fill_diagonal(out, 1.0)
        return np.clip(np.nan_to_num(out, nan=-1.0), -1.0, 1.0)

    def exclusivity(self, words: list[str], topic: int) -> np.ndarray:
        """Share of the documents holding each word that belong to ``topic`` (0 if unseen)."""
        cols = np.array([self.index.get(w, -1) for w in words])
        out = np.zeros(len(words))
        ok = cols >= 0
        if topic < self.per_topic.shape[0] and ok.any():
            in_topic = np.asarray(self.per_topic[topic, cols[ok]].todense()).ravel()
            out[ok] = in_topic / np.maximum(self.df[cols[ok]], 1)
        return out


def cooccurrence(
    texts: list[str],
    labels: np.ndarray,
    words: list[str],
    analyzer: Callable[[str], list[str]],
    seed: int,
    max_docs: int = COOC_MAX_DOCS,
) -> Cooccurrence:
    """Document occurrence of ``words`` (the candidates) with the analyser that made them.

    Above ``max_docs`` documents a seeded random sample stands in for the corpus: NPMI of
    a topic's words needs their joint frequency, which a 20,000-document sample estimates
    well for any topic big enough to be a topic, at a bounded cost.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(len(texts))
    if len(texts) > max_docs:
        rows = np.sort(np.random.default_rng(seed).choice(len(texts), max_docs, replace=False))
    index = {w: i for i, w in enumerate(words)}
    vec = CountVectorizer(analyzer=analyzer, vocabulary=index, binary=True, dtype=np.int32)
    x = vec.transform([texts[i] for i in rows]).tocsc()
    lab = labels[rows]
    k = int(labels.max()) + 1 if (labels >= 0).any() else 0
    kept = np.where(lab >= 0)[0]
    onehot = sparse.csr_matrix(
        (np.ones(len(kept), dtype=np.int32), (lab[kept], kept)), shape=(k, len(rows))
    )
    return Cooccurrence(
        matrix=x,
        index=index,
        per_topic=(onehot @ x).tocsr(),
        df=np.asarray(x.sum(axis=0)).ravel(),
    )


def exclusivity_weight(weight: float, n_topics: int) -> float:
    """The exclusivity weight grows with the number of topics, full from ``EXCLUSIVITY_TOPICS``:
    with a handful of topics a word shared by two is no loss; with a hundred, broad words
    would describe many topics alike."""
    return weight * min(1.0, n_topics / EXCLUSIVITY_TOPICS)


def order_candidates(
    relevance: np.ndarray,
    redundancy: np.ndarray,
    diversity: float,
    npmi: np.ndarray | None = None,
    coherence: float = 0.0,
) -> list[int]:
    """Greedy order of a topic's candidates (maximal marginal relevance, made coherence-aware).

    Each step picks the candidate with the best ``(1 - c) * relevance + c * coherence``,
    less ``diversity`` times its greatest ``redundancy`` (embedding similarity) with the
    words already picked. Coherence is the candidate's mean NPMI with the words already
    picked; for the first pick, with the other candidates among the ``top`` most relevant,
    so the first keyword (the label's) is a central word, not a stray rare one. With
    ``coherence = 0`` this is plain maximal marginal relevance.
    """
    m = len(relevance)
    top = np.argsort(-relevance, kind="stable")[:10]
    order: list[int] = []
    left = list(range(m))
    while left:
        score = relevance[left]
        if npmi is not None and coherence > 0:
            if order:
                coh = npmi[np.ix_(left, order)].mean(axis=1)
            else:
                others = npmi[np.ix_(left, top)]
                counts = np.isin(top, left).sum() - np.isin(left, top)
                coh = (others.sum(axis=1) - np.isin(left, top)) / np.maximum(counts, 1)
            score = (1 - coherence) * score + coherence * coh
        if order:
            score = (1 - diversity) * score - diversity * redundancy[np.ix_(left, order)].max(
                axis=1
            )
        pick = left[int(np.argmax(score))]
        order.append(pick)
        left.remove(pick)
    return order
