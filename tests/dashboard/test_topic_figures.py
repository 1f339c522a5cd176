"""topic_figures: the intertopic map and keyword bars."""

from __future__ import annotations

import pandas as pd

from dashboard import topic_figures


def test_intertopic_map_sizes_bubbles_by_topic_size(small_topics):
    fig = topic_figures.intertopic_map(small_topics.assign(size=[10, 40]), selected=1)
    trace = fig.data[0]
    assert list(trace.marker.size) == [10.0, 40.0] and trace.marker.sizemode == "area"
    assert list(trace.customdata) == [0, 1] and list(trace.marker.line.width) == [0.5, 3]
    assert "&lt;b&gt;" in trace.hovertext[1]


def test_keyword_bars_escape_keywords():
    fig = topic_figures.keyword_bars(
        pd.DataFrame({"keyword": ["<b>x</b>", "y"], "weight": [0.9, 0.5]})
    )
    assert list(fig.data[0].y) == ["y", "&lt;b&gt;x&lt;/b&gt;"]
