"""The Trends page's figures: share (or count) lines, the stacked area and the topic x
period heatmap.

Partial periods are shaded (lines, area) or starred (heatmap); sparse periods (too few
documents for a share, ``dashboard.trend_data``) are faded markers off the line, and grey
cells in the heatmap. No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, unlabel_rgb

from dashboard.figure_style import OTHER_COLOR, OUTLIER_COLOR, esc, topic_color
from dashboard.run_data import OUTLIER, OUTLIER_LABEL
from dashboard.trend_data import wilson
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


def _rgba(color: str, alpha: float) -> str:
    r, g, b = hex_to_rgb(color) if color.startswith("#") else unlabel_rgb(color)
    return f"rgba({r}, {g}, {b}, {alpha})"


def _band(
    fig: go.Figure,
    x: pd.Index,
    lo: np.ndarray,
    hi: np.ndarray,
    sparse_mask: np.ndarray,
    color: str,
    group: str,
) -> None:
    """The interval band under one share line: upper edge, then the lower edge filled up to
    it; sparse periods left out (a gap in the band as in the line)."""
    for edge, fill in ((hi, None), (lo, "tonexty")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.where(sparse_mask, np.nan, edge),
                mode="lines",
                line={"width": 0, "color": color},
                fill=fill,
                fillcolor=_rgba(color, 0.12),
                connectgaps=False,
                hoverinfo="skip",
                showlegend=False,
                legendgroup=group,
                meta="band",
            )
        )


def share_lines(
    matrix: pd.DataFrame,
    labels: Mapping[int, str],
    topics: list[int],
    period: str,
    partial: Iterable[pd.Timestamp] = (),
    counts: pd.DataFrame | None = None,
    totals: pd.Series | None = None,
    sparse: Iterable[pd.Timestamp] = (),
) -> go.Figure:
    """Share of all documents per period for the chosen topics; partial periods shaded.

    With ``counts`` and ``totals``, each line carries its 95% Wilson band and the hover gives
    the count, the period total and the interval. ``sparse`` periods (too few documents for a
    share) are faded open markers, left out of the line (so it is not joined through them)
    and of the band.
    """
    fig = go.Figure()
    sparse_mask = matrix.columns.isin(list(sparse))
    n = totals.reindex(matrix.columns).to_numpy(dtype=float) if totals is not None else None
    for t in topics:
        if t not in matrix.index:
            continue
        s = matrix.loc[t]
        name, color = esc(f"{t}: {labels.get(t, '')}", 50), topic_color(t)
        y = np.where(sparse_mask, np.nan, s.to_numpy(dtype=float))
        x_count = (
            counts.loc[t].reindex(matrix.columns).fillna(0).to_numpy(dtype=float)
            if counts is not None and t in counts.index
            else None
        )
        hover, custom = "%{x|%Y-%m-%d}: %{y:.1%}<extra>%{fullData.name}</extra>", None
        if x_count is not None and n is not None:
            lo, hi = wilson(x_count, n)
            _band(fig, s.index, lo, hi, sparse_mask, color, str(t))
            custom = np.column_stack([x_count, n, lo, hi])
            hover = (
                "%{x|%Y-%m-%d}: %{y:.1%} (%{customdata[0]:.0f} of %{customdata[1]:.0f}"
                " documents; 95% interval %{customdata[2]:.1%} to %{customdata[3]:.1%})"
                "<extra>%{fullData.name}</extra>"
            )
        fig.add_trace(
            go.Scatter(
                x=s.index,
                y=y,
                mode="lines+markers" if matrix.shape[1] <= 60 else "lines",
                name=name,
                line={"color": color, "width": 2},
                marker={"size": 4},
                connectgaps=False,
                customdata=custom,
                hovertemplate=hover,
                legendgroup=str(t),
                meta="share",
            )
        )
        if sparse_mask.any():
            ys = np.where(sparse_mask, s.to_numpy(dtype=float), np.nan)
            fig.add_trace(
                go.Scatter(
                    x=s.index,
                    y=ys,
                    mode="markers",
                    name=f"{name} (sparse)",
                    marker={"size": 7, "color": color, "opacity": 0.35, "symbol": "circle-open"},
                    customdata=custom,
                    hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}, too few documents for a share"
                    + ("" if custom is None else " (%{customdata[0]:.0f} of %{customdata[1]:.0f})")
                    + "<extra>%{fullData.name}</extra>",
                    showlegend=False,
                    legendgroup=str(t),
                    meta="sparse",
                )
            )
    return _share_layout(fig, partial, period, height=420, yaxis_title="share of documents")


def count_lines(
    counts: pd.DataFrame,
    labels: Mapping[int, str],
    topics: list[int],
    period: str,
    partial: Iterable[pd.Timestamp] = (),
    totals: pd.Series | None = None,
) -> go.Figure:
    """Documents per period for the chosen topics (a count needs no band and is never sparse)."""
    fig = go.Figure()
    n = None if totals is None else totals.reindex(counts.columns).to_numpy(dtype=float)
    for t in topics:
        if t not in counts.index:
            continue
        s = counts.loc[t]
        fig.add_trace(
            go.Scatter(
                x=s.index,
                y=s.to_numpy(dtype=float),
                mode="lines+markers" if counts.shape[1] <= 60 else "lines",
                name=esc(f"{t}: {labels.get(t, '')}", 50),
                line={"color": topic_color(t), "width": 2},
                marker={"size": 4},
                connectgaps=False,
                customdata=n,
                hovertemplate="%{x|%Y-%m-%d}: %{y:.0f}"
                + ("" if n is None else " of %{customdata:.0f}")
                + " documents<extra>%{fullData.name}</extra>",
                meta="count",
            )
        )
    fig = _share_layout(fig, partial, period, height=420, yaxis_title="documents")
    fig.update_layout(yaxis_tickformat=",d")
    return fig


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
    sparse: Iterable[pd.Timestamp] = (),
    value: str = "share",
) -> go.Figure:
    """Topic x period heatmap of shares (or counts), rows in the order given; partial periods
    are starred on the axis, sparse periods (shares only) are grey cells without a share."""
    rows = [t for t in topics if t in matrix.index]
    m = matrix.loc[rows]
    partial = set(partial)
    sparse_mask = m.columns.isin(list(sparse)) if value == "share" else np.zeros(m.shape[1], bool)
    xlab = [period_label(c, period) + (" *" if c in partial else "") for c in m.columns]
    ylab = [esc(f"{t}: {labels.get(t, '')}", 45) for t in rows]
    z = m.to_numpy(dtype=float, copy=True)
    z[:, sparse_mask] = np.nan
    is_share = value == "share"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xlab,
            y=ylab,
            colorscale="Blues",
            colorbar={
                "title": {"text": "share" if is_share else "documents"},
                "tickformat": ".0%" if is_share else ",d",
            },
            hovertemplate="%{y}<br>%{x}: "
            + ("%{z:.1%}" if is_share else "%{z:.0f}")
            + "<extra></extra>",
            hoverongaps=False,
            name=value,
        )
    )
    if sparse_mask.any():
        grey = np.where(sparse_mask[None, :] & np.ones((len(rows), 1), bool), 1.0, np.nan)
        fig.add_trace(
            go.Heatmap(
                z=grey,
                x=xlab,
                y=ylab,
                colorscale=[[0, "#e6e6e6"], [1, "#e6e6e6"]],
                showscale=False,
                hovertemplate="%{y}<br>%{x}: too few documents for a share<extra></extra>",
                hoverongaps=False,
                name="sparse",
            )
        )
    fig.update_layout(
        height=max(300, 22 * len(rows) + 120),
        margin={"l": 0, "r": 0, "t": 20, "b": 0},
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"type": "category"},
    )
    return fig
