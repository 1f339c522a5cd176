"""bench/quality.py's tuning and reporting halves: disjoint, whole dates, earlier half tunes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("bench_quality", REPO / "bench" / "quality.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_a_dated_corpus_is_cut_at_the_median_date_keeping_each_date_on_one_side() -> None:
    # Six paragraphs of one speech share a date; the cut must not fall inside them.
    dates = ["2001-01-01"] * 3 + ["2002-01-01"] * 6 + ["2003-01-01"] * 3
    docs = pd.DataFrame({"date": dates}).sample(frac=1, random_state=0).reset_index(drop=True)
    tune, report = bench.split_mask(docs, "tune"), bench.split_mask(docs, "report")
    assert not (tune & report).any() and (tune | report).all()
    assert set(docs["date"][tune]) == {"2001-01-01"}
    assert set(docs["date"][report]) == {"2002-01-01", "2003-01-01"}
    assert bench.split_mask(docs, "all").all()


def test_an_undated_corpus_is_cut_by_position() -> None:
    docs = pd.DataFrame({"date": [None] * 5, "text": list("abcde")})
    assert bench.split_mask(docs, "tune").tolist() == [True, True, False, False, False]
    assert np.array_equal(bench.split_mask(docs, "report"), ~bench.split_mask(docs, "tune"))


def test_keyword_variants_parse_round_one_and_settings() -> None:
    assert bench.keyword_variant("round-one") == bench.ROUND_ONE
    assert bench.keyword_variant("coherence=0.3,keyword_candidates=20") == {
        "coherence": 0.3,
        "keyword_candidates": 20,
    }


def test_the_stop_word_share_counts_keywords_made_only_of_function_words() -> None:
    words = [["the", "of the", "tax", "tax cuts"], ["and", "war", "of war", "we"]]
    # "the", "of the", "and", "we" are function words; "of war" holds a content word.
    assert bench.stop_word_share(words) == 4 / 8
    assert bench.stop_word_share([["budget", "deficit"]]) == 0.0
