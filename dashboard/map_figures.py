"""The Topic map page's figure: documents in WebGL (or a density image and a sample above
the point budget), labels that do not overlap, and the selection read back.

No Streamlit here. The numbers come from ``map_data`` (view, sample, density, selection)
and ``map_layout`` (label placement, colours).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.facet_data import MISSING
from dashboard.figure_style import (
    MAP_HEIGHT,
    MAP_PALETTE,
    OTHER_COLOR,
    OUTLIER_COLOR,
    PALETTE,
    esc,
    topic_color,
)
from dashboard.map_data import Extent, MapPoints, density_grid, map_points, stratified_sample
from dashboard.map_layout import (
    LABEL_FONT_PX,
    branch_colors,
    branches,
    distinct_colors,
    place_labels,
)
from dashboard.run_data import OUTLIER, OUTLIER_LABEL, date_strings

BEYOND_SYMBOL = "diamond-open"
BEYOND_CODE = 102  # plotly's number for BEYOND_SYMBOL: one byte a point instead of a word
CIRCLE_CODE = 0
HOVER_TITLE_CHARS = 48  # one line of hover; the selection's table has the whole title
DENSITY_STEPS = 16  # density levels per factor of e in the count: uint8 up to 8.6e6 a cell
BEYOND_NOTE = "<br><i>far out: drawn at the edge of the view</i>"
DENSITY_NAME = "density (all documents)"
BRANCH_COLORS = "topic-branch"  # the "Colour by" choice: topics by hierarchy branch
N_BRANCHES = 8


def _blank_axes(fig: go.Figure, extent: Extent) -> None:
    """Hidden axes showing ``extent`` at equal scales (plotly widens one range to keep them)."""
    fig.update_xaxes(visible=False, showgrid=False, zeroline=False, range=[extent.x0, extent.x1])
    fig.update_yaxes(
        visible=False,
        showgrid=False,
        zeroline=False,
        range=[extent.y0, extent.y1],
        scaleanchor="x",
        scaleratio=1,
    )


def marker_size(n_points: int) -> float:
    """Dots shrink as the map fills: about 6 px for 300 documents, 3 px for 20,000 and up."""
    return float(np.clip(14.0 / max(n_points, 1) ** 0.15, 2.5, 8.0))


def hover_texts(docs: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hover text of documents ``rows``: (escaped titles cut to ``HOVER_TITLE_CHARS``,
    dates written to their precision: 2024-03-05, 2024-03 or 2024, '' when undated).

    Built for the drawn points only (at most the point budget), never for the whole run.
    The two go in separate arrays (``hovertext`` and ``text``), joined by the trace's
    hovertemplate: a ``<br>`` inside each point's string would cost 14 bytes a point, as
    plotly's JSON writes ``<`` and ``>`` as ``\\u003c`` and ``\\u003e``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    titles = pd.Series(docs["title"].to_numpy()[rows], dtype=object).fillna("").astype(str)
    long = titles.str.len() > HOVER_TITLE_CHARS
    short = titles.str.slice(0, HOVER_TITLE_CHARS - 1).str.rstrip() + "…"
    titles = (
        short.where(long, titles)
        .str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
    )
    if "date" not in docs.columns:
        return titles.to_numpy(dtype=object), np.full(len(rows), "", dtype=object)
    dates = pd.Series(docs["date"].to_numpy()[rows])
    if "date_precision" in docs.columns:
        precision = pd.Series(docs["date_precision"].to_numpy()[rows], dtype=object)
    else:
        precision = pd.Series(["day"] * len(rows), dtype=object)
    return titles.to_numpy(dtype=object), date_strings(dates, precision).to_numpy(dtype=object)


@dataclass(frozen=True)
class _Draw:
    """What every trace of one view shares: drawn coordinates, hover text, marker size."""

    docs: pd.DataFrame
    points: MapPoints
    pos: np.ndarray  # row position -> index into points (-1: not in this view)
    drawn: np.ndarray  # the drawn rows, sorted
    titles: np.ndarray  # hover titles of ``drawn``, in the same order
    dates: np.ndarray  # and their dates
    size: float


def _doc_trace(
    d: _Draw,
    rows: np.ndarray,
    name: str,
    color: Any,
    faint: bool = False,
    **marker: Any,
) -> go.Scattergl:
    """Documents ``rows`` as one WebGL trace; ``faint`` for outliers and other background dots.

    Documents beyond the view's range sit on its edge as open diamonds, and their hover says so.
    Every per-point array is numbers (sent as binary) but the title and the date; the
    trace's name (the topic) goes once, shown in the hover's second box.
    """
    at = d.pos[rows]
    beyond = d.points.beyond[at]
    i = np.searchsorted(d.drawn, rows)
    dates = d.dates[i]
    if beyond.any():
        note = np.where(dates == "", BEYOND_NOTE.removeprefix("<br>"), BEYOND_NOTE)
        dates = np.where(beyond, dates + note, dates)
    second = "<br>%{text}" if (dates != "").any() else ""
    return go.Scattergl(
        x=d.points.x[at],
        y=d.points.y[at],
        mode="markers",
        name=name,
        customdata=rows,
        hovertext=d.titles[i],
        text=dates if second else None,
        hovertemplate="%{hovertext}" + second + "<extra>%{fullData.name}</extra>",
        marker={
            "color": color,
            "size": d.size * (0.8 if faint else 1.0),
            "opacity": 0.5 if faint else 0.8,
            **(
                {"symbol": np.where(beyond, BEYOND_CODE, CIRCLE_CODE).astype(np.uint8)}
                if beyond.any()
                else {}
            ),
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
    label_top: int = 60,
    top_values: int = 12,
    budget: int | None = None,
    points: MapPoints | None = None,
    colors: Mapping[int, str] | None = None,
) -> go.Figure:
    """The documents at (x, y) in WebGL, coloured by topic or a metadata column.

    ``customdata`` of each point is its row position in ``docs``, so a selection maps
    straight back to documents. Hover text is the title (shortened) and date only
    (``hover_texts``, for the drawn points); the topic label is the trace name, sent once
    per topic, not per point.

    ``points`` is the view (``map_data.map_points``: the robust range by default, or a
    zoomed box); above ``budget`` documents in it, a density image of all of them is drawn
    under a sample stratified by topic (``map_data.stratified_sample``). ``colors`` maps
    topic -> colour (``map_layout``), else colours follow topic ids.
    """
    keep = np.ones(len(docs), dtype=bool) if mask is None else np.asarray(mask, dtype=bool).copy()
    if not show_outliers:
        keep &= docs["topic"].to_numpy() != OUTLIER
    if points is None:
        points = map_points(docs["x"].to_numpy(), docs["y"].to_numpy(), keep)
    drawn = points.rows
    fig = go.Figure()
    if budget is not None and len(drawn) > budget:
        topic = docs["topic"].to_numpy()[points.rows]
        drawn = points.rows[stratified_sample(topic, budget)]
        fig.add_trace(density_trace(points))
    pos = np.full(len(docs), -1, dtype=np.int64)
    pos[points.rows] = np.arange(len(points.rows))
    shown = np.zeros(len(docs), dtype=bool)
    shown[drawn] = True
    drawn = np.sort(drawn)
    titles, dates = hover_texts(docs, drawn)
    d = _Draw(docs, points, pos, drawn, titles, dates, marker_size(len(drawn)))
    if color_by == "topic" or color_kind is None:
        traces = _topic_traces(d, topics, shown, colors or {})
    elif color_kind == "categorical":
        traces = _category_traces(d, color_by, shown, top_values)
    else:
        traces = _scale_traces(d, color_by, color_kind, shown)
    for trace in traces:
        fig.add_trace(trace)
    _label_topics(fig, topics, points.extent, label_top)
    _blank_axes(fig, points.extent)
    fig.update_layout(
        height=MAP_HEIGHT,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        uirevision=points.extent.to_param(),
        meta={"drawn": int(len(drawn)), "in_view": int(len(points.rows))},
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


def topic_colors(topics: pd.DataFrame, hierarchy: pd.DataFrame, scheme: str) -> dict[int, str]:
    """Topic -> colour: ``distinct`` gives map neighbours clearly different colours, ``branch``
    one hue per hierarchy branch (``N_BRANCHES``), shaded per topic."""
    t = topics[topics["topic"].astype(int) != OUTLIER]
    ids = t["topic"].astype(int).tolist()
    sizes = dict(zip(ids, t["size"].astype(int), strict=True))
    if scheme == "branch":
        return branch_colors(branches(hierarchy, ids, N_BRANCHES), MAP_PALETTE, sizes)
    colors = distinct_colors(
        t["x"].to_numpy(float), t["y"].to_numpy(float), t["size"].to_numpy(), MAP_PALETTE
    )
    return dict(zip(ids, colors, strict=True))


def density_levels(counts: np.ndarray) -> np.ndarray:
    """Cell counts as one byte each on a log scale: 0 for an empty cell, else
    ``DENSITY_STEPS * ln(1 + count)`` rounded (at least 1). Steps of about 6% in the count
    are finer than the grey scale shows, and a byte a cell is an eighth of a float."""
    level = np.rint(DENSITY_STEPS * np.log1p(counts))
    return np.where(counts > 0, np.clip(level, 1, 255), 0).astype(np.uint8)


def density_trace(points: MapPoints) -> go.Heatmap:
    """Every document in view binned into square cells, drawn as a grey image (log scale,
    ``density_levels``); empty cells are transparent. Not selectable: selections are
    computed on the server."""
    counts, xc, yc = density_grid(points.x, points.y, points.extent)
    z = density_levels(counts)
    top = max(int(z.max()), 2)
    return go.Heatmap(
        x=xc.astype(np.float32),
        y=yc.astype(np.float32),
        z=z,
        name=DENSITY_NAME,
        # 0 (empty) is transparent; level 1 and up go from light to dark grey.
        colorscale=[
            [0.0, "rgba(207,212,220,0)"],
            [0.5 / top, "rgba(207,212,220,0)"],
            [1.0 / top, "#cfd4dc"],
            [1.0, "#1f2633"],
        ],
        zmin=0,
        zmax=top,
        showscale=False,
        hoverinfo="skip",
        zsmooth=False,
        opacity=0.8,
    )


def _topic_traces(
    d: _Draw, topics: pd.DataFrame, shown: np.ndarray, colors: Mapping[int, str]
) -> list[go.Scattergl]:
    """One trace per topic (outliers faint, first); no legend: hundreds of topics are
    labelled on the map instead."""
    topic = d.docs["topic"].to_numpy()
    traces = []
    out_rows = np.flatnonzero(shown & (topic == OUTLIER))
    if out_rows.size:
        traces.append(_doc_trace(d, out_rows, OUTLIER_LABEL, OUTLIER_COLOR, faint=True))
    labels = dict(zip(topics["topic"].astype(int), topics["label"].astype(str), strict=True))
    rows_all = np.flatnonzero(shown)
    t_rows = topic[rows_all]
    order = np.argsort(t_rows, kind="stable")
    uniq, starts, counts = np.unique(t_rows[order], return_index=True, return_counts=True)
    for t, lo, n in zip(uniq, starts, counts, strict=True):
        if t == OUTLIER:
            continue
        rows = rows_all[order[lo : lo + n]]
        name = esc(f"{t}: {labels.get(int(t), '')}", 60)
        color = colors.get(int(t)) or topic_color(int(t))
        trace = _doc_trace(d, rows, name, color)
        trace.showlegend = False
        traces.append(trace)
    return traces


def _category_traces(
    d: _Draw, column: str, shown: np.ndarray, top_values: int
) -> list[go.Scattergl]:
    """One trace per frequent value of a categorical column, the rest as "other values"."""
    values = d.docs[column].astype(str).to_numpy()
    vc = pd.Series(values[shown]).value_counts()
    top = [v for v in vc.index[:top_values] if v != MISSING]
    traces = [
        _doc_trace(d, np.flatnonzero(shown & (values == v)), esc(v, 40), PALETTE[i % len(PALETTE)])
        for i, v in enumerate(top)
    ]
    rows = np.flatnonzero(shown & ~np.isin(values, top))
    if rows.size:
        traces.append(_doc_trace(d, rows, "other values", OTHER_COLOR, faint=True))
    return traces


def _scale_traces(d: _Draw, column: str, kind: str, shown: np.ndarray) -> list[go.Scattergl]:
    """A numeric or date column as a colour scale (dates by year); missing values faint."""
    col = d.docs[column]
    if kind == "date":
        num = pd.to_datetime(col).dt.year.to_numpy(dtype=float)
    else:
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    traces = []
    rows = np.flatnonzero(shown & np.isnan(num))
    if rows.size:
        traces.append(_doc_trace(d, rows, "missing " + esc(column), OTHER_COLOR, faint=True))
    rows = np.flatnonzero(shown & ~np.isnan(num))
    title = esc(column) + (" (year)" if kind == "date" else "")
    traces.append(
        _doc_trace(
            d,
            rows,
            esc(column),
            num[rows].astype(np.float32),  # a colour needs no more: 4 bytes a point, not 8
            colorscale="Viridis",
            showscale=True,
            colorbar={"title": {"text": title}},
        )
    )
    return traces


def _label_topics(fig: go.Figure, topics: pd.DataFrame, extent: Extent, limit: int) -> None:
    """Labels at topic centres, largest topics first, none overlapping another at the
    default view (``map_layout.place_labels``); the rest are in the hover."""
    t = topics[topics["topic"].astype(int) != OUTLIER]
    texts = [esc(_short_label(v), 40) for v in t["label"]]
    x, y = t["x"].to_numpy(dtype=float), t["y"].to_numpy(dtype=float)
    plain = [html.unescape(v) for v in texts]  # the box is sized by the characters shown
    placed = place_labels(x, y, plain, t["size"].to_numpy(), extent, limit=limit)
    # One layout update: add_annotation one by one re-validates every earlier annotation.
    fig.update_layout(
        annotations=[
            {
                "x": float(x[i]),
                "y": float(y[i]),
                "xshift": dx,
                "yshift": dy,
                "text": texts[i],
                "showarrow": False,
                "font": {"size": LABEL_FONT_PX, "color": "#1f1f1f"},
                "bgcolor": "rgba(255,255,255,0.65)",
                "borderpad": 1,
            }
            for i, dx, dy in placed
        ]
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
