"""Coherence-aware keywords (pipeline.stages.coherence): NPMI, exclusivity, the greedy order."""

from __future__ import annotations

import numpy as np

from pipeline.config import Config, RepresentConfig
from pipeline.stages.coherence import (
    cooccurrence,
    exclusivity_weight,
    order_candidates,
)
from pipeline.stages.phrases import PhraseAnalyzer


def _cooc(texts: list[str], labels: list[int], words: list[str]):  # noqa: ANN202
    return cooccurrence(texts, np.array(labels), words, PhraseAnalyzer(frozenset(), 1), seed=0)


def test_npmi_is_one_for_words_always_together_and_minus_one_for_words_never_together() -> None:
    texts = ["alpha beta", "alpha beta", "gamma delta", "gamma"]
    cooc = _cooc(texts, [0, 0, 1, 1], ["alpha", "beta", "gamma", "unseen"])
    m = cooc.npmi(["alpha", "beta", "gamma", "unseen"])
    assert np.isclose(m[0, 1], 1.0) and m[0, 1] == m[1, 0]  # p(ab) = p(a) = p(b) = 1/2
    assert m[0, 2] == -1.0 and m[3, 0] == -1.0  # never together; never seen
    # gamma (2 docs) and delta (1 doc): p(ab)=1/4, p(a)=1/2, p(b)=1/4 -> log 2 / log 4
    assert np.isclose(
        _cooc(texts, [0, 0, 1, 1], ["gamma", "delta"]).npmi(["gamma", "delta"])[0, 1], 0.5
    )


def test_exclusivity_is_the_share_of_a_words_documents_in_the_topic_and_grows_with_topics() -> None:
    texts = ["shared own", "shared own", "shared", "shared other"]
    cooc = _cooc(texts, [0, 0, 1, -1], ["shared", "own", "other"])
    assert cooc.exclusivity(["shared", "own", "other"], 0).tolist() == [0.5, 1.0, 0.0]
    assert exclusivity_weight(0.5, 10) < exclusivity_weight(0.5, 50) == 0.25
    assert exclusivity_weight(0.5, 300) == 0.5


def test_coherence_puts_words_that_share_documents_before_a_stray_relevant_one() -> None:
    # Candidate 1 is very relevant but never shares a document with 0, 2 or 3.
    relevance = np.array([1.0, 0.95, 0.7, 0.6])
    npmi = np.array(
        [[1, -1, 0.6, 0.5], [-1, 1, -1, -1], [0.6, -1, 1, 0.7], [0.5, -1, 0.7, 1]], dtype=float
    )
    redundancy = np.eye(4)
    assert order_candidates(relevance, redundancy, 0.3)[:2] == [0, 1]  # relevance alone
    assert order_candidates(relevance, redundancy, 0.3, npmi, 0.5) == [0, 2, 3, 1]
    # The first pick is the most central word, not the most relevant stray one.
    stray_first = np.array([0.9, 1.0, 0.7, 0.6])
    assert order_candidates(stray_first, redundancy, 0.3, npmi, 0.5)[0] == 0
    assert order_candidates(stray_first, redundancy, 0.3)[0] == 1


def test_refined_keywords_leave_a_broad_word_to_the_topic_it_is_most_exclusive_to() -> None:
    from pipeline.stages.represent import refine_keywords

    # 100 topics; "broad" occurs in every one of them and is the most relevant candidate of
    # topic 0; each topic also has its own word. Exclusivity pushes "broad" below them.
    k = 100
    texts = [f"broad own{t} extra{t}" for t in range(k)] + ["own0 extra0"] * 3
    labels = list(range(k)) + [0, 0, 0]
    cands = {t: [("broad", 1.0), (f"own{t}", 0.6), (f"extra{t}", 0.5)] for t in range(k)}
    words = sorted({w for c in cands.values() for w, _ in c})
    cooc = _cooc(texts, labels, words)
    vecs = {w: np.random.default_rng(i).normal(size=16) for i, w in enumerate(words)}

    def encode(ws: list[str]) -> np.ndarray:
        v = np.array([vecs[w] for w in ws])
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    cents = np.zeros((k, 16))  # no similarity signal: relevance is the c-TF-IDF order
    cfg = RepresentConfig(top_n_words=3, coherence=0.0, exclusivity=1.0)
    with_excl = refine_keywords(cands, cents, encode, cfg, cooc)
    without = refine_keywords(cands, cents, encode, cfg.model_copy(update={"exclusivity": 0.0}))
    assert without[0][0][0] == "broad"
    assert with_excl[0][0][0] == "own0"


def test_the_keyword_choice_is_part_of_the_represent_key() -> None:
    base = Config().represent.key()
    assert Config().with_overrides({"represent": {"coherence": 0.0}}).represent.key() != base
    assert Config().with_overrides({"represent": {"exclusivity": 0.0}}).represent.key() != base
    assert (
        Config().with_overrides({"represent": {"keyword_candidates": 10}}).represent.key() != base
    )
