"""The Topics page's figures: the intertopic map and a topic's keyword bars. No Streamlit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.figure_style import BAR_COLOR, MAP_HEIGHT, esc, topic_color
from dashboard.map_figures import selected_rows


def intertopic_map(topics: pd.DataFrame, selected: int | None = None) -> go.Figure:
    """Topics at their intertopic-distance coordinates, bubble area proportional to size."""
    size = topics["size"].astype(float).to_numpy()
    max_px = 60.0
    sizeref = 2.0 * max(size.max(), 1.0) / (max_px**2) if len(size) else 1.0
    line_w = [3 if int(t) == selected else 0.5 for t in topics["topic"]]
    fig = go.Figure(
        go.Scatter(
            x=topics["ix"],
            y=topics["iy"],
            mode="markers+text",
            text=[str(int(t)) for t in topics["topic"]],
            textposition="middle center",
            textfont={"size": 10},
            customdata=topics["topic"].astype(int).to_numpy(),
            hovertext=[
                f"{int(t)}: {esc(lab, 60)}<br>{int(s)} documents"
                for t, lab, s in zip(topics["topic"], topics["label"], topics["size"], strict=True)
            ],
            hovertemplate="%{hovertext}<extra></extra>",
            marker={
                "size": size,
                "sizemode": "area",
                "sizeref": sizeref,
                "sizemin": 6,
                "color": [topic_color(int(t)) for t in topics["topic"]],
                "opacity": 0.6,
                "line": {"width": line_w, "color": "#222"},
            },
        )
    )
    fig.update_layout(
        height=MAP_HEIGHT,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        showlegend=False,
        uirevision="intertopic",
    )
    fig.update_xaxes(title="dimension 1", zeroline=True, showgrid=False)
    fig.update_yaxes(
        title="dimension 2", zeroline=True, showgrid=False, scaleanchor="x", scaleratio=1
    )
    return fig


def picked_topic(event: Mapping[str, Any] | None) -> int | None:
    """The topic clicked on ``intertopic_map`` (its customdata)."""
    rows = selected_rows(event)
    return rows[0] if rows else None


def keyword_bars(keywords: pd.DataFrame) -> go.Figure:
    kw = keywords.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=kw["weight"],
            y=[esc(k) for k in kw["keyword"]],
            orientation="h",
            marker={"color": BAR_COLOR},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(220, 26 * len(kw) + 40),
        margin={"l": 0, "r": 10, "t": 10, "b": 30},
        xaxis_title="c-TF-IDF weight",
    )
    return fig
