"""The Topic map's numbers: view range, point budget, density grid, sample, selection.

Pure functions over numpy arrays (the map reads only the x, y and topic columns), so they
work the same on a 300-document test run and a million-document run. No Streamlit, no
Plotly here: ``map_figures`` draws what these return, ``map_layout`` places labels and
colours.

Why server side: above the point budget the browser gets a binned density image plus a
stratified sample instead of every point, so a box or lasso selection can no longer be read
from the drawn points alone. It is recomputed here from the selection's geometry over every
document in view (``selection_mask``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ENV_POINT_BUDGET = "TOPICTRENDS_MAP_POINTS"
# About 80 bytes of figure a drawn point (coordinates, row, a 48-character title and the
# date in the hover): 25,000 points keep a map view near 2 MB, under the 3 MB target.
DEFAULT_POINT_BUDGET = 25_000
SAMPLE_FLOOR = 50  # points drawn for every topic (or all of a smaller topic) above the budget
DENSITY_BINS = 160  # cells along the longer side of the view
ROBUST_QUANTILES = (0.02, 0.98)
ROBUST_GAP = 0.5  # a jump wider than this (of the quantile span) ends the range
ROBUST_MARGIN = 0.04  # of the robust span, on every side


def point_budget(env: Mapping[str, str] | None = None) -> tuple[int, str | None]:
    """The most documents the map draws as points (``$TOPICTRENDS_MAP_POINTS``, default 25,000).

    Returns (budget, problem): a value that is not a whole number of at least 1 gives the
    default and one line saying why, shown on the page instead of an error.
    """
    env = os.environ if env is None else env
    raw = env.get(ENV_POINT_BUDGET, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_POINT_BUDGET, None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        return DEFAULT_POINT_BUDGET, (
            f"{ENV_POINT_BUDGET}={raw[:40]!r} is not a whole number of at least 1; "
            f"the map uses the default point budget of {DEFAULT_POINT_BUDGET:,}."
        )
    return value, None


@dataclass(frozen=True)
class Extent:
    """A rectangle of the map, in map coordinates."""

    x0: float
    x1: float
    y0: float
    y1: float

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= self.x0) & (x <= self.x1) & (y >= self.y0) & (y <= self.y1)

    def to_param(self) -> str:
        """The view as a URL value, four numbers: ``x0,x1,y0,y1``."""
        return ",".join(f"{v:.6g}" for v in (self.x0, self.x1, self.y0, self.y1))

    @classmethod
    def from_param(cls, value: str | None) -> Extent | None:
        """A view from ``to_param``'s text; None for anything else (a hand-edited link)."""
        if not value:
            return None
        try:
            v = [float(p) for p in value.split(",")]
        except ValueError:
            return None
        if len(v) != 4 or not np.all(np.isfinite(v)) or v[0] >= v[1] or v[2] >= v[3]:
            return None
        return cls(*v)


def robust_span(
    v: np.ndarray, quantiles: tuple[float, float] = ROBUST_QUANTILES, gap: float = ROBUST_GAP
) -> tuple[float, float]:
    """The range of ``v`` without its strays: from the 2% and 98% quantiles outwards,
    as far as the points continue without a gap wider than ``gap`` of the quantile span.

    So a small topic at the edge of the map stays in view (its points are close to the
    rest), while the few documents UMAP throws far away do not stretch the axis.
    """
    s = np.sort(v)
    n = len(s)
    lo_i, hi_i = int(np.floor(quantiles[0] * (n - 1))), int(np.ceil(quantiles[1] * (n - 1)))
    g = gap * max(float(s[hi_i] - s[lo_i]), 1e-9)
    upper = s[hi_i:]
    cut = np.flatnonzero(np.diff(upper) > g)
    hi = float(upper[cut[0]] if cut.size else upper[-1])
    lower = s[: lo_i + 1][::-1]
    cut = np.flatnonzero(-np.diff(lower) > g)
    lo = float(lower[cut[0]] if cut.size else lower[-1])
    return lo, hi


def robust_extent(x: np.ndarray, y: np.ndarray, margin: float = ROBUST_MARGIN) -> Extent:
    """The view that holds every point but the strays (``robust_span`` per axis), plus a margin.

    A few far-away documents would otherwise stretch the axes until the bulk of the map
    fills a fifth of its width.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return Extent(-1.0, 1.0, -1.0, 1.0)
    (x0, x1), (y0, y1) = robust_span(x[ok]), robust_span(y[ok])
    pad = margin * max(x1 - x0, y1 - y0, 1e-9)
    return Extent(x0 - pad, x1 + pad, y0 - pad, y1 + pad)


@dataclass(frozen=True)
class MapPoints:
    """The documents in one map view: their rows, drawn coordinates and the view."""

    rows: np.ndarray  # int64 row positions in the documents table
    x: np.ndarray  # float32, clipped to the extent
    y: np.ndarray
    beyond: np.ndarray  # bool: outside the extent, drawn at its edge
    extent: Extent


def map_points(
    x: np.ndarray, y: np.ndarray, keep: np.ndarray, view: Extent | None = None
) -> MapPoints:
    """Documents ``keep`` for the default view (robust range, strays clamped to its edge) or
    for a zoomed ``view`` (only the documents inside it)."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    keep = np.asarray(keep, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    if view is not None:
        keep = keep & view.contains(x, y)
        extent = view
    else:
        extent = robust_extent(x[keep], y[keep])
    rows = np.flatnonzero(keep)
    px, py = x[rows], y[rows]
    beyond = ~extent.contains(px, py)
    px = np.clip(px, extent.x0, extent.x1)
    py = np.clip(py, extent.y0, extent.y1)
    return MapPoints(rows, px, py, beyond, extent)


