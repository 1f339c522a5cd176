"""Overview: the run in numbers, its largest topics, and the topics rising and fading most.

The first page every visitor opens, so it is kept light: its topic lists are pills, not
data grids, and nothing on it loads a code highlighter (BENCHMARKS.md, Dashboard).
"""

import streamlit as st

from dashboard import curation_ui, theme_data, ui
from dashboard.lineage_data import NO_HISTORY, update_command, update_info
from dashboard.overview_data import (
    counts_summary,
    largest_topics,
    mover_notes,
    movers,
    movers_brief,
)
from dashboard.theme_data import covered_topics

ctx = ui.page("overview")
run = ctx.run
summary = counts_summary(run.manifest)
curation_ui.review_notice(run)

st.caption(
    f"Built {run.manifest.get('created_at', '?')} from {ui.md_escape(ui.public(run.manifest.get('corpus', {}).get('input', '?')))}"
)
c = st.columns([1, 1, 1, 2])
c[0].metric("Documents", f"{summary['documents']:,}")
c[1].metric("Topics", f"{summary['topics']:,}")
c[2].metric(
    "Outlier share",
    f"{summary['outlier_share']:.1%}",
    help="Documents HDBSCAN left unassigned even after outlier reduction.",
)
c[3].metric(
    "Date span",
    summary["date_span"],
    help=f"Binned by {summary['period']}"
    if summary["period"]
    else ui.public(run.manifest.get("trends_absent_reason")),
)


def new_since_last_update() -> None:
    """What the latest update added: its documents and the topics found among them."""
    info = update_info(run.manifest, run.docs, run.topics, run.lineage)
    if info is None:
        return
    with st.container(border=True):
        st.subheader("New since the last update")
        c = st.columns([1, 1, 1, 2])
        c[0].metric("New documents", f"{info.new_documents:,}")
        c[1].metric("New topics", f"{len(info.new_topics):,}")
        if info.ids_kept is not None and info.ids_previous is not None:
            c[2].metric(
                "Topics kept",
                f"{info.ids_kept:,} of {info.ids_previous:,}",
                help="Topics of the previous build that carry on under the same id.",
            )
        c[3].metric(
            "Step",
            f"{info.step} ({info.kind})",
            help=f"Previous build: {info.previous_build or '?'}",
        )
        if len(info.new_topics):
            picked = ui.picked_topic(
                info.new_topics,
                "overview_new_topics",
                {
                    "topic": st.column_config.NumberColumn("topic", width=50),
                    "label": st.column_config.TextColumn("label", width="large"),
                    "size": st.column_config.NumberColumn("documents", width="small"),
                },
                height=min(38 + 35 * len(info.new_topics), 300),
            )
            if picked is not None:
                ui.nav_to("topics", topic=picked)
            st.caption(
                "Topics with no predecessor in the previous build. Select one to open it; "
                "the Lineage page shows how every topic carried over."
            )
        else:
            st.caption(
                "The update found no new topic: its documents went to existing ones. "
                "The Lineage page shows how every topic carried over."
            )


new_since_last_update()

left, right = st.columns([9, 10], gap="medium")
with left:
    st.subheader("Largest topics")
    top = largest_topics(run.topics, 12)
    ui.topic_pills(
        top["topic"],
        top["label"],
        [f"{int(n):,} docs, {s:.1%}" for n, s in zip(top["size"], top["share"], strict=True)],
        key="overview_top",
    )
    st.caption("Select a topic to open it.")

with right:
    if not run.dated:
        st.subheader("Trends")
        st.info(
            ui.md_escape(
                f"No trends for this run: {ui.public(run.manifest.get('trends_absent_reason')) or 'the corpus has no dates'}."
            )
            + " See the Trends page for how to add dates."
        )
    else:
        themes = theme_data.theme_calls(run.themes, run.trends, run.labels)
        m = movers(run.topics, run.trends, run.over_time, n=6, exclude=covered_topics(themes))
        how = (
            "trend scores (trends.parquet)"
            if m.source == "trends"
            else "change in share between the latest periods and the ones before"
        )
        for (title, frame), called in zip(
            (("Rising", m.rising), ("Fading", m.fading)), theme_data.split(themes), strict=True
        ):
            st.subheader(title)
            for _, row in called.head(4).iterrows():
                st.markdown(
                    f"**Theme: {ui.md_escape(str(row['label']))}** ({theme_data.theme_note(row)})"
                )
                st.caption(ui.md_escape("Topics: " + row["fragments"]))
            if frame.empty:
                if called.empty:
                    st.caption(f"No topic is {title.lower()}.")
                continue
            brief = movers_brief(frame)
            ui.topic_pills(
                brief["topic"], brief["label"], mover_notes(brief), key=f"overview_{title}"
            )
        st.caption(
            f"Ranked by {how}; share of documents in the earlier window → the recent one. "
            "A theme is a group of related topics (a hierarchy node) called as one; its "
            "topics are listed under it, not among the single topics. "
            "The Trends page has the curves."
        )

if run.update_step <= 0:
    st.caption(
        f"{NO_HISTORY}: adding documents keeps its topics, and this page then shows what is new."
    )
    # Plain text, not st.code: the code block's highlighter added ~0.8 s to the first render.
    st.text(update_command(ctx.entry.name))
