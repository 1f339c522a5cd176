"""The Hierarchy page's tree: topics as leaves under the merges of hierarchy.parquet.

No Streamlit here.
"""

from __future__ import annotations

import pandas as pd


def hierarchy_tree(hierarchy: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Nodes of the topic tree: id, parent (None at the root), label, size, topics, leaf.

    Leaves are the topics; merge nodes come from hierarchy.parquet. A run without merges
    (hierarchy off, or one topic) gets a synthetic root over its topics.

    ``topictrends update`` keeps the hierarchy of the last full build, so topics found by
    later updates are in no merge: they are left out of the tree and listed in
    ``attrs["not_in_tree"]``. Their ids may equal merge node ids of that older hierarchy
    (numbered from its topic count); the merge nodes are then moved above every topic id.
    """
    size = topics.set_index("topic")["size"].astype(int)
    label = topics.set_index("topic")["label"].astype(str)
    topic_ids = {int(t) for t in size.index}
    merge_ids = {int(n) for n in hierarchy["node"]}
    shift = 0
    if merge_ids & topic_ids:
        shift = max(topic_ids) + 1 - min(merge_ids)

    def nid(n: int) -> int:
        return n + shift if n in merge_ids else n

    in_tree: set[int] = set()
    parent_of: dict[int, int] = {}
    rows = []
    for r in hierarchy.itertuples(index=False):
        node_topics = [int(t) for t in r.topics]
        in_tree.update(node_topics)
        parent_of[nid(int(r.left))] = nid(int(r.node))
        parent_of[nid(int(r.right))] = nid(int(r.node))
        rows.append(
            {
                "node": nid(int(r.node)),
                "parent": nid(int(r.parent)) if int(r.parent) >= 0 else -1,
                "label": str(r.label),
                "topics": node_topics,
                "leaf": False,
                "distance": float(r.distance),
            }
        )
    root = -1
    if not rows:
        root = int(size.index.max()) + 1 if len(size) else 0
        rows.append(
            {
                "node": root,
                "parent": -1,
                "label": "All topics",
                "topics": [int(t) for t in size.index],
                "leaf": False,
                "distance": 0.0,
            }
        )
    outside = sorted(topic_ids - in_tree) if len(hierarchy) else []
    for t in size.index:
        if int(t) in outside:
            continue
        rows.append(
            {
                "node": int(t),
                "parent": parent_of.get(int(t), root),
                "label": label[t],
                "topics": [int(t)],
                "leaf": True,
                "distance": 0.0,
            }
        )
    tree = pd.DataFrame(rows)
    tree["size"] = tree["topics"].map(lambda ts: int(size.reindex(ts).fillna(0).sum()))
    tree["n_topics"] = tree["topics"].map(len)
    tree["parent"] = tree["parent"].where(tree["parent"] >= 0, other=-1)
    tree.attrs["not_in_tree"] = outside
    return tree
