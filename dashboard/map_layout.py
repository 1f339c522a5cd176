"""Where the Topic map's labels go and which colour each topic gets. No Streamlit, no Plotly.

Labels: greedy placement by topic size (the idea behind DataMapPlot's label layout, without
its leader lines): the largest topic is labelled first, and a smaller topic's label is kept
only if its box, estimated from the font size, overlaps no label already placed, on the
topic's centre or just beside it. The
estimate assumes the narrowest plot the page draws (``MIN_PLOT_WIDTH_PX``): a wider plot
only spreads the labels further apart, so nothing placed here can overlap there.

Colours: topics that sit next to each other on the map are a graph (each topic joined to its
nearest centroids); each topic, largest first, takes the palette colour farthest (in CIELAB)
from the colours its neighbours already have, so neighbours are easy to tell apart. The
other scheme colours by hierarchy branch: the topics under one branch share a hue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from dashboard.map_data import Extent

MIN_PLOT_WIDTH_PX = 700  # narrowest map the wide layout draws (a laptop with the sidebar open)
LABEL_FONT_PX = 11
CHAR_WIDTH = 0.55  # of the font size: wider than an average sans-serif glyph (~0.45-0.5)
LABEL_PAD_PX = 3  # around the text (plotly's borderpad plus a gap)
NEIGHBOURS = 6
GOOD_ENOUGH_DE = 45.0  # CIELAB distance above which two colours count as clearly different


def label_box(text: str, font_px: float = LABEL_FONT_PX) -> tuple[float, float]:
    """(width, height) in pixels of a one-line label, padding included."""
    return (
        len(text) * font_px * CHAR_WIDTH + 2 * LABEL_PAD_PX,
        font_px * 1.35 + 2 * LABEL_PAD_PX,
    )


def px_per_unit(extent: Extent, width_px: float, height_px: float) -> float:
    """Pixels per map unit of a plot with equal axis scales showing ``extent``: the axis that
    fills its side first sets the scale."""
    return min(width_px / (extent.x1 - extent.x0), height_px / (extent.y1 - extent.y0))


class Placed(NamedTuple):
    """A label to draw: the topic's index and its shift from the topic centre, in pixels."""

    index: int
    dx: float
    dy: float


def _candidates(w: float, h: float) -> tuple[tuple[float, float], ...]:
    """Where a label may go, nearest first: on the centre, just above or below, then beside."""
    return ((0.0, 0.0), (0.0, h), (0.0, -h), (w / 2 + 4, 0.0), (-w / 2 - 4, 0.0))


def place_labels(
    x: Sequence[float],
    y: Sequence[float],
    texts: Sequence[str],
    sizes: Sequence[float],
    extent: Extent,
    width_px: float = MIN_PLOT_WIDTH_PX,
    height_px: float = 640,
    font_px: float = LABEL_FONT_PX,
    limit: int = 60,
) -> list[Placed]:
    """The labels to draw: largest topic first, each on its centre or shifted by up to one
    label height or half a width (``_candidates``), none overlapping another, none
    sticking out of the view, at most ``limit``."""
    scale = px_per_unit(extent, width_px, height_px)
    view_w = (extent.x1 - extent.x0) * scale
    view_h = (extent.y1 - extent.y0) * scale
    placed: list[tuple[float, float, float, float]] = []
    keep: list[Placed] = []
    for i in np.argsort(-np.asarray(sizes, dtype=float), kind="stable"):
        w, h = label_box(texts[i], font_px)
        cx = (float(x[i]) - extent.x0) * scale
        cy = (float(y[i]) - extent.y0) * scale
        for dx, dy in _candidates(w, h):
            box = (cx + dx - w / 2, cx + dx + w / 2, cy + dy - h / 2, cy + dy + h / 2)
            if box[0] < 0 or box[2] < 0 or box[1] > view_w or box[3] > view_h:
                continue
            if not any(
                box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3] for b in placed
            ):
                placed.append(box)
                keep.append(Placed(int(i), dx, dy))
                break
        if len(keep) >= limit:
            break
    return keep


def lab(colors: Sequence[str]) -> np.ndarray:
    """CIELAB (D65) of ``#rrggbb`` or ``rgb(r, g, b)`` colours, one row each."""
    rgb = np.array([_rgb(c) for c in colors], dtype=float) / 255.0
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1
    )


