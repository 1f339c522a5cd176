"""Topics: a sortable, searchable table; choosing a topic opens its detail."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import (
    curation_ui,
    lineage_figures,
    loaders,
    state,
    time_figures,
    topic_figures,
    ui,
)
from dashboard.filters import Filters
from dashboard.lineage_data import NO_HISTORY, topic_history_rows, topic_lineage, update_command
from dashboard.time_data import share_matrix
from dashboard.topic_data import (
    keyword_table,
    label_note,
    nearest_topics,
    representative_docs,
    topics_table,
)
from pipeline.periods import period_label

ctx = ui.page("topics")
run = ctx.run

query = ui.search_box("tq", "Search topics", "label or keyword", label_visibility="collapsed")
table = topics_table(run.topics, run.over_time, run.trends, query or "")
column_config = {
    "topic": st.column_config.NumberColumn("topic", width="small"),
    "label": st.column_config.TextColumn("label", width="medium"),
    "size": st.column_config.NumberColumn("documents", width="small"),
    "share": st.column_config.NumberColumn("share", format="percent", width="small"),
    "keywords": st.column_config.TextColumn("top keywords", width="large"),
    "share_over_time": st.column_config.LineChartColumn(
        "share over time", width="medium", y_min=0.0
    ),
    "category": st.column_config.TextColumn("trend", width="small"),
    "growth": st.column_config.NumberColumn(
        "growth",
        format="%.2f",
        width="small",
        help="log ratio of recent to previous share (0.69 = doubled)",
    ),
    "q_value": st.column_config.NumberColumn(
        "q", format="%.3f", width="small", help="Benjamini-Hochberg adjusted p-value of the growth"
    ),
}
picked = ui.picked_topic(
    table,
    f"topics_table.{query}",
    column_config,
    height=min(420, 38 + 35 * max(len(table), 1)),
)
if picked is not None and state.changed(f"topics_table.{query}", picked):
    state.put("topic", picked)
st.caption(
    f"{len(table)} of {len(run.topics)} topics. Click a column header to sort, a row to open the topic."
)


def detail(topic: int) -> None:
    row = run.topics[run.topics["topic"] == topic].iloc[0]
    st.header(ui.md_escape(ui.topic_name(run, topic)), divider="gray")
    if note := label_note(run.topics, topic, run.manifest):
        st.caption(ui.md_escape(note))
    curation_ui.topic_notes(run, topic)
    curation_ui.edit_controls(run, topic)
    c = st.columns(4)
    c[0].metric("Documents", f"{int(row['size']):,}")
    c[1].metric("Share of corpus", f"{float(row['share']):.1%}")
    if run.trends is not None and topic in set(run.trends["topic"]):
        tr = run.trends[run.trends["topic"] == topic].iloc[0]
        c[2].metric("Trend", str(tr["category"]))
        if np.isfinite(tr["growth"]):
            c[3].metric(
                "Growth",
                f"{tr['growth']:+.2f}",
                help=f"log share ratio, 95% CI {tr['growth_ci_low']:+.2f} .. {tr['growth_ci_high']:+.2f}, q = {tr['q_value']:.3f}",
            )
    neighbours(topic)
    if run.dated:
        share_over_time(topic)
    history(topic)
    documents(topic, int(row["size"]))


def neighbours(topic: int) -> None:
    """Its keywords, and the topics whose centroids are nearest (select one to open it)."""
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Keywords")
        st.plotly_chart(
            topic_figures.keyword_bars(keyword_table(run.topics, topic)),
            key="kw_bars",
            config={"displayModeBar": False},
        )
    with right:
        st.subheader("Nearest topics")
        near = nearest_topics(run.topic_embeddings, topic, k=6)
        if near:
            near_df = pd.DataFrame(
                {
                    "topic": [t for t, _ in near],
                    "similarity": [s for _, s in near],
                    "label": [run.labels.get(t, "") for t, _ in near],
                }
            )
            near_pick = ui.picked_topic(
                near_df,
                f"near.{topic}",
                {
                    "topic": st.column_config.NumberColumn("topic", width="small"),
                    "similarity": st.column_config.ProgressColumn(
                        "cosine", min_value=0.0, max_value=1.0, format="%.2f", width="small"
                    ),
                    "label": st.column_config.TextColumn("label", width="large"),
                },
            )
            if near_pick is not None:
                state.put("topic", near_pick)
                st.rerun()
            st.caption("Cosine similarity of topic centroids. Select one to open it.")
        else:
            st.caption("No other topics.")


def share_over_time(topic: int) -> None:
    """Its share per period of the run, and its keywords per period."""
    st.subheader("Share over time")
    ot = loaders.over_time(*ctx.path_key, run.manifest.get("period"))
    m = share_matrix(ot.table, ot.period)
    st.plotly_chart(
        time_figures.share_lines(m, run.labels, [topic], ot.period, ot.partial),
        key="topic_share",
        config={"displayModeBar": False},
    )

    kot = run.keywords_over_time
    if kot is not None:
        mine = kot[kot["topic"] == topic].sort_values("period_start", ascending=False)
        with st.expander(f"Keywords per {run.manifest.get('period')} ({len(mine)} periods)"):
            st.dataframe(
                pd.DataFrame(
                    {
                        "period": [period_label(p, ot.period) for p in mine["period_start"]],
                        "documents": mine["count"].to_numpy(),
                        "keywords": [", ".join(list(k)[:8]) for k in mine["keywords"]],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
            st.caption(
                "c-TF-IDF over each period's documents only, so earlier periods never use later words."
            )


def documents(topic: int, size: int) -> None:
    """Its representative documents, then all of its documents that pass the filters."""
    st.subheader("Representative documents")
    rep = representative_docs(run.docs, run.topics, topic)
    for _, d in rep.iterrows():
        with st.container(border=True):
            st.text(d["title"] or "(untitled)")
            st.text(" · ".join(x for x in (d["date_str"], f"id {d['doc_id']}") if x))
            st.text(d["text"][:600] + (" …" if len(d["text"]) > 600 else ""))

    st.subheader("Its documents")
    f = ctx.filters
    in_topic = Filters((topic,), f.date_from, f.date_to, f.query, f.facets)
    rows = np.flatnonzero(ctx.mask(in_topic))
    if ctx.filters.active:
        st.caption(
            f"{len(rows):,} of {size:,} documents match the sidebar filters (its topic filter aside)."
        )
    frame = ui.doc_frame(run, rows)
    picked = ui.doc_table(
        frame, key=f"topic_docs.{topic}", height=min(400, 38 + 35 * max(len(frame), 1))
    )
    ui.csv_download(run, rows, f"topic-{topic}")
    ui.doc_preview(run, picked, fallback=int(rows[0]) if len(rows) else None)


def history(topic: int) -> None:
    """The topic across the run's updates: size, label and relation per step, and the
    lineage rows that say what it came from."""
    st.subheader("History")
    hist = run.topic_history
    if hist is None or run.update_step <= 0:
        st.caption(f"{NO_HISTORY}: adding documents records each topic's history.")
        st.code(update_command(ctx.entry.name), language="bash")
        return
    rows = topic_history_rows(hist, topic)
    if len(rows) > 1:
        st.plotly_chart(
            lineage_figures.topic_history_figure(hist, topic),
            key="topic_history",
            config={"displayModeBar": False},
        )
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        key=f"history.{topic}",
        column_config={
            "step": st.column_config.NumberColumn("step", width="small", format="%d"),
            "date": st.column_config.TextColumn("date", width="small"),
            "build": st.column_config.TextColumn("build", width="medium"),
            "label": st.column_config.TextColumn("label", width="large"),
            "size": st.column_config.NumberColumn("documents", width="small"),
            "relation": st.column_config.TextColumn("relation", width="small"),
        },
    )
    first = int(rows["step"].iloc[0]) if len(rows) else run.update_step
    st.caption(
        f"Since step {first}: one row per build of the run it was part of "
        "(step 0 = the first build)."
        if len(rows) > 1 or first == 0
        else f"The topic first appears at step {first}."
    )
    lin = run.lineage
    if lin is None or run.update_step <= 0:
        return
    mine = topic_lineage(lin, topic)
    if mine.empty:
        st.caption("No lineage rows name this topic in the latest update.")
        return
    st.caption(
        f"Lineage at step {run.update_step}: where it came from (a merge lists every previous "
        "topic that went into it; a split lists the other topics its predecessor became)."
    )
    other = ui.picked_topic(
        mine,
        f"topic_lineage.{topic}",
        {
            "previous_topic": st.column_config.NumberColumn("previous", width="small", format="%d"),
            "topic": st.column_config.NumberColumn("topic", width="small", format="%d"),
            "shared_documents": st.column_config.NumberColumn("shared docs", width="small"),
            "document_overlap": st.column_config.NumberColumn(
                "overlap", format="percent", width="small"
            ),
            "similarity": st.column_config.NumberColumn("similarity", format="%.2f", width="small"),
        },
    )
    if other is not None and state.changed(f"topic_lineage.{topic}", other) and other != topic:
        state.put("topic", other)
        st.rerun()


curation_ui.log_panel(run)
topic = ui.topic_picker(run)
if topic is not None:
    detail(topic)
else:
    st.caption("Choose a topic to see its keywords, documents and neighbours.")
