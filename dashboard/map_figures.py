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
    topic = docs["topic"].to_numpy()
    if not show_outliers:
        keep &= topic != OUTLIER
    size = marker_size(int(keep.sum()))
    fig = go.Figure()
    if color_by == "topic" or color_kind is None:
        out_rows = np.flatnonzero(keep & (topic == OUTLIER))
        if out_rows.size:
            fig.add_trace(
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
            # Hundreds of topics: labels on the map instead of a legend.
            trace = _doc_trace(docs, hover, rows, name, topic_color(int(t)), size)
            trace.showlegend = False
            fig.add_trace(trace)
    elif color_kind == "categorical":
        values = docs[color_by].astype(str).to_numpy()
        vc = pd.Series(values[keep]).value_counts()
        top = [v for v in vc.index[:top_values] if v != MISSING]
        for i, v in enumerate(top):
            rows = np.flatnonzero(keep & (values == v))
            fig.add_trace(
                _doc_trace(docs, hover, rows, esc(v, 40), PALETTE[i % len(PALETTE)], size)
            )
        rows = np.flatnonzero(keep & ~np.isin(values, top))
        if rows.size:
            fig.add_trace(
                _doc_trace(docs, hover, rows, "other values", OTHER_COLOR, size, faint=True)
            )
    else:
        col = docs[color_by]
        if color_kind == "date":
            num = pd.to_datetime(col).dt.year.to_numpy(dtype=float)
        else:
            num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        rows = np.flatnonzero(keep & np.isnan(num))
        if rows.size:
            fig.add_trace(
                _doc_trace(
                    docs, hover, rows, "missing " + esc(color_by), OTHER_COLOR, size, faint=True
                )
            )
        rows = np.flatnonzero(keep & ~np.isnan(num))
        title = esc(color_by) + (" (year)" if color_kind == "date" else "")
        colorbar = {"title": {"text": title}}
        fig.add_trace(
            _doc_trace(
                docs,
                hover,
                rows,
                esc(color_by),
                num[rows],
                size,
                colorscale="Viridis",
                showscale=True,
                colorbar=colorbar,
            )
        )
    # Labels of the largest topics at their positions, on a light backing to stay legible.
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
