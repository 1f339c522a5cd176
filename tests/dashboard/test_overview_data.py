"""overview_data: share change, movers and the movers' brief."""

from __future__ import annotations

import pandas as pd
import pytest
from frames import over_time_frame

from dashboard import overview_data, time_data


def test_share_change_compares_recent_with_previous_windows():
    ot = over_time_frame(
        [
            (0, "2020-01-01", 8),
            (1, "2020-01-01", 2),
            (0, "2021-01-01", 8),
            (1, "2021-01-01", 2),
            (0, "2022-01-01", 2),
            (1, "2022-01-01", 8),
            (-1, "2022-01-01", 10),
        ]
    )
    ch = overview_data.share_change(ot, window=1).set_index("topic")
    assert ch.loc[1, "recent_share"] == pytest.approx(8 / 20)
    assert ch.loc[1, "previous_share"] == pytest.approx(2 / 10)
    assert ch.loc[0, "change"] == pytest.approx(2 / 20 - 8 / 10)
    assert -1 not in ch.index


def test_movers_fall_back_to_share_change_without_trends(dated_run):
    m = overview_data.movers(dated_run.topics, None, dated_run.over_time, n=3)
    assert m.source == "share change"
    assert len(m.rising) and len(m.fading)
    assert (m.rising["change"] > 0).all() and (m.fading["change"] < 0).all()
    assert list(m.rising["change"]) == sorted(m.rising["change"], reverse=True)


def test_movers_use_trend_scores_when_present(dated_run):
    assert dated_run.trends is not None
    trends = dated_run.trends.copy()
    trends["category"] = "stable"
    trends.loc[trends["topic"] == 3, ["category", "growth"]] = ["rising", 0.1]
    trends.loc[trends["topic"] == 4, ["category", "growth"]] = ["stable", 2.0]
    m = overview_data.movers(dated_run.topics, trends, dated_run.over_time, n=3)
    assert m.source == "trends"
    assert m.rising["topic"].iloc[0] == 3  # significant movers first, however small
    assert 4 in set(m.rising["topic"])
    assert len(m.fading) and (m.fading["growth"] < 0).all()


def test_biggest_movers_fill_up_with_the_largest_topics(dated_run):
    picked = overview_data.biggest_movers(
        dated_run.topics, dated_run.trends, dated_run.over_time, n=5
    )
    assert len(picked) == len(set(picked)) == 5
    empty = overview_data.biggest_movers(dated_run.topics, None, None, n=3)
    assert empty == time_data.top_topics_by_size(dated_run.topics, 3)


def test_movers_brief_is_compact():
    frame = pd.DataFrame(
        {
            "topic": [3],
            "label": ["a · b"],
            "category": ["new"],
            "previous_share": [0.0],
            "recent_share": [0.1234],
        }
    )
    assert overview_data.movers_brief(frame).to_dict("records") == [
        {"topic": 3, "label": "a · b", "trend": "new", "share": "0.0%→12.3%"}
    ]
    no_trend = overview_data.movers_brief(frame.drop(columns="category"))
    assert list(no_trend.columns) == ["topic", "label", "share"]
    assert overview_data.mover_notes(overview_data.movers_brief(frame)) == ["new, 0.0%→12.3%"]
    assert overview_data.mover_notes(no_trend) == ["0.0%→12.3%"]
