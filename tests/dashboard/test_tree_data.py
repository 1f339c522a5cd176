"""tree_data: the topic tree from hierarchy.parquet."""

from __future__ import annotations

from dashboard import tree_data


def test_hierarchy_tree_links_every_topic_to_the_root(dated_run):
    tree = tree_data.hierarchy_tree(dated_run.hierarchy, dated_run.topics)
    leaves = tree[tree["leaf"]]
    assert sorted(leaves["node"]) == sorted(dated_run.topics["topic"])
    roots = tree[tree["parent"] == -1]
    assert len(roots) == 1
    assert roots["size"].iloc[0] == dated_run.topics["size"].sum()
    nodes = set(tree["node"])
    assert set(tree.loc[tree["parent"] >= 0, "parent"]) <= nodes


def test_hierarchy_tree_without_merges_gets_a_synthetic_root(dated_run):
    tree = tree_data.hierarchy_tree(dated_run.hierarchy.iloc[0:0], dated_run.topics)
    root = tree[~tree["leaf"]]
    assert len(root) == 1 and root["label"].iloc[0] == "All topics"
    assert (tree.loc[tree["leaf"], "parent"] == root["node"].iloc[0]).all()
