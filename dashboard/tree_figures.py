"""The Hierarchy page's figures: the topic tree as an icicle and as a dendrogram. No Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figure_style import esc, topic_color


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


Positions = dict[int, tuple[float, float]]


def _dendrogram_layout(
    tree: pd.DataFrame,
) -> tuple[dict[int, list[int]], pd.DataFrame, Positions, list[int]]:
    """Children per node, the tree by node id, each node's (distance, row) and the leaves
    top to bottom (larger branches first)."""
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
    return children, by_node, pos, order


def _dendrogram_edges(
    children: dict[int, list[int]], pos: Positions
) -> tuple[list[float | None], list[float | None]]:
    """The elbow lines joining each merge to its children, as one None-separated polyline."""
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
    return xs, ys


def hierarchy_dendrogram(tree: pd.DataFrame, selected: int | None = None) -> go.Figure:
    """The topic tree as a dendrogram: every topic on its own labelled row, merges at their
    linkage distance. Node and leaf markers carry their node id (``customdata``) for clicks."""
    children, by_node, pos, order = _dendrogram_layout(tree)
    xs, ys = _dendrogram_edges(children, pos)
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
