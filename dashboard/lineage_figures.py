"""The Lineage and Topics pages' update figures: the Sankey of an update, a topic's history.

No Streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard.figure_style import OTHER_COLOR, esc, topic_color

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


Link = tuple[int, int, float, str, str]  # source, target, value, relation, hover text


def _sankey_links(
    lineage: pd.DataFrame, current_sizes: Mapping[int, int], previous_sizes: Mapping[int, int]
) -> tuple[dict[int | None, int], dict[int | None, int], tuple[list[str], list[str]], list[Link]]:
    """The Sankey's nodes (left: previous topics, right: current ones, each keyed by topic id
    or None for the "(new)" / "(gone)" placeholder), their names, and one link per row."""
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

    links: list[Link] = []
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
    return left, right, names, links


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
    left, right, names, links = _sankey_links(lineage, current_sizes or {}, previous_sizes or {})

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
