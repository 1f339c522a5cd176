"""dashboard.figures: the Plotly figures, built from small frames (no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import data, figures

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


@pytest.fixture
def topics() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic": [0, 1],
            "label": ["alpha · beta · gamma", "<b>bold</b> · delta"],
            "size": [25, 25],
            "x": [0.0, 1.0],
            "y": [0.0, 1.0],
            "ix": [-0.5, 0.5],
            "iy": [0.1, -0.1],
        }
    )


def _doc_traces(fig: go.Figure) -> list:
    return [t for t in fig.data if t.type == "scattergl"]


def test_doc_map_draws_every_document_once_in_webgl(docs, topics):
    fig = figures.doc_map(docs, topics)
    traces = _doc_traces(fig)
    rows = np.concatenate([np.asarray(t.customdata) for t in traces])
    assert sorted(rows.tolist()) == list(range(len(docs)))
    assert traces[0].name == data.OUTLIER_LABEL and traces[0].marker.color == figures.OUTLIER_COLOR
    assert {t.name for t in traces[1:]} == {
        "0: alpha · beta · gamma",
        "1: &lt;b&gt;bold&lt;/b&gt; · delta",
    }
    assert [a.text for a in fig.layout.annotations] == [
        "alpha · beta",
        "&lt;b&gt;bold&lt;/b&gt; · delta",
    ]


def test_doc_map_hover_is_short_and_escaped(docs, topics):
    hover = figures.hover_texts(docs)
    assert (
        hover[0] == "&lt;img src=x onerror=alert(1)&gt; [click](http://evil.example)<br>2024-01-01"
    )
    assert (
        hover[1].startswith("Paper 1 x")
        and len(hover[1].split("<br>")[0]) == figures.HOVER_TITLE_CHARS
    )
    assert hover[-1] == "Paper 59 "  # undated: no date line
    fig = figures.doc_map(docs, topics, hover=hover)
    traces = _doc_traces(fig)
    shown = {int(r): h for t in traces for r, h in zip(t.customdata, t.hovertext, strict=True)}
    assert shown == dict(enumerate(hover))  # every point carries its own document's text
    assert not any("<img" in h for h in shown.values())


def test_doc_map_hides_outliers_and_applies_the_mask(docs, topics):
    fig = figures.doc_map(docs, topics, show_outliers=False)
    assert data.OUTLIER_LABEL not in {t.name for t in _doc_traces(fig)}
    mask = np.zeros(len(docs), dtype=bool)
    mask[[0, 30]] = True
    fig = figures.doc_map(docs, topics, mask=mask)
    assert sorted(int(r) for t in _doc_traces(fig) for r in t.customdata) == [0, 30]


def test_doc_map_coloured_by_metadata(docs, topics):
    fig = figures.doc_map(docs, topics, color_by="venue", color_kind="categorical", top_values=2)
    assert [t.name for t in _doc_traces(fig)] == ["A", "B", "other values"]
    fig = figures.doc_map(docs, topics, color_by="citations", color_kind="numeric")
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
    assert figures.selected_rows(event) == [2, 4]
    assert figures.selected_rows(None) == [] and figures.selected_rows({"selection": {}}) == []
    assert figures.picked_topic({"selection": {"points": [{"customdata": 7}]}}) == 7


def test_intertopic_map_sizes_bubbles_by_topic_size(topics):
    fig = figures.intertopic_map(topics.assign(size=[10, 40]), selected=1)
    trace = fig.data[0]
    assert list(trace.marker.size) == [10.0, 40.0] and trace.marker.sizemode == "area"
    assert list(trace.customdata) == [0, 1] and list(trace.marker.line.width) == [0.5, 3]
    assert "&lt;b&gt;" in trace.hovertext[1]


def test_facet_bar_escapes_labels_and_keeps_raw_values(topics):
    counts = pd.DataFrame({"value": ["A", EVIL], "count": [5, 2]})
    fig = figures.facet_bar(counts, selected=[EVIL], column="venue")
    bar = fig.data[0]
    assert list(bar.customdata) == [EVIL, "A"]  # largest on top: drawn last
    assert bar.y[0].startswith("&lt;img") and list(bar.marker.color) == [
        figures.SELECTED_COLOR,
        figures.BAR_COLOR,
    ]
    assert figures.picked_values({"selection": {"points": [{"customdata": EVIL}]}}) == [EVIL]


def test_facet_hist_marks_the_selected_range():
    bins = data.facet_bins(pd.Series(np.arange(100.0)), "numeric", nbins=4)
    fig = figures.facet_hist(bins, "numeric", selected=(0, 30))
    assert list(fig.data[0].marker.color) == [
        figures.SELECTED_COLOR,
        figures.SELECTED_COLOR,
        figures.BAR_COLOR,
        figures.BAR_COLOR,
    ]
    dbins = data.facet_bins(
        pd.Series(pd.to_datetime(["2020-01-01", "2020-12-31"])), "date", nbins=2
    )
    fig = figures.facet_hist(dbins, "date")
    assert fig.data[0].customdata[0][0] == "2020-01-01"


def _matrix() -> pd.DataFrame:
    cols = pd.DatetimeIndex(["2020-01-01", "2021-01-01", "2022-01-01"])
    return pd.DataFrame(
        [[0.5, np.nan, 0.2], [0.3, np.nan, 0.6], [0.2, np.nan, 0.2]], index=[0, 1, -1], columns=cols
    )


def test_share_lines_shade_partial_periods():
    m = _matrix()
    fig = figures.share_lines(
        m, {0: "a", 1: "<i>b</i>"}, [0, 1, 5], "year", partial={pd.Timestamp("2022-01-01")}
    )
    assert [t.name for t in fig.data] == ["0: a", "1: &lt;i&gt;b&lt;/i&gt;"]
    assert fig.data[0].connectgaps is False
    (shape,) = fig.layout.shapes
    assert pd.Timestamp(shape.x0) == pd.Timestamp("2022-01-01") and pd.Timestamp(
        shape.x1
    ) == pd.Timestamp("2023-01-01")
    assert fig.layout.annotations[0].text == "partial"


def test_stacked_area_groups_the_rest():
    fig = figures.stacked_area(_matrix(), {0: "a", 1: "b"}, [0], "year")
    assert [t.name for t in fig.data] == ["0: a", "other topics", data.OUTLIER_LABEL]
    assert all(t.stackgroup == "one" for t in fig.data)


def test_heatmap_stars_partial_periods():
    fig = figures.share_heatmap(
        _matrix(), {0: "a", 1: "b"}, [1, 0], "year", partial={pd.Timestamp("2020-01-01")}
    )
    assert list(fig.data[0].x) == ["2020 *", "2021", "2022"]
    assert list(fig.data[0].y) == ["1: b", "0: a"]


def test_period_labels():
    ts = pd.Timestamp("2024-04-01")
    assert [
        figures.period_label(ts, p) for p in ("week", "month", "quarter", "year", "decade")
    ] == ["2024-04-01", "2024-04", "2024 Q2", "2024", "2024s"]


def test_hierarchy_icicle_matches_the_tree(dated_run):
    tree = data.hierarchy_tree(dated_run.hierarchy, dated_run.topics)
    fig = figures.hierarchy_icicle(tree, selected=int(tree["node"].iloc[0]))
    ice = fig.data[0]
    assert len(ice.ids) == len(tree) and ice.branchvalues == "total"
    assert sum(1 for p in ice.parents if p == "") == 1
    assert set(ice.parents) - {""} <= set(ice.ids)


def test_keyword_bars_escape_keywords():
    fig = figures.keyword_bars(pd.DataFrame({"keyword": ["<b>x</b>", "y"], "weight": [0.9, 0.5]}))
    assert list(fig.data[0].y) == ["y", "&lt;b&gt;x&lt;/b&gt;"]


def test_hierarchy_dendrogram_labels_every_topic_and_marks_every_node(dated_run):
    tree = data.hierarchy_tree(dated_run.hierarchy, dated_run.topics)
    fig = figures.hierarchy_dendrogram(tree, selected=int(tree["node"].max()))
    lines, merges, leaves = fig.data
    assert sorted(leaves.customdata) == sorted(dated_run.topics["topic"])
    assert sorted(merges.customdata) == sorted(tree.loc[~tree["leaf"], "node"])
    assert len(fig.layout.yaxis.ticktext) == len(dated_run.topics)
    assert len(set(leaves.x)) == 1 and leaves.x[0] < min(merges.x)
    root = int(tree.loc[tree["parent"] == -1, "node"].iloc[0])
    assert max(merges.x) == pytest.approx(float(tree.set_index("node").loc[root, "distance"]))


def test_hierarchy_dendrogram_without_merges(dated_run):
    tree = data.hierarchy_tree(dated_run.hierarchy.iloc[0:0], dated_run.topics)
    fig = figures.hierarchy_dendrogram(tree)
    assert len(fig.layout.yaxis.ticktext) == len(dated_run.topics)
