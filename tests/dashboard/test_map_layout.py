"""map_layout: labels that never overlap (larger topics first) and colours neighbours can tell apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import figure_style, map_layout
from dashboard.map_data import Extent


def _boxes(x, y, texts, keep, extent):
    scale = map_layout.px_per_unit(extent, map_layout.MIN_PLOT_WIDTH_PX, 640)
    out = []
    for i, dx, dy in keep:
        w, h = map_layout.label_box(texts[i])
        cx, cy = (x[i] - extent.x0) * scale + dx, (y[i] - extent.y0) * scale + dy
        out.append((cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2))
    return out


def test_labels_do_not_overlap_and_larger_topics_win():
    rng = np.random.default_rng(0)
    n = 150
    x, y = rng.normal(size=n), rng.normal(size=n)
    sizes = rng.integers(10, 1000, n)
    texts = [f"topic words {i} · more words" for i in range(n)]
    extent = Extent(-4, 4, -4, 4)
    keep = map_layout.place_labels(x, y, texts, sizes, extent, limit=n)
    assert 5 < len(keep) < n
    boxes = _boxes(x, y, texts, keep, extent)
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            p, q = boxes[a], boxes[b]
            assert not (p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3])
    assert keep[0] == (int(np.argmax(sizes)), 0.0, 0.0)  # the largest, on its centre
    # Three labels on one spot: the larger topics first, on it and just above it.
    spot = map_layout.place_labels([0] * 3, [0] * 3, ["a", "b", "c"], [5, 50, 20], extent)
    assert [(p.index, p.dx) for p in spot[:2]] == [(1, 0.0), (2, 0.0)] and spot[1].dy > 0


def test_labels_outside_the_view_are_left_out():
    keep = map_layout.place_labels([0, 9], [0, 0], ["in", "out"], [1, 2], Extent(-1, 1, -1, 1))
    assert [p.index for p in keep] == [0]


def _min_neighbour_distance(x, y, colors):
    adj = map_layout.neighbours(x, y)
    labs = map_layout.lab(colors)
    return min(float(np.linalg.norm(labs[i] - labs[j])) for i in range(len(x)) for j in adj[i])


def test_neighbouring_topics_get_clearly_different_colours():
    rng = np.random.default_rng(5)
    n = 80
    x, y = rng.uniform(0, 10, n), rng.uniform(0, 10, n)
    colors = map_layout.distinct_colors(x, y, rng.integers(1, 100, n), figure_style.MAP_PALETTE)
    assert _min_neighbour_distance(x, y, colors) >= 25
    assert len(set(colors)) >= 12  # the palette is spread, not a few colours
    by_id = [figure_style.MAP_PALETTE[i % 24] for i in range(n)]
    assert _min_neighbour_distance(x, y, by_id) < 25  # what colouring by id gave


def test_branches_cut_the_highest_merges_and_keep_topics_of_no_merge():
    # Topics 0..3; nodes 4 = (0, 1), 5 = (2, 3), 6 = (4, 5) the root.
    hierarchy = pd.DataFrame(
        {
            "node": [4, 5, 6],
            "parent": [6, 6, -1],
            "left": [0, 2, 4],
            "right": [1, 3, 5],
            "distance": [0.2, 0.3, 0.9],
            "label": ["a", "b", "root"],
            "topics": [[0, 1], [2, 3], [0, 1, 2, 3]],
        }
    )
    b = map_layout.branches(hierarchy, [0, 1, 2, 3, 7], n_branches=2)
    assert b[0] == b[1] != b[2] == b[3] and b[7] not in {b[0], b[2]}
    colors = map_layout.branch_colors(b, figure_style.MAP_PALETTE, {0: 5, 1: 3, 2: 1, 3: 1, 7: 1})
    assert colors[0] != colors[1] and len(set(colors.values())) == 5
    assert map_layout.branches(hierarchy.iloc[:0], [0, 1], 3) == {0: 0, 1: 1}