def sample_sizes(counts: np.ndarray, budget: int, floor: int = SAMPLE_FLOOR) -> np.ndarray:
    """Points to draw per group: every group gets ``floor`` (or all it has), the rest of the
    budget is shared in proportion to size. Never more than a group holds; the total passes
    the budget only when there are more groups than the budget allows a floor for (then
    every group still gets one point)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() <= budget:
        return counts.copy()
    floor = min(floor, max(1, budget // max(len(counts), 1)))
    base = np.minimum(counts, floor)
    extra = counts - base
    left = max(budget - int(base.sum()), 0)
    if extra.sum() == 0 or left == 0:
        return base
    return base + np.floor(extra * (left / extra.sum())).astype(np.int64)


def stratified_sample(
    groups: np.ndarray, budget: int, floor: int = SAMPLE_FLOOR, seed: int = 0
) -> np.ndarray:
    """Positions (into ``groups``) of a random sample stratified by group (``sample_sizes``).

    The same input gives the same sample (seeded), so a rerun draws the same points.
    """
    groups = np.asarray(groups)
    n = len(groups)
    if n <= budget:
        return np.arange(n)
    uniq, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    take = sample_sizes(counts, budget, floor)
    order = np.random.default_rng(seed).permutation(n)
    order = order[np.argsort(inverse[order], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = inverse[order]
    rank = np.arange(n) - starts[g]
    return np.sort(order[rank < take[g]])


def density_grid(
    x: np.ndarray, y: np.ndarray, extent: Extent, bins: int = DENSITY_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Document counts in square cells over ``extent``: (counts[ny, nx], x centres, y centres)."""
    w, h = extent.x1 - extent.x0, extent.y1 - extent.y0
    nx = max(1, int(round(bins * w / max(w, h))))
    ny = max(1, int(round(bins * h / max(w, h))))
    counts, xe, ye = np.histogram2d(
        x, y, bins=(nx, ny), range=((extent.x0, extent.x1), (extent.y0, extent.y1))
    )
    return counts.T.astype(np.int64), (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2


def rows_in_polygon(
    x: np.ndarray, y: np.ndarray, px: Sequence[float], py: Sequence[float]
) -> np.ndarray:
    """Points inside the closed polygon (px, py), by the even-odd ray cast, vectorised over
    points (one pass per edge; only the points in the polygon's bounding box are tested)."""
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    inside = np.zeros(len(x), dtype=bool)
    if len(px) < 3:
        return inside
    cand = np.flatnonzero((x >= px.min()) & (x <= px.max()) & (y >= py.min()) & (y <= py.max()))
    cx, cy = x[cand].astype(np.float64), y[cand].astype(np.float64)
    hit = np.zeros(len(cand), dtype=bool)
    for xa, ya, xb, yb in zip(px, py, np.roll(px, -1), np.roll(py, -1), strict=True):
        if ya == yb:
            continue
        crosses = (ya > cy) != (yb > cy)
        at = xa + (cy - ya) * (xb - xa) / (yb - ya)
        hit ^= crosses & (cx < at)
    inside[cand] = hit
    return inside


def _numbers(v: Any) -> list[float]:
    try:
        return [float(a) for a in v]
    except (TypeError, ValueError):
        return []


def selection_shapes(selection: Mapping[str, Any] | None) -> list[tuple[list[float], list[float]]]:
    """The box and lasso shapes of a Streamlit plotly selection, each as a polygon (xs, ys)."""
    shapes = []
    for box in (selection or {}).get("box") or []:
        bx, by = _numbers(box.get("x", [])), _numbers(box.get("y", []))
        if len(bx) >= 2 and len(by) >= 2:
            x0, x1, y0, y1 = min(bx), max(bx), min(by), max(by)
            shapes.append(([x0, x1, x1, x0], [y0, y0, y1, y1]))
    for lasso in (selection or {}).get("lasso") or []:
        lx, ly = _numbers(lasso.get("x", [])), _numbers(lasso.get("y", []))
        if len(lx) >= 3 and len(lx) == len(ly):
            shapes.append((lx, ly))
    return shapes


def selection_mask(points: MapPoints, selection: Mapping[str, Any] | None) -> np.ndarray | None:
    """Which documents of the view lie in the selection's boxes and lassos (any of them),
    drawn or not; None when the selection carries no shape (a click on one point)."""
    shapes = selection_shapes(selection)
    if not shapes:
        return None
    mask = np.zeros(len(points.rows), dtype=bool)
    for xs, ys in shapes:
        mask |= rows_in_polygon(points.x, points.y, xs, ys)
    return mask


def selection_extent(selection: Mapping[str, Any] | None, pad: float = 0.05) -> Extent | None:
    """The bounding box of the selection's shapes, a little wider: the view to zoom to."""
    shapes = selection_shapes(selection)
    if not shapes:
        return None
    xs = [v for s in shapes for v in s[0]]
    ys = [v for s in shapes for v in s[1]]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    if not (w > 0 and h > 0):
        return None
    return Extent(min(xs) - pad * w, max(xs) + pad * w, min(ys) - pad * h, max(ys) + pad * h)
