"""The Topic map page's figure: every document in WebGL, and the selection read back.

No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.facet_data import MISSING
from dashboard.figure_style import (
    MAP_HEIGHT,
    OTHER_COLOR,
    OUTLIER_COLOR,
    PALETTE,
    esc,
    topic_color,
)
from dashboard.run_data import OUTLIER, OUTLIER_LABEL, hover_texts


def _blank_axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False, showgrid=False, zeroline=False)
    fig.update_yaxes(visible=False, showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)


def marker_size(n_points: int) -> float:
    """Dots shrink as the map fills: about 6 px for 300 documents, 3 px for 20,000 and up."""
    return float(np.clip(14.0 / max(n_points, 1) ** 0.15, 2.5, 8.0))


def _doc_trace(
    docs: pd.DataFrame,
    hover: np.ndarray,
    rows: np.ndarray,
    name: str,
    color: Any,
    size: float,
    faint: bool = False,
    **marker: Any,
) -> go.Scattergl:
    """Documents ``rows`` as one WebGL trace; ``faint`` for outliers and other background dots."""
    return go.Scattergl(
        x=docs["x"].to_numpy()[rows],
        y=docs["y"].to_numpy()[rows],
        mode="markers",
        name=name,
        customdata=rows,
        hovertext=hover[rows],
        hovertemplate="%{hovertext}<extra>%{fullData.name}</extra>",
        marker={
            "color": color,
            "size": size * (0.8 if faint else 1.0),
            "opacity": 0.5 if faint else 0.8,
            **marker,
        },
    )


def doc_map(
    docs: pd.DataFrame,
    topics: pd.DataFrame,
    *,
    color_by: str = "topic",
    color_kind: str | None = None,
    show_outliers: bool = True,
    mask: np.ndarray | None = None,
    label_top: int = 40,
    top_values: int = 12,
    hover: np.ndarray | None = None,
) -> go.Figure:
    """Every document at (x, y) in WebGL, coloured by topic or a metadata column.

    ``customdata`` of each point is its row position in ``docs``, so a box or lasso
    selection maps straight back to documents. Hover text is the title (shortened) and
    date only; the topic label is the trace name, sent once per topic, not per point.
    """
    hover = hover_texts(docs) if hover is None else hover
    keep = np.ones(len(docs), dtype=bool) if mask is None else np.asarray(mask, dtype=bool).copy()
    if not show_outliers:
        keep &= docs["topic"].to_numpy() != OUTLIER
    size = marker_size(int(keep.sum()))
    fig = go.Figure()
    if color_by == "topic" or color_kind is None:
        traces = _topic_traces(docs, topics, hover, keep, size)
    elif color_kind == "categorical":
        traces = _category_traces(docs, color_by, hover, keep, size, top_values)
    else:
        traces = _scale_traces(docs, color_by, color_kind, hover, keep, size)
    for trace in traces:
        fig.add_trace(trace)
    _label_topics(fig, topics, label_top)
    _blank_axes(fig)
    fig.update_layout(
        height=MAP_HEIGHT,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        uirevision="map",
        legend={
            "itemsizing": "constant",
            "x": 0.01,
            "y": 0.01,
            "xanchor": "left",
            "yanchor": "bottom",
            "bgcolor": "rgba(255,255,255,0.7)",
        },
        hovermode="closest",
    )
    return fig


def _topic_traces(
    docs: pd.DataFrame, topics: pd.DataFrame, hover: np.ndarray, keep: np.ndarray, size: float
) -> list[go.Scattergl]:
    """One trace per topic (outliers faint, first); no legend: hundreds of topics are
    labelled on the map instead."""
    topic = docs["topic"].to_numpy()
    traces = []
    out_rows = np.flatnonzero(keep & (topic == OUTLIER))
    if out_rows.size:
        traces.append(
            _doc_trace(docs, hover, out_rows, OUTLIER_LABEL, OUTLIER_COLOR, size, faint=True)
        )
    labels = dict(zip(topics["topic"].astype(int), topics["label"].astype(str), strict=True))
    order = np.argsort(topic, kind="stable")
    bounds = np.searchsorted(topic[order], np.unique(topic[keep]), side="left")
    for t, lo in zip(np.unique(topic[keep]), bounds, strict=True):
        if t == OUTLIER:
            continue
        rows = np.sort(order[lo : lo + int((topic == t).sum())])
        rows = rows[keep[rows]]
        name = esc(f"{t}: {labels.get(int(t), '')}", 60)
        trace = _doc_trace(docs, hover, rows, name, topic_color(int(t)), size)
        trace.showlegend = False
        traces.append(trace)
    return traces


def _category_traces(
    docs: pd.DataFrame,
    column: str,
    hover: np.ndarray,
    keep: np.ndarray,
    size: float,
    top_values: int,
) -> list[go.Scattergl]:
    """One trace per frequent value of a categorical column, the rest as "other values"."""
    values = docs[column].astype(str).to_numpy()
    vc = pd.Series(values[keep]).value_counts()
    top = [v for v in vc.index[:top_values] if v != MISSING]
    traces = [
        _doc_trace(
            docs,
            hover,
            np.flatnonzero(keep & (values == v)),
            esc(v, 40),
            PALETTE[i % len(PALETTE)],
            size,
        )
        for i, v in enumerate(top)
    ]
    rows = np.flatnonzero(keep & ~np.isin(values, top))
    if rows.size:
        traces.append(_doc_trace(docs, hover, rows, "other values", OTHER_COLOR, size, faint=True))
    return traces


def _scale_traces(
    docs: pd.DataFrame,
    column: str,
    kind: str,
    hover: np.ndarray,
    keep: np.ndarray,
    size: float,
) -> list[go.Scattergl]:
    """A numeric or date column as a colour scale (dates by year); missing values faint."""
    col = docs[column]
    if kind == "date":
        num = pd.to_datetime(col).dt.year.to_numpy(dtype=float)
    else:
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    traces = []
    rows = np.flatnonzero(keep & np.isnan(num))
    if rows.size:
        name = "missing " + esc(column)
        traces.append(_doc_trace(docs, hover, rows, name, OTHER_COLOR, size, faint=True))
    rows = np.flatnonzero(keep & ~np.isnan(num))
    title = esc(column) + (" (year)" if kind == "date" else "")
    traces.append(
        _doc_trace(
            docs,
            hover,
            rows,
            esc(column),
            num[rows],
            size,
            colorscale="Viridis",
            showscale=True,
            colorbar={"title": {"text": title}},
        )
    )
    return traces


def _label_topics(fig: go.Figure, topics: pd.DataFrame, label_top: int) -> None:
    """Labels of the largest topics at their positions, on a light backing to stay legible."""
    for r in topics.sort_values("size", ascending=False).head(label_top).itertuples(index=False):
        fig.add_annotation(
            x=float(r.x),
            y=float(r.y),
            text=esc(_short_label(r.label), 40),
            showarrow=False,
            font={"size": 11, "color": "#1f1f1f"},
            bgcolor="rgba(255,255,255,0.65)",
            borderpad=1,
        )


def _short_label(label: object) -> str:
    parts = str(label).split(" · ")
    return " · ".join(parts[:2])


def selected_rows(event: Mapping[str, Any] | None) -> list[int]:
    """Document rows picked by a box/lasso selection on ``doc_map`` (via customdata)."""
    if not event:
        return []
    points = (event.get("selection") or {}).get("points") or []
    rows = []
    for p in points:
        cd = p.get("customdata")
        if isinstance(cd, list | tuple):
            cd = cd[0] if cd else None
        if cd is None:
            continue
        try:
            rows.append(int(cd))
        except (TypeError, ValueError):
            continue
    return sorted(set(rows))
