"""map_data: point budget, robust view range, stratified sample, density, server-side selection."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import map_data
from dashboard.map_data import Extent


def test_point_budget_reads_the_environment_and_names_a_bad_value():
    assert map_data.point_budget({}) == (map_data.DEFAULT_POINT_BUDGET, None)
    assert map_data.point_budget({map_data.ENV_POINT_BUDGET: "2_000"}) == (2000, None)
    budget, problem = map_data.point_budget({map_data.ENV_POINT_BUDGET: "lots"})
    assert budget == map_data.DEFAULT_POINT_BUDGET
    assert map_data.ENV_POINT_BUDGET in problem and "'lots'" in problem
    assert map_data.point_budget({map_data.ENV_POINT_BUDGET: "0"})[1] is not None


def test_robust_extent_ignores_a_few_far_away_points():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=2000), rng.normal(size=2000)
    x[:4] = 400.0  # UMAP strays
    e = map_data.robust_extent(x, y)
    assert e.x1 < 6 and e.x0 > -6  # the bulk fills the view
    assert e.x0 < np.quantile(x, 0.01) and e.x1 > np.quantile(x, 0.99)
    # A small run where the strays are 1% of it (more than a 0.5% tail).
    x, y = rng.normal(size=300), rng.normal(size=300)
    x[:3] = [80.0, 90.0, 100.0]
    e = map_data.robust_extent(x, y)
    assert e.x1 < 6 and e.x1 >= x[3:].max()  # strays out, every other point in


def test_robust_span_keeps_a_small_cluster_at_the_edge():
    rng = np.random.default_rng(6)
    v = np.concatenate([rng.normal(0, 0.5, 3000), rng.normal(2.6, 0.2, 10), [300.0]])
    lo, hi = map_data.robust_span(v)
    assert v[:-1].max() <= hi < 300 and lo <= v.min()


def test_map_points_clamps_strays_to_the_edge_and_marks_them():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=1000), rng.normal(size=1000)
    x[7], y[9] = 500.0, -300.0
    p = map_data.map_points(x, y, np.ones(1000, dtype=bool))
    assert p.beyond[7] and p.beyond[9] and p.beyond.sum() <= 12
    assert p.x[7] == pytest.approx(p.extent.x1) and p.y[9] == pytest.approx(p.extent.y0)
    assert p.extent.contains(p.x, p.y).all()


def test_map_points_in_a_zoomed_view_keeps_only_the_documents_inside():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    keep = np.array([True, True, True, False])
    p = map_data.map_points(x, x, keep, Extent(0.5, 3.5, 0.5, 3.5))
    assert p.rows.tolist() == [1, 2] and not p.beyond.any()


def test_extent_round_trips_through_the_url_and_refuses_junk():
    e = Extent(-1.5, 2.25, 0.0, 1e-3)
    assert Extent.from_param(e.to_param()) == e
    for bad in ("", "1,2,3", "a,b,c,d", "2,1,0,1", "nan,1,0,1", "0,inf,0,1"):
        assert Extent.from_param(bad) is None


def test_stratified_sample_represents_every_topic_within_the_budget():
    groups = np.array([0] * 9000 + [1] * 900 + [2] * 90 + [3] * 3)
    rows = map_data.stratified_sample(groups, budget=1000, floor=50)
    got = np.bincount(groups[rows])
    assert len(rows) <= 1000 and len(set(rows.tolist())) == len(rows)
    assert got[3] == 3 and got[2] >= 50  # small topics are all there, or their floor
    assert got[0] > got[1] > got[2]  # the rest in proportion to size
    assert np.array_equal(rows, map_data.stratified_sample(groups, budget=1000, floor=50))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 500), min_size=1, max_size=30),
    st.integers(1, 3000),
    st.integers(1, 100),
)
def test_sample_sizes_never_exceed_a_group_and_keep_every_group(counts, budget, floor):
    counts = np.array(counts)
    take = map_data.sample_sizes(counts, budget, floor)
    assert (take <= counts).all() and (take >= 1).all()
    if counts.sum() <= budget:
        assert (take == counts).all()
    elif len(counts) <= budget:
        assert take.sum() <= budget


def test_density_grid_counts_every_point_in_square_cells():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 2, 5000), rng.uniform(0, 1, 5000)
    counts, xc, yc = map_data.density_grid(x, y, Extent(0, 2, 0, 1), bins=40)
    assert counts.shape == (20, 40) and counts.sum() == 5000
    assert xc[1] - xc[0] == pytest.approx(yc[1] - yc[0])


def test_rows_in_polygon_matches_a_box_and_handles_a_concave_lasso():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-1, 1, 20000), rng.uniform(-1, 1, 20000)
    square = map_data.rows_in_polygon(x, y, [-0.5, 0.5, 0.5, -0.5], [-0.5, -0.5, 0.5, 0.5])
    assert np.array_equal(square, (np.abs(x) < 0.5) & (np.abs(y) < 0.5))
    # An L shape: the square without its upper-right quarter.
    lx, ly = [-0.5, 0.5, 0.5, 0.0, 0.0, -0.5], [-0.5, -0.5, 0.0, 0.0, 0.5, 0.5]
    ell = map_data.rows_in_polygon(x, y, lx, ly)
    assert np.array_equal(ell, square & ~((x > 0) & (y > 0)))


def test_selection_mask_selects_every_document_in_the_shapes_drawn_or_not():
    x = np.arange(10, dtype=float)
    p = map_data.map_points(x, np.zeros(10), np.ones(10, dtype=bool), Extent(-1, 10, -1, 1))
    box = {"box": [{"x": [1.5, 4.5], "y": [-0.5, 0.5]}], "lasso": []}
    assert p.rows[map_data.selection_mask(p, box)].tolist() == [2, 3, 4]
    lasso = {"lasso": [{"x": [6.5, 9.5, 9.5, 6.5], "y": [-0.5, -0.5, 0.5, 0.5]}]}
    both = {**box, **lasso}
    assert p.rows[map_data.selection_mask(p, both)].tolist() == [2, 3, 4, 7, 8, 9]
    assert map_data.selection_mask(p, {"points": [{"customdata": 1}]}) is None
    assert map_data.selection_mask(p, {"box": [{"x": ["a", 1], "y": [0, 1]}]}) is None
    z = map_data.selection_extent(box)
    assert z.x0 < 1.5 and z.x1 > 4.5 and z.y0 < -0.5 and z.y1 > 0.5
