"""The Trends page's figures: share lines, the stacked area and the topic x period heatmap.

Partial periods are shaded (lines, area) or starred (heatmap). No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.figure_style import OTHER_COLOR, OUTLIER_COLOR, esc, topic_color
from dashboard.run_data import OUTLIER, OUTLIER_LABEL
from pipeline.periods import period_end, period_label


def _mark_partial(fig: go.Figure, partial: Iterable[pd.Timestamp], period: str) -> None:
    for start in sorted(partial):
        fig.add_vrect(
            x0=start,
            x1=period_end(start, period),
            fillcolor="#999",
            opacity=0.15,
            line_width=0,
            annotation_text="partial",
            annotation_position="top left",
            annotation_font_size=10,
        )


def _share_layout(
    fig: go.Figure, partial: Iterable[pd.Timestamp], period: str, **layout: Any
) -> go.Figure:
    """What the share charts share: percent axis, legend below, partial periods shaded."""
    _mark_partial(fig, partial, period)
    fig.update_layout(
        margin={"l": 0, "r": 0, "t": 20, "b": 0},
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "y": -0.15},
        hovermode="x unified",
        **layout,
    )
    return fig


def share_lines(
    matrix: pd.DataFrame,
    labels: Mapping[int, str],
    topics: list[int],
    period: str,
    partial: Iterable[pd.Timestamp] = (),
) -> go.Figure:
    """Share of all documents per period for the chosen topics; partial periods shaded."""
    fig = go.Figure()
    for t in topics:
        if t not in matrix.index:
            continue
        s = matrix.loc[t]
        fig.add_trace(
            go.Scatter(
                x=s.index,
                y=s.to_numpy(),
                mode="lines+markers" if matrix.shape[1] <= 60 else "lines",
                name=esc(f"{t}: {labels.get(t, '')}", 50),
                line={"color": topic_color(t), "width": 2},
                marker={"size": 4},
                connectgaps=False,
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    return _share_layout(fig, partial, period, height=420, yaxis_title="share of documents")


def stacked_area(
    matrix: pd.DataFrame,
    labels: Mapping[int, str],
    top: list[int],
    period: str,
    partial: Iterable[pd.Timestamp] = (),
) -> go.Figure:
    """Shares of the ``top`` topics stacked, with every other topic and the outliers summed."""
    fig = go.Figure()
    cols = matrix.columns
    rest = [t for t in matrix.index if t not in top and t != OUTLIER]
    groups: list[tuple[str, pd.Series, str]] = [
        (esc(f"{t}: {labels.get(t, '')}", 50), matrix.loc[t], topic_color(t))
        for t in top
        if t in matrix.index
    ]
    if rest:
        groups.append(("other topics", matrix.loc[rest].sum(axis=0, min_count=1), OTHER_COLOR))
    if OUTLIER in matrix.index:
        groups.append((OUTLIER_LABEL, matrix.loc[OUTLIER], OUTLIER_COLOR))
    for name, s, color in groups:
        fig.add_trace(
            go.Scatter(
                x=cols,
                y=s.to_numpy(),
                name=name,
                mode="lines",
                stackgroup="one",
                line={"width": 0.5, "color": color},
                hovertemplate="%{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    return _share_layout(fig, partial, period, height=460, yaxis_range=[0, 1])


def share_heatmap(
    matrix: pd.DataFrame,
    labels: Mapping[int, str],
    topics: list[int],
    period: str,
    partial: Iterable[pd.Timestamp] = (),
) -> go.Figure:
    """Topic x period heatmap of shares; partial periods are starred on the axis."""
    rows = [t for t in topics if t in matrix.index]
    m = matrix.loc[rows]
    partial = set(partial)
    xlab = [period_label(c, period) + (" *" if c in partial else "") for c in m.columns]
    ylab = [esc(f"{t}: {labels.get(t, '')}", 45) for t in rows]
    fig = go.Figure(
        go.Heatmap(
            z=m.to_numpy(),
            x=xlab,
            y=ylab,
            colorscale="Blues",
            colorbar={"title": {"text": "share"}, "tickformat": ".0%"},
            hovertemplate="%{y}<br>%{x}: %{z:.1%}<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_layout(
        height=max(300, 22 * len(rows) + 120),
        margin={"l": 0, "r": 0, "t": 20, "b": 0},
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"type": "category"},
    )
    return fig
