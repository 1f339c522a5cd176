"""map_figures: the document map (WebGL, escaped hover, masks, colours) and selections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard import figure_style, map_data, map_figures, run_data, topic_figures

EVIL = "<img src=x onerror=alert(1)> [click](http://evil.example)"


@pytest.fixture
def docs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    topic = np.array([0] * 25 + [1] * 25 + [-1] * 10)
    return pd.DataFrame(
        {
            "title": [
                EVIL if i == 0 else f"Paper {i} " + "x" * (100 if i == 1 else 0) for i in range(n)
            ],
            "date": pd.to_datetime(["2024-01-01"] * (n - 1) + [None]),
            "topic": topic,
            "x": rng.normal(size=n).astype(np.float32),
            "y": rng.normal(size=n).astype(np.float32),
            "venue": ["A"] * 30 + ["B"] * 20 + ["C"] * 10,
            "citations": np.arange(n, dtype=float),
        }
    )


def _doc_traces(fig: go.Figure) -> list:
    return [t for t in fig.data if t.type == "scattergl"]


def test_doc_map_draws_every_document_once_in_webgl(docs, small_topics):
    fig = map_figures.doc_map(docs, small_topics)
    traces = _doc_traces(fig)
    rows = np.concatenate([np.asarray(t.customdata) for t in traces])
    assert sorted(rows.tolist()) == list(range(len(docs)))
    assert (
        traces[0].name == run_data.OUTLIER_LABEL
        and traces[0].marker.color == figure_style.OUTLIER_COLOR
    )
    assert {t.name for t in traces[1:]} == {
        "0: alpha · beta · gamma",
        "1: &lt;b&gt;bold&lt;/b&gt; · delta",
    }
    assert [a.text for a in fig.layout.annotations] == [
        "alpha · beta",
        "&lt;b&gt;bold&lt;/b&gt; · delta",
    ]


def test_doc_map_hover_is_short_and_escaped(docs, small_topics):
    titles, dates = map_figures.hover_texts(docs, np.arange(len(docs)))
    assert titles[0] == "&lt;img src=x onerror=alert(1)&gt; [click](http://evi…"
    assert titles[1].startswith("Paper 1 x") and len(titles[1]) == map_figures.HOVER_TITLE_CHARS
    assert dates[0] == "2024-01-01" and dates[-1] == ""  # undated: no date
    dated = docs.assign(date_precision=["month"] * len(docs))
    assert map_figures.hover_texts(dated, [2])[1][0] == "2024-01"  # to its precision
    fig = map_figures.doc_map(docs, small_topics)
    traces = _doc_traces(fig)
    shown = {
        int(r): (h, t)
        for tr in traces
        for r, h, t in zip(tr.customdata, tr.hovertext, tr.text, strict=True)
    }
    assert shown == dict(enumerate(zip(titles, dates, strict=True)))  # each its own document's
    assert not any("<img" in h for h, _ in shown.values())
    # Title and date on two lines, the topic (the trace's name) once in the second box.
    assert {t.hovertemplate for t in traces} == {
        "%{hovertext}<br>%{text}<extra>%{fullData.name}</extra>"
    }
    undated = map_figures.doc_map(docs.assign(date=pd.NaT), small_topics)
    assert {t.hovertemplate for t in _doc_traces(undated)} == {
        "%{hovertext}<extra>%{fullData.name}</extra>"
    }


def test_doc_map_hides_outliers_and_applies_the_mask(docs, small_topics):
    fig = map_figures.doc_map(docs, small_topics, show_outliers=False)
    assert run_data.OUTLIER_LABEL not in {t.name for t in _doc_traces(fig)}
    mask = np.zeros(len(docs), dtype=bool)
    mask[[0, 30]] = True
    fig = map_figures.doc_map(docs, small_topics, mask=mask)
    assert sorted(int(r) for t in _doc_traces(fig) for r in t.customdata) == [0, 30]


def test_doc_map_coloured_by_metadata(docs, small_topics):
    fig = map_figures.doc_map(
        docs, small_topics, color_by="venue", color_kind="categorical", top_values=2
    )
    assert [t.name for t in _doc_traces(fig)] == ["A", "B", "other values"]
    fig = map_figures.doc_map(docs, small_topics, color_by="citations", color_kind="numeric")
    (trace,) = _doc_traces(fig)
    assert trace.marker.showscale and len(trace.marker.color) == len(docs)


def test_selected_rows_reads_customdata_from_a_plain_dict():
    event = {
        "selection": {
            "points": [{"customdata": 4}, {"customdata": [2]}, {"customdata": 4}, {"x": 1}],
            "box": [],
            "lasso": [],
        }
    }
    assert map_figures.selected_rows(event) == [2, 4]
    assert (
        map_figures.selected_rows(None) == [] and map_figures.selected_rows({"selection": {}}) == []
    )
    assert topic_figures.picked_topic({"selection": {"points": [{"customdata": 7}]}}) == 7


def _big(n: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    topic = np.repeat([0, 1, 2], [n - 1000, 700, 300])
    docs = pd.DataFrame(
        {
            "title": [f"Paper {i}" for i in range(n)],
            "date": pd.to_datetime(["2024-01-01"] * n),
            "topic": topic,
            "x": (0.4 * rng.normal(size=n) + topic * 3).astype(np.float32),
            "y": (0.4 * rng.normal(size=n)).astype(np.float32),
        }
    )
    docs.loc[5, "x"] = 400.0  # a stray far away
    topics = pd.DataFrame(
        {"topic": [0, 1, 2], "label": ["a · b", "c · d", "e · f"], "size": [n - 1000, 700, 300]}
    )
    topics["x"], topics["y"] = [0.0, 3.0, 6.0], [0.0, 0.0, 0.0]
    return docs, topics


def test_above_the_budget_a_density_image_and_a_sample_with_every_topic():
    docs, topics = _big()
    fig = map_figures.doc_map(docs, topics, budget=300)
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 1 and heat[0].name == map_figures.DENSITY_NAME
    z = np.asarray(heat[0].z)
    assert z.dtype == np.uint8  # one byte a cell
    counts = np.expm1(z / map_figures.DENSITY_STEPS) * (z > 0)
    assert counts.sum() == pytest.approx(len(docs), rel=0.05)  # log levels, ~3% apart
    traces = _doc_traces(fig)
    drawn = np.concatenate([np.asarray(t.customdata) for t in traces])
    assert len(drawn) <= 300 and set(docs["topic"][drawn]) == {0, 1, 2}
    assert fig.layout.meta == {"drawn": len(drawn), "in_view": len(docs)}
    # At or under the budget: every point, no density image.
    fig = map_figures.doc_map(docs, topics, budget=len(docs))
    assert not [t for t in fig.data if t.type == "heatmap"]
    assert sum(len(t.customdata) for t in _doc_traces(fig)) == len(docs)


def test_the_default_view_is_the_robust_range_with_strays_marked_at_its_edge():
    docs, topics = _big()
    fig = map_figures.doc_map(docs, topics)
    x0, x1 = fig.layout.xaxis.range
    assert x1 < 20  # the stray at x=400 does not stretch the axis
    (t0,) = [t for t in _doc_traces(fig) if 5 in list(t.customdata)]
    i = list(t0.customdata).index(5)
    assert t0.x[i] == pytest.approx(x1) and t0.marker.symbol[i] == map_figures.BEYOND_CODE
    assert t0.text[i].endswith(map_figures.BEYOND_NOTE)
    strays = [
        r
        for t in _doc_traces(fig)
        if t.marker.symbol is not None
        for r, sym in zip(t.customdata, t.marker.symbol, strict=True)
        if sym == map_figures.BEYOND_CODE
    ]
    assert len(strays) <= 3  # a stray, perhaps a gapped Gaussian tail; not a small topic
    assert not set(strays) & set(np.flatnonzero(docs["topic"] == 2))  # the edge topic stays in


def test_topic_colours_follow_the_scheme(small_topics):
    hierarchy = pd.DataFrame(
        {
            "node": [2],
            "parent": [-1],
            "left": [0],
            "right": [1],
            "distance": [1.0],
            "label": ["root"],
            "topics": [[0, 1]],
        }
    )
    distinct = map_figures.topic_colors(small_topics, hierarchy, "distinct")
    assert set(distinct) == {0, 1} and distinct[0] != distinct[1]
    assert set(distinct.values()) <= set(figure_style.MAP_PALETTE)
    branch = map_figures.topic_colors(small_topics, hierarchy, "branch")
    assert set(branch) == {0, 1}


# What a map view may send (plotly's JSON, as st.plotly_chart sends it): a fixed part (layout
# and labels, the density image, a little per topic trace) plus this much per drawn point,
# whatever the run's size: coordinates and row (binary, 16 bytes), a title of at most 48
# characters and a date. Measured: 91 bytes a point for the titles below, 80 for arXiv's.
BYTES_PER_POINT = 95
FIXED_BYTES = 55_000
BYTES_PER_TOPIC = 250
WELL_UNDER_TARGET = 2_500_000  # issue 17's target: a map view at most 3 MB at 1M documents


def _long_titled(n: int, n_topics: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` documents whose titles are all longer than the hover keeps, dated to the day."""
    rng = np.random.default_rng(3)
    topic = rng.integers(0, n_topics, n)
    topic[::10] = -1
    centre = rng.normal(size=(n_topics + 1, 2)) * 4
    xy = centre[topic + 1] + rng.normal(size=(n, 2))
    xy[:3] += 500.0  # strays, drawn at the edge with their own marker
    docs = pd.DataFrame(
        {
            "title": [
                f"{i} A rather long title on topic models & the trends of big corpora"
                for i in range(n)
            ],
            "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), "D"),
            "topic": topic,
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
        }
    )
    topics = pd.DataFrame(
        {
            "topic": np.arange(n_topics),
            "label": [f"word{t} · other{t} · third{t}" for t in range(n_topics)],
            "size": np.bincount(topic[topic >= 0], minlength=n_topics),
            "x": centre[1:, 0],
            "y": centre[1:, 1],
        }
    )
    return docs, topics


def test_a_map_view_sends_bytes_in_proportion_to_the_budget_not_the_corpus():
    budget, sizes = 2_000, {}
    for n in (40_000, 160_000):  # rows past 32,767: the row numbers are 4 bytes, as at 1M
        docs, topics = _long_titled(n)
        fig = map_figures.doc_map(docs, topics, budget=budget)
        drawn = fig.layout.meta["drawn"]
        assert 0.95 * budget <= drawn <= budget + 50
        sizes[n] = len(pio.to_json(fig, validate=False))
        assert sizes[n] <= FIXED_BYTES + BYTES_PER_TOPIC * len(topics) + BYTES_PER_POINT * drawn
    assert abs(sizes[160_000] - sizes[40_000]) < 0.05 * sizes[40_000]
    # The default budget keeps a view of a run with 200 topics well under the target.
    worst = FIXED_BYTES + BYTES_PER_TOPIC * 200 + BYTES_PER_POINT * map_data.DEFAULT_POINT_BUDGET
    assert worst <= WELL_UNDER_TARGET
