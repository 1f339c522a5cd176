"""Lineage: how the previous build's topics became this build's (after an update or refit)."""

import streamlit as st

from dashboard import loaders, state, ui
from dashboard.lineage_data import (
    NO_HISTORY,
    lineage_rows,
    relation_counts,
    update_command,
)
from pipeline.store.contract import RELATION_MEANING, RELATIONS

ctx = ui.page("lineage")
run = ctx.run

lineage = run.lineage
if lineage is None or run.update_step <= 0:
    st.info(
        f"{NO_HISTORY}: it has one build, so there is no previous build to trace its topics from.",
        icon=":material/history:",
    )
    st.write("Adding documents to the run publishes a new build and the lineage of its topics:")
    st.code(update_command(ctx.entry.name), language="bash")
    st.caption("`topictrends build --refit` re-fits the topics and writes a lineage as well.")
else:
    u = run.update or {}
    counts = relation_counts(lineage)
    st.caption(
        ui.md_escape(
            f"Step {run.update_step} ({u.get('kind', 'update')}): the topics of the previous build "
            f"{u.get('previous_build') or '?'} on the left, this build's on the right."
        )
        + " "
        + " · ".join(f"{n} {ui.md_escape(r)}" for r, n in counts.items())
    )
    known = [r for r in RELATIONS if r in counts] + [r for r in counts if r not in RELATIONS]
    rel = state.get("rel") or []
    asked = rel if isinstance(rel, list) else [rel]
    wanted = [r for r in asked if r in known]
    if len(wanted) < len(asked):
        state.reject("rel", keep=True)  # relations this run does not have
        state.put("rel", wanted)
    chosen = state.bound(
        st.multiselect,
        "rel",
        value=wanted,
        label="Relations",
        options=known,
        placeholder="All relations",
    )
    relations = tuple(chosen or known)
    if not lineage.empty:
        st.plotly_chart(
            loaders.lineage_figure(*ctx.path_key, relations),
            key="lineage_sankey",
            config={"displayModeBar": False},
        )
    st.caption(
        "Link width: documents the two topics share (for new and gone topics, the topic's "
        "size). Colour: the relation."
    )
    table = lineage_rows(lineage, list(relations))
    picked = ui.picked_topic(
        table,
        f"lineage_table.{','.join(relations)}",
        {
            "relation": st.column_config.TextColumn("relation", width="small"),
            "previous_topic": st.column_config.NumberColumn("previous", width="small", format="%d"),
            "previous_label": st.column_config.TextColumn("previous label", width="medium"),
            "topic": st.column_config.NumberColumn("topic", width="small", format="%d"),
            "label": st.column_config.TextColumn("label", width="medium"),
            "shared_documents": st.column_config.NumberColumn("shared docs", width="small"),
            "document_overlap": st.column_config.ProgressColumn(
                "overlap",
                min_value=0.0,
                max_value=1.0,
                format="percent",
                width="small",
                help="Share of the previous topic's documents (of those both builds have) "
                "that are in this topic",
            ),
            "similarity": st.column_config.NumberColumn(
                "similarity",
                format="%.2f",
                width="small",
                help="Similarity of the two topics used by the match",
            ),
        },
    )
    if picked is not None:
        ui.nav_to("topics", topic=picked)
    st.caption(
        "Select a row to open its current topic. "
        + " ".join(f"**{r}**: {RELATION_MEANING[r]}." for r in RELATIONS if r in RELATION_MEANING)
    )
