"""The Facets page's charts: bars of a categorical column, histograms of the others. No Streamlit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.figure_style import BAR_COLOR, SELECTED_COLOR, esc


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
