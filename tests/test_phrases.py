"""Phrases (pipeline.stages.phrases): the terms keywords are made of."""

from __future__ import annotations

from pipeline.config import RepresentConfig
from pipeline.stages.phrases import PhraseAnalyzer, stop_words_for


def test_ngrams_keep_hyphens_and_never_cross_punctuation_or_stop_words() -> None:
    analyse = PhraseAnalyzer(stop_words_for(RepresentConfig()), 2)
    terms = analyse("In-context learning (ICL) improves the retrieval models.")
    assert "in-context learning" in terms and "icl" in terms
    assert "learning icl" not in terms  # across the parenthesis
    assert not any(t.split()[0] in {"the", "improves"} for t in terms if " " in t)


def test_no_stop_words_when_switched_off() -> None:
    none = stop_words_for(RepresentConfig(stop_words="none"))
    assert none == frozenset()
    assert "the" in PhraseAnalyzer(none, 1)("the model")
