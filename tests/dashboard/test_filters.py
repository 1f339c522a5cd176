"""dashboard.filters: the document filters, their URL form, keyword and semantic search."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard.filters import (
    Filters,
    facet_mask,
    filter_mask,
    filters_to_params,
    keyword_mask,
    parse_filters,
    parse_range,
    semantic_rank,
)

KINDS = {"venue": "categorical", "citations": "numeric", "published": "date"}


@pytest.fixture
def docs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": ["Graph neural networks", "Protein folding", "Graph kernels", "Dough <b>"],
            "text": [
                "message passing on graphs",
                "structure prediction",
                "kernel methods for graphs",
                "bread",
            ],
            "date": pd.to_datetime(["2020-01-05", "2021-03-01", None, "2022-12-31"]),
            "topic": [0, 1, 0, -1],
            "venue": ["A", "B", "A", "(missing)"],
            "citations": [10, 200, 35, np.nan],
            "published": pd.to_datetime(["2020-01-05", "2021-03-01", "2019-01-01", None]),
        }
    )


def test_params_round_trip():
    f = Filters(
        topics=(3, 7),
        date_from=dt.date(2020, 1, 1),
        date_to=dt.date(2021, 12, 31),
        query="graph neural",
        facets=(("citations", ("range", (10, 50))), ("venue", ("in", ("A", "B")))),
    )
    params = filters_to_params(f)
    assert params == {
        "topics": "3,7",
        "from": "2020-01-01",
        "to": "2021-12-31",
        "q": "graph neural",
        "f.citations": "10..50",
        "f.venue": ["A", "B"],
    }
    assert parse_filters(params, {3, 7}, KINDS) == f


def test_invalid_params_are_dropped_not_trusted():
    params = {
        "topics": "3,abc,99,-1,3",
        "from": "not-a-date",
        "to": "2020-02-30",
        "q": "x" * 500,
        "f.unknown": "a",
        "f.citations": "ten..20",
        "f.published": "2021-01-01..2020-01-01",
        "f.venue": "",
        "run": "../../etc",
    }
    f = parse_filters(params, {3, -1}, KINDS)
    assert f.topics == (3, -1)
    assert f.date_from is None and f.date_to is None
    assert len(f.query) == 200
    assert f.facets == (
        ("published", ("range", (dt.date(2020, 1, 1), dt.date(2021, 1, 1)))),
    )  # swapped into order


def test_swapped_date_range_is_put_in_order():
    f = parse_filters({"from": "2022-01-01", "to": "2020-01-01"}, set(), {})
    assert (f.date_from, f.date_to) == (dt.date(2020, 1, 1), dt.date(2022, 1, 1))


def test_parse_range():
    assert parse_range("1..2.5", "numeric") == (1, 2.5)
    assert parse_range("3", "numeric") is None
    assert parse_range("inf..3", "numeric") is None
    assert parse_range("2020-01-01..2020-02-01", "date") == (
        dt.date(2020, 1, 1),
        dt.date(2020, 2, 1),
    )


def test_each_filter_narrows_the_mask(docs):
    assert filter_mask(docs, Filters(), KINDS).all()
    assert filter_mask(docs, Filters(topics=(0,)), KINDS).tolist() == [True, False, True, False]
    dated = Filters(date_from=dt.date(2021, 1, 1), date_to=dt.date(2022, 12, 31))
    assert filter_mask(docs, dated, KINDS).tolist() == [
        False,
        True,
        False,
        True,
    ]  # undated rows drop out; the last day counts
    assert filter_mask(docs, Filters(query="GRAPHS message"), KINDS).tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert filter_mask(docs, Filters(query="<b>"), KINDS).tolist() == [
        False,
        False,
        False,
        True,
    ]  # literal, not a pattern
    venue = Filters(facets=(("venue", ("in", ("A",))),))
    assert filter_mask(docs, venue, KINDS).tolist() == [True, False, True, False]
    both = Filters(topics=(0,), facets=(("citations", ("range", (20, 300))),))
    assert filter_mask(docs, both, KINDS).tolist() == [False, False, True, False]


def test_without_facet_drops_only_that_column():
    f = Filters(query="x", facets=(("a", ("in", ("1",))), ("b", ("in", ("2",)))))
    assert f.without_facet("a") == Filters(query="x", facets=(("b", ("in", ("2",))),))
    assert f.facet("b") == ("in", ("2",)) and f.facet("c") is None


def test_facet_mask_kinds(docs):
    assert facet_mask(
        docs["published"], "date", ("range", (dt.date(2020, 1, 5), dt.date(2020, 1, 5)))
    ).tolist() == [True, False, False, False]
    assert facet_mask(docs["citations"], "numeric", ("range", (0, 1000))).tolist() == [
        True,
        True,
        True,
        False,
    ]
    ints = pd.Series([1, 2, 2])
    assert facet_mask(ints, "categorical", ("in", ("2",))).tolist() == [False, True, True]


def test_keyword_mask_requires_every_word():
    blob = np.array(["graph neural networks", "graph kernels", "neural fields"], dtype=object)
    assert keyword_mask(blob, "neural graph").tolist() == [True, False, False]
    assert keyword_mask(blob, "  ").all()


def test_semantic_rank_orders_by_cosine_within_the_mask():
    emb = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8]], dtype=np.float16)
    rows, scores = semantic_rank(emb, np.array([2.0, 0.0]), k=3)
    assert rows.tolist() == [0, 1, 3]
    assert scores[0] == pytest.approx(1.0, abs=1e-3)
    rows, _ = semantic_rank(
        emb, np.array([0.0, 1.0]), mask=np.array([True, True, False, False]), k=5
    )
    assert rows.tolist() == [1, 0]
    rows, scores = semantic_rank(emb, np.zeros(2), k=3)
    assert rows.size == 0 and scores.size == 0
