"""tree_data: the topic tree from hierarchy.parquet."""

from __future__ import annotations

import pandas as pd
from frames import topics_frame

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


def test_hierarchy_tree_after_an_update_leaves_new_topics_out():
    """An update keeps the last full build's hierarchy: merge nodes numbered from its topic
    count (3, 4) while the update's new topic took id 3."""
    hier = pd.DataFrame(
        {
            "node": [3, 4],
            "parent": [4, -1],
            "left": [0, 3],
            "right": [1, 2],
            "distance": [0.5, 1.0],
            "label": ["ab", "abc"],
            "topics": [[0, 1], [0, 1, 2]],
        }
    )
    tree = tree_data.hierarchy_tree(hier, topics_frame([0, 1, 2, 3], [5, 4, 3, 9])).set_index(
        "node"
    )
    assert tree.attrs["not_in_tree"] == [3]
    assert sorted(tree.index) == [0, 1, 2, 4, 5]  # merge nodes moved above topic 3
    assert not tree.loc[4, "leaf"] and tree.loc[4, "topics"] == [0, 1]
    assert tree.loc[0, "parent"] == 4 and tree.loc[2, "parent"] == 5 and tree.loc[4, "parent"] == 5
    assert tree.loc[5, "parent"] == -1 and tree.loc[5, "size"] == 12
    # Without a clash nothing moves.
    plain = tree_data.hierarchy_tree(hier, topics_frame([0, 1, 2], [5, 4, 3]))
    assert sorted(plain["node"]) == [0, 1, 2, 3, 4] and plain.attrs["not_in_tree"] == []
