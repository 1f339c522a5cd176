"""Plotly figures for the pages. No Streamlit here.

Every string that comes from the corpus (titles, labels, metadata values) goes through
``esc`` before it reaches a figure: Plotly renders a subset of HTML in text and hover
labels (``<a href>``, ``<b>``...), and escaped text is shown literally instead.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from dashboard.data import MISSING, OUTLIER, OUTLIER_LABEL
from pipeline.periods import period_end, period_label

PALETTE: tuple[str, ...] = tuple(qualitative.Dark24 + qualitative.Alphabet + qualitative.Light24)
OUTLIER_COLOR = "#c4c4c4"
OTHER_COLOR = "#9e9e9e"
SELECTED_COLOR = "#e4572e"
BAR_COLOR = "#4c78a8"
MAP_HEIGHT = 640
HOVER_TITLE_CHARS = 80


def esc(value: object, limit: int | None = None) -> str:
    """Corpus text made safe and literal for Plotly (and shortened to ``limit`` characters)."""
    s = "" if value is None else str(value)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return html.escape(s, quote=False)


def topic_color(topic: int) -> str:
    return OUTLIER_COLOR if topic == OUTLIER else PALETTE[topic % len(PALETTE)]


def hover_texts(docs: pd.DataFrame) -> np.ndarray:
    """Per-document hover text for the map: escaped, shortened title and the date.

    Vectorised, and memoised per run by ``RunData.hover``: at 60,000 documents this is the
    bulk of building the map, and the text never changes.
    """
    titles = docs["title"].fillna("").astype(str)
    long = titles.str.len() > HOVER_TITLE_CHARS
    short = titles.str.slice(0, HOVER_TITLE_CHARS - 1).str.rstrip() + "…"
    titles = short.where(long, titles)
    titles = (
        titles.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
    )
    dates = pd.to_datetime(docs["date"]).dt.strftime("%Y-%m-%d")
    with_date = titles + "<br>" + dates.fillna("")
    return with_date.where(dates.notna(), titles).to_numpy(dtype=object)


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
    _mark_partial(fig, partial, period)
    fig.update_layout(
        height=420,
        margin={"l": 0, "r": 0, "t": 20, "b": 0},
        yaxis_tickformat=".0%",
        yaxis_title="share of documents",
        legend={"orientation": "h", "y": -0.15},
        hovermode="x unified",
    )
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
    _mark_partial(fig, partial, period)
    fig.update_layout(
        height=460,
        margin={"l": 0, "r": 0, "t": 20, "b": 0},
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1],
        legend={"orientation": "h", "y": -0.15},
        hovermode="x unified",
    )
    return fig


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


def facet_bar(counts: pd.DataFrame, selected: Iterable[str] = (), column: str = "") -> go.Figure:
    """Top values of a categorical column; ``customdata`` carries the raw value for selection."""
    sel = {str(s) for s in selected}
    c = counts.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=c["count"],
            y=[esc(v, 50) for v in c["value"]],
            orientation="h",
            customdata=c["value"].astype(str).to_numpy(),
            marker={"color": [SELECTED_COLOR if v in sel else BAR_COLOR for v in c["value"]]},
            hovertemplate="%{y}: %{x} documents<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(200, 22 * len(c) + 60),
        margin={"l": 0, "r": 10, "t": 30, "b": 20},
        title={"text": esc(column), "font": {"size": 14}},
        yaxis={"type": "category"},
        clickmode="event+select",
    )
    return fig


def facet_hist(
    bins: pd.DataFrame, kind: str, selected: tuple[Any, Any] | None = None, column: str = ""
) -> go.Figure:
    """Histogram of a numeric or date column as bars whose ``customdata`` is [lo, hi]."""
    if kind == "date":
        lo, hi = pd.to_datetime(bins["lo"]), pd.to_datetime(bins["hi"])
        x = lo + (hi - lo) / 2
        width = (hi - lo).dt.total_seconds().to_numpy() * 1000.0
        cd = np.column_stack(
            [lo.dt.strftime("%Y-%m-%d"), (hi - pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")]
        )
        in_sel = np.zeros(len(bins), dtype=bool)
        if selected:
            s_lo, s_hi = pd.Timestamp(selected[0]), pd.Timestamp(selected[1]) + pd.Timedelta(days=1)
            in_sel = ((lo < s_hi) & (hi > s_lo)).to_numpy()
    else:
        lo, hi = bins["lo"].astype(float), bins["hi"].astype(float)
        x = (lo + hi) / 2
        width = (hi - lo).to_numpy()
        cd = np.column_stack([lo.to_numpy(), hi.to_numpy()])
        in_sel = np.zeros(len(bins), dtype=bool)
        if selected:
            in_sel = ((lo <= float(selected[1])) & (hi >= float(selected[0]))).to_numpy()
    fig = go.Figure(
        go.Bar(
            x=x,
            y=bins["count"],
            width=width,
            customdata=cd,
            marker={
                "color": [SELECTED_COLOR if s else BAR_COLOR for s in in_sel],
                "line": {"width": 0.5, "color": "white"},
            },
            hovertemplate="%{customdata[0]} .. %{customdata[1]}: %{y} documents<extra></extra>",
        )
    )
    fig.update_layout(
        height=260,
        margin={"l": 0, "r": 10, "t": 30, "b": 20},
        title={"text": esc(column), "font": {"size": 14}},
        bargap=0.02,
        clickmode="event+select",
    )
    return fig


def picked_values(event: Mapping[str, Any] | None) -> list[Any]:
    """customdata of the bars picked on a facet chart (values, or [lo, hi] pairs)."""
    if not event:
        return []
    points = (event.get("selection") or {}).get("points") or []
    out = []
    for p in points:
        cd = p.get("customdata")
        if cd is not None and cd not in out:
            out.append(cd)
    return out


def hierarchy_icicle(tree: pd.DataFrame, selected: int | None = None) -> go.Figure:
    """The topic tree as an icicle: merge nodes labelled by their keywords, leaves by topic."""
    ids = tree["node"].astype(str).tolist()
    parents = ["" if p < 0 else str(p) for p in tree["parent"]]
    labels = [
        esc(f"{n}: {lab}" if leaf else lab, 40)
        for n, lab, leaf in zip(tree["node"], tree["label"], tree["leaf"], strict=True)
    ]
    colors = [
        topic_color(int(n)) if leaf else "#dde3ea"
        for n, leaf in zip(tree["node"], tree["leaf"], strict=True)
    ]
    line = [3 if int(n) == selected else 0.5 for n in tree["node"]]
    fig = go.Figure(
        go.Icicle(
            ids=ids,
            parents=parents,
            labels=labels,
            values=tree["size"].astype(int),
            branchvalues="total",
            customdata=tree["node"].astype(int).to_numpy(),
            marker={"colors": colors, "line": {"width": line, "color": "#333"}},
            hovertemplate="%{label}<br>%{value} documents<extra></extra>",
            tiling={"orientation": "h"},
            root={"color": "#f4f6f8"},
            maxdepth=6,
        )
    )
    fig.update_layout(height=620, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return fig


def hierarchy_dendrogram(tree: pd.DataFrame, selected: int | None = None) -> go.Figure:
    """The topic tree as a dendrogram: every topic on its own labelled row, merges at their
    linkage distance. Node and leaf markers carry their node id (``customdata``) for clicks."""
    children: dict[int, list[int]] = {}
    for n, p in zip(tree["node"].astype(int), tree["parent"].astype(int), strict=True):
        if p >= 0:
            children.setdefault(p, []).append(n)
    by_node = tree.set_index(tree["node"].astype(int))
    roots = [int(n) for n in tree.loc[tree["parent"] < 0, "node"]]
    merge_d = [
        float(d)
        for d, leaf in zip(tree["distance"], tree["leaf"], strict=True)
        if not leaf and d > 0
    ]
    top = max(merge_d, default=1.0)
    # Leaves sit just left of the first merge, so the merges use the width of the chart.
    base = max(0.0, min(merge_d) - 0.08 * (top - min(merge_d))) if len(merge_d) > 1 else 0.0
    pos: dict[int, tuple[float, float]] = {}
    order: list[int] = []

    def place(n: int) -> tuple[float, float]:  # iterative would be longer; depth <= topics
        kids = sorted(children.get(n, []), key=lambda c: -int(by_node.loc[c, "size"]))
        if not kids:
            order.append(n)
            pos[n] = (base, float(len(order) - 1))
            return pos[n]
        ys = [place(c)[1] for c in kids]
        x = float(by_node.loc[n, "distance"]) or top * 1.05
        pos[n] = (x, (min(ys) + max(ys)) / 2)
        return pos[n]

    for r in roots:
        place(r)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for n, kids in children.items():
        x, _ = pos[n]
        cy = [pos[c][1] for c in kids]
        xs += [x, x, None]
        ys += [min(cy), max(cy), None]
        for c in kids:
            xs += [pos[c][0], x, None]
            ys += [pos[c][1], pos[c][1], None]
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#8a94a6", "width": 1.2},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    merges = [n for n in pos if not bool(by_node.loc[n, "leaf"])]
    leaves = [n for n in order if bool(by_node.loc[n, "leaf"])]
    for group, is_leaf in ((merges, False), (leaves, True)):
        if not group:
            continue
        fig.add_trace(
            go.Scatter(
                x=[pos[n][0] for n in group],
                y=[pos[n][1] for n in group],
                mode="markers",
                showlegend=False,
                customdata=np.array(group, dtype=np.int64),
                hovertext=[
                    esc(f"{'topic' if is_leaf else 'node'} {n}: {by_node.loc[n, 'label']}", 70)
                    + f"<br>{int(by_node.loc[n, 'size']):,} documents"
                    for n in group
                ],
                hovertemplate="%{hovertext}<extra></extra>",
                marker={
                    "size": [13 if n == selected else (8 if is_leaf else 7) for n in group],
                    "color": [
                        topic_color(n) if is_leaf else ("#e4572e" if n == selected else "#52607a")
                        for n in group
                    ],
                    "line": {"width": [2 if n == selected else 0 for n in group], "color": "#222"},
                },
            )
        )
    fig.update_yaxes(
        tickvals=list(range(len(order))),
        ticktext=[esc(f"{n}: {by_node.loc[n, 'label']}", 45) for n in order],
        autorange="reversed",
        showgrid=False,
        zeroline=False,
    )
    fig.update_xaxes(title="merge distance", showgrid=True, zeroline=False)
    fig.update_layout(
        height=max(360, 18 * len(order) + 90),
        margin={"l": 0, "r": 10, "t": 10, "b": 40},
        clickmode="event+select",
        hovermode="closest",
    )
    return fig


# --------------------------------------------------------------------------- updates

RELATION_COLORS: dict[str, str] = {
    "same": "#9e9e9e",
    "grew": "#54a24b",
    "split": "#f58518",
    "merged": "#4c78a8",
    "new": "#e45756",
    "gone": "#b279a2",
}
NEW_NODE = "(new)"
GONE_NODE = "(gone)"


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _topic_node(topic: int, label: object) -> str:
    return esc(f"#{topic} {'' if label is None else label}", 50)


def lineage_sankey(
    lineage: pd.DataFrame,
    current_sizes: Mapping[int, int] | None = None,
    previous_sizes: Mapping[int, int] | None = None,
) -> go.Figure:
    """The previous build's topics (left) flowing into the current ones (right).

    One link per lineage row, as wide as the documents the two topics share; a ``new``
    topic flows in from a "(new)" node and a ``gone`` one out to "(gone)", as wide as the
    topic (``current_sizes`` / ``previous_sizes``; 1 when unknown). Links are coloured by
    relation; node labels are "#id label", escaped.
    """
    current_sizes = current_sizes or {}
    previous_sizes = previous_sizes or {}
    # Node keys: a topic id, or None for the "(new)" (left) / "(gone)" (right) placeholder.
    left: dict[int | None, int] = {}
    right: dict[int | None, int] = {}
    names: tuple[list[str], list[str]] = ([], [])

    def node(side: int, key: int | None, label: object) -> int:
        nodes = (left, right)[side]
        if key not in nodes:
            nodes[key] = len(nodes)
            if key is None:
                names[side].append(NEW_NODE if side == 0 else GONE_NODE)
            else:
                names[side].append(_topic_node(key, None if pd.isna(label) else label))
        return nodes[key]

    links: list[tuple[int, int, float, str, str]] = []  # source, target, value, relation, hover
    for r in lineage.itertuples(index=False):
        rel = str(r.relation)
        prev = None if pd.isna(r.previous_topic) else int(r.previous_topic)
        cur = None if pd.isna(r.topic) else int(r.topic)
        if prev is None and cur is None:
            continue
        shared = 0 if pd.isna(r.shared_documents) else int(r.shared_documents)
        s = node(0, prev, getattr(r, "previous_label", None))
        t = node(1, cur, getattr(r, "label", None))
        if prev is None:
            value = float(shared or current_sizes.get(cur, 1))
            what = f"{value:,.0f} documents"
        elif cur is None:
            value = float(shared or previous_sizes.get(prev, 1))
            what = f"{value:,.0f} documents"
        else:
            value = float(max(shared, 1))
            overlap = getattr(r, "document_overlap", None)
            share = (
                ""
                if overlap is None or pd.isna(overlap)
                else f", {float(overlap):.0%} of its documents"
            )
            what = f"{shared:,} shared documents{share}"
        links.append((s, t, value, rel, esc(f"{rel}: {what}")))

    n_left = len(left)
    labels = names[0] + names[1]
    node_colors = [OTHER_COLOR if k is None else topic_color(k) for k in (*left, *right)]
    xs = [0.001] * n_left + [0.999] * len(right)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "color": node_colors,
                "x": xs,
                "pad": 6,
                "thickness": 14,
                "hovertemplate": "%{label}<br>%{value:,.0f} documents<extra></extra>",
            },
            link={
                "source": [s for s, _, _, _, _ in links],
                "target": [n_left + t for _, t, _, _, _ in links],
                "value": [v for _, _, v, _, _ in links],
                "color": [
                    _rgba(RELATION_COLORS.get(rel, OTHER_COLOR), 0.45) for *_, rel, _ in links
                ],
                "customdata": [h for *_, h in links],
                "hovertemplate": "%{source.label} → %{target.label}<br>%{customdata}<extra></extra>",
            },
        )
    )
    fig.update_layout(
        height=int(min(2400, max(360, 22 * max(n_left, len(right), 1)))),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        font={"size": 11},
        annotations=[
            {
                "x": 0,
                "y": 1.04,
                "xref": "paper",
                "yref": "paper",
                "text": "previous build",
                "showarrow": False,
                "xanchor": "left",
            },
            {
                "x": 1,
                "y": 1.04,
                "xref": "paper",
                "yref": "paper",
                "text": "this build",
                "showarrow": False,
                "xanchor": "right",
            },
        ],
    )
    return fig


def topic_history_figure(history: pd.DataFrame, topic: int) -> go.Figure:
    """A topic's size at every step of the run, with its relation and any new label marked.

    ``history`` is ``topic_history.parquet`` (every topic); steps where the topic was not
    ``same`` or changed its label get an annotation ("grew", "split", "label: ...").
    """
    h = history[history["topic"] == topic].sort_values("step", kind="stable")
    steps = h["step"].astype(int).tolist()
    sizes = h["size"].astype(int).tolist()
    dates = [str(d)[:10] for d in h["created_at"]] if "created_at" in h.columns else [""] * len(h)
    labels = h["label"].astype(str).tolist()
    relations = h["relation"].astype(str).tolist()
    fig = go.Figure(
        go.Scatter(
            x=steps,
            y=sizes,
            mode="lines+markers",
            line={"color": topic_color(int(topic))},
            customdata=[
                [esc(rel), esc(lab, 80), esc(d)]
                for rel, lab, d in zip(relations, labels, dates, strict=True)
            ],
            hovertemplate=(
                "step %{x} (%{customdata[2]})<br>%{y:,} documents<br>%{customdata[0]}"
                "<br>%{customdata[1]}<extra></extra>"
            ),
        )
    )
    previous_label: str | None = None
    for x, y, rel, lab in zip(steps, sizes, relations, labels, strict=True):
        notes = [rel] if rel != "same" else []
        if previous_label is not None and lab != previous_label:
            notes.append("label: " + lab)
        previous_label = lab
        if notes:
            fig.add_annotation(
                x=x,
                y=y,
                text="<br>".join(esc(n, 60) for n in notes),
                showarrow=True,
                arrowhead=0,
                ax=0,
                ay=-30,
                font={"size": 11},
                bgcolor="rgba(255,255,255,0.7)",
            )
    fig.update_layout(
        height=260,
        margin={"l": 0, "r": 10, "t": 40, "b": 30},
        xaxis={"title": "step", "tickmode": "array", "tickvals": steps},
        yaxis={"title": "documents", "rangemode": "tozero"},
        showlegend=False,
    )
    return fig
