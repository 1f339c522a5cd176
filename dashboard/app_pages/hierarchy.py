"""Hierarchy: the topic tree; choosing a node lists its topics and documents."""

import numpy as np
import streamlit as st

from dashboard import state, topic_figures, tree_figures, ui
from dashboard.filters import Filters
from dashboard.tree_data import hierarchy_tree

ctx = ui.page("hierarchy")
run = ctx.run

tree = hierarchy_tree(run.hierarchy, run.topics)
if outside := tree.attrs.get("not_in_tree"):
    st.caption(
        f"{len(outside)} topics found by updates since the last full build are not in the "
        f"hierarchy yet (topics {', '.join(str(t) for t in outside)}); "
        "`topictrends build INPUT --name RUN --refit` places them."
    )
by_node = tree.set_index("node")
merges = tree[~tree["leaf"]].sort_values("size", ascending=False)
leaves = tree[tree["leaf"]].sort_values("node")
options = [int(n) for n in merges["node"]] + [int(n) for n in leaves["node"]]


def describe(n: int) -> str:
    r = by_node.loc[n]
    kind = f"topic {n}" if r["leaf"] else f"node {n} ({r['n_topics']} topics)"
    return f"{kind}: {r['label']} · {int(r['size']):,} docs"


node = state.choice("node", options, as_int=True)
views = {"tree": "Dendrogram", "icicle": "Icicle"}
view = ui.view_switch("hview", views, "tree")
if view == "tree":
    st.caption(
        "Topics merged bottom-up by the similarity of their keywords; the further right two branches join, the less alike they are. Click a node (or a topic) to list its topics and documents."
    )
    event = st.plotly_chart(
        tree_figures.hierarchy_dendrogram(tree, selected=node),
        key="dendrogram",
        on_select="rerun",
        selection_mode=("points",),
        config={"displaylogo": False},
    )
    picked = topic_figures.picked_topic(event)
    if picked is not None and picked in options and state.changed("dendrogram", picked):
        state.put("node", picked)
        node = picked
else:
    st.caption(
        "The same tree as nested blocks, width = documents. Click a block to zoom into it; pick a node below to list its topics and documents."
    )
    st.plotly_chart(
        tree_figures.hierarchy_icicle(tree, selected=node),
        key="icicle",
        config={"displaylogo": False},
    )
node = state.bound(
    st.selectbox,
    "node",
    value=node,
    label="Node",
    options=options,
    format_func=describe,
    index=None,
    placeholder="Choose a node or topic",
)

if node is not None:
    r = by_node.loc[node]
    node_topics = [int(t) for t in r["topics"]]
    st.subheader(ui.md_escape(describe(node)))
    t = run.topics[run.topics["topic"].isin(node_topics)][
        ["topic", "label", "size", "share"]
    ].sort_values("size", ascending=False)
    picked = ui.picked_topic(
        t,
        f"node_topics.{node}",
        {
            "share": st.column_config.NumberColumn("share", format="percent"),
            "size": st.column_config.NumberColumn("documents"),
        },
    )
    if picked is not None:
        ui.nav_to("topics", topic=picked)
    st.caption("Select a topic to open it.")
    f = ctx.filters
    rows = np.flatnonzero(
        ctx.mask(Filters(tuple(node_topics), f.date_from, f.date_to, f.query, f.facets))
    )
    st.subheader(f"{len(rows):,} documents")
    picked_row, first = ui.paged_docs(run, rows, f"node_docs.{node}", height=380)
    ui.doc_preview(run, picked_row, fallback=first)
