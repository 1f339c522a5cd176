"""theme_data: the hierarchy nodes that carry a trend call, with the topics under them."""

from __future__ import annotations

import pandas as pd

from dashboard import overview_data, theme_data


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, dict[int, str]]:
    # Topics 0-1 merge into node 4 (a rising theme), 2-3 into node 5 (not called); root 6.
    hierarchy = pd.DataFrame(
        {
            "node": [4, 5, 6],
            "parent": [6, 6, -1],
            "left": [0, 2, 4],
            "right": [1, 3, 5],
            "label": ["agents · tools", "vision", "all"],
            "topics": [[0, 1], [2, 3], [0, 1, 2, 3]],
            "category": ["rising", "stable", None],
            "headline": [True, False, False],
            "growth": [0.9, 0.0, float("nan")],
            "previous_share": [0.1, 0.5, float("nan")],
            "recent_share": [0.25, 0.5, float("nan")],
            "q_value": [0.001, 0.9, float("nan")],
        }
    )
    trends = pd.DataFrame(
        {
            "topic": [0, 1, 2, 3],
            "category": ["too few documents", "rising", "stable", "declining"],
            "growth": [0.8, 1.0, 0.0, -0.5],
            "previous_share": [0.05, 0.05, 0.3, 0.2],
            "recent_share": [0.1, 0.15, 0.3, 0.12],
            "q_value": [0.3, 0.01, 0.9, 0.02],
            "headline": [False, False, False, True],
        }
    )
    labels = {0: "agents", 1: "tools", 2: "images", 3: "video"}
    return hierarchy, trends, labels


def test_theme_calls_list_the_headline_nodes_with_their_fragments() -> None:
    hierarchy, trends, labels = _frames()
    themes = theme_data.theme_calls(hierarchy, trends, labels)
    assert list(themes["node"]) == [4]
    assert themes.loc[0, "fragments"] == "0: agents (too few documents); 1: tools (rising)"
    rising, fading = theme_data.split(themes)
    assert len(rising) == 1 and fading.empty
    assert theme_data.theme_note(themes.iloc[0]) == "rising, 10.0%→25.0%, 2 topics"
    # The theme's topics leave the topic movers; the others stay.
    topics = pd.DataFrame({"topic": [0, 1, 2, 3], "label": list(labels.values())})
    m = overview_data.movers(topics, trends, None, exclude=theme_data.covered_topics(themes))
    assert set(m.rising["topic"]) == set() and list(m.fading["topic"]) == [3]


def test_no_theme_calls_without_node_scores() -> None:
    hierarchy, trends, labels = _frames()
    scoreless = hierarchy[["node", "parent", "left", "right", "label", "topics"]]
    assert theme_data.theme_calls(scoreless, trends, labels).empty  # undated / older run
    assert theme_data.theme_calls(hierarchy, None, labels).empty
    assert theme_data.theme_calls(None, trends, labels).empty