def _rgb(color: str) -> tuple[int, int, int]:
    c = color.strip()
    if c.startswith("#"):
        return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)
    r, g, b = (int(float(v)) for v in c[c.index("(") + 1 : c.index(")")].split(",")[:3])
    return r, g, b


def neighbours(x: np.ndarray, y: np.ndarray, k: int = NEIGHBOURS) -> list[set[int]]:
    """Each point's ``k`` nearest others, made symmetric: the map's adjacency of topics."""
    pts = np.stack([np.asarray(x, float), np.asarray(y, float)], axis=1)
    n = len(pts)
    adj: list[set[int]] = [set() for _ in range(n)]
    if n < 2:
        return adj
    d = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    for i, row in enumerate(np.argsort(d, axis=1)[:, : min(k, n - 1)]):
        for j in row:
            adj[i].add(int(j))
            adj[int(j)].add(i)
    return adj


def distinct_colors(
    x: np.ndarray, y: np.ndarray, sizes: np.ndarray, palette: Sequence[str]
) -> list[str]:
    """A colour per point (topic centroid) so that map neighbours differ clearly.

    Largest topics first; each takes the palette colour whose smallest CIELAB distance to
    its already coloured neighbours is largest, counting every distance above
    ``GOOD_ENOUGH_DE`` as equal so the least used such colour wins (the palette is spread
    over the map instead of a few far-apart colours taking everything).
    """
    n = len(x)
    adj = neighbours(x, y)
    pal = lab(palette)
    dist = np.sqrt(((pal[:, None, :] - pal[None, :, :]) ** 2).sum(-1))
    chosen = np.full(n, -1)
    used = np.zeros(len(palette))
    for i in np.argsort(-np.asarray(sizes, dtype=float), kind="stable"):
        near = [chosen[j] for j in adj[i] if chosen[j] >= 0]
        score = dist[:, near].min(axis=1) if near else np.full(len(palette), np.inf)
        score = np.minimum(score, GOOD_ENOUGH_DE)
        best = np.lexsort((np.arange(len(palette)), used, -score))[0]
        chosen[i] = best
        used[best] += 1
    return [palette[c] for c in chosen]


def branches(hierarchy: pd.DataFrame, topic_ids: Sequence[int], n_branches: int) -> dict[int, int]:
    """Topic -> branch number, cutting the hierarchy's ``n_branches - 1`` highest merges.

    Topics in no merge (found by a later ``topictrends update``) get branches of their own.
    """
    topic_ids = [int(t) for t in topic_ids]
    out: dict[int, int] = {}
    if len(hierarchy):
        nodes = {int(r.node): r for r in hierarchy.itertuples(index=False)}
        cut = {
            int(n)
            for n in hierarchy.sort_values("distance", ascending=False)["node"][: n_branches - 1]
        }
        if not cut:  # one branch: everything under the root
            cut = set()
            heads = [int(hierarchy.sort_values("distance")["node"].iloc[-1])]
        else:
            heads = [
                int(c) for n in cut for c in (nodes[n].left, nodes[n].right) if int(c) not in cut
            ]
        for b, head in enumerate(sorted(heads)):
            members = [int(t) for t in nodes[head].topics] if head in nodes else [head]
            for t in members:
                out.setdefault(t, b)
    nxt = max(out.values(), default=-1) + 1
    for t in topic_ids:
        if t not in out:
            out[t] = nxt
            nxt += 1
    return {t: out[t] for t in topic_ids}


def branch_colors(
    branch_of: dict[int, int], palette: Sequence[str], sizes: dict[int, int]
) -> dict[int, str]:
    """One hue per branch, shaded lighter and darker within it so its topics stay apart."""
    out: dict[int, str] = {}
    by_branch: dict[int, list[int]] = {}
    for t, b in branch_of.items():
        by_branch.setdefault(b, []).append(t)
    for b, members in by_branch.items():
        base = np.array(_rgb(palette[b % len(palette)]), dtype=float)
        members.sort(key=lambda t: -sizes.get(t, 0))
        for k, t in enumerate(members):
            shade = (0.0, 0.35, -0.3, 0.55, -0.5)[k % 5]
            c = base + (255 - base) * shade if shade > 0 else base * (1 + shade)
            out[t] = "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in np.clip(c, 0, 255)))
    return out
