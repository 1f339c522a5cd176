"""tree_figures: the icicle and the dendrogram."""

from __future__ import annotations

import pytest

from dashboard import tree_data, tree_figures


def test_hierarchy_icicle_matches_the_tree(dated_run):
    tree = tree_data.hierarchy_tree(dated_run.hierarchy, dated_run.topics)
    fig = tree_figures.hierarchy_icicle(tree, selected=int(tree["node"].iloc[0]))
    ice = fig.data[0]
    assert len(ice.ids) == len(tree) and ice.branchvalues == "total"
    assert sum(1 for p in ice.parents if p == "") == 1
    assert set(ice.parents) - {""} <= set(ice.ids)


def test_hierarchy_dendrogram_labels_every_topic_and_marks_every_node(dated_run):
    tree = tree_data.hierarchy_tree(dated_run.hierarchy, dated_run.topics)
    fig = tree_figures.hierarchy_dendrogram(tree, selected=int(tree["node"].max()))
    lines, merges, leaves = fig.data
    assert sorted(leaves.customdata) == sorted(dated_run.topics["topic"])
    assert sorted(merges.customdata) == sorted(tree.loc[~tree["leaf"], "node"])
    assert len(fig.layout.yaxis.ticktext) == len(dated_run.topics)
    assert len(set(leaves.x)) == 1 and leaves.x[0] < min(merges.x)
    root = int(tree.loc[tree["parent"] == -1, "node"].iloc[0])
    assert max(merges.x) == pytest.approx(float(tree.set_index("node").loc[root, "distance"]))


def test_hierarchy_dendrogram_without_merges(dated_run):
    tree = tree_data.hierarchy_tree(dated_run.hierarchy.iloc[0:0], dated_run.topics)
    fig = tree_figures.hierarchy_dendrogram(tree)
    assert len(fig.layout.yaxis.ticktext) == len(dated_run.topics)
