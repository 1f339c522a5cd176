"""Topic map: every document in WebGL at its 2-d position, and the intertopic distance map."""

import streamlit as st

from dashboard import loaders, map_figures, state, topic_figures, ui
from dashboard.run_data import OUTLIER

ctx = ui.page("map")
run = ctx.run
kinds = run.facet_kinds()

views = {"docs": "Documents", "intertopic": "Intertopic distance"}
view = ui.view_switch("view", views, "docs")

if view == "docs":
    color_options = ["topic", *kinds]
    color = state.choice("color", color_options, "topic")
    c1, c2, c3 = st.columns([2, 1, 3], vertical_alignment="bottom")
    with c1:
        color = state.bound(
            st.selectbox,
            "color",
            value=color,
            to_param=lambda v: None if v == "topic" else v,
            label="Colour by",
            options=color_options,
            format_func=lambda c: "topic" if c == "topic" else f"{c} ({kinds[c]})",
        )
    with c2:
        show_outliers = state.bound(
            st.checkbox,
            "outliers",
            value=state.get_str("outliers", "1") != "0",
            to_param=lambda v: None if v else "0",
            label="Show outliers",
        )
    mask = ctx.mask()
    shown = int(
        mask.sum() if show_outliers else (mask & (run.docs["topic"].to_numpy() != OUTLIER)).sum()
    )
    with c3:
        note = f"{shown:,} of {len(run.docs):,} documents" + (
            " (filtered in the sidebar)" if ctx.filters.active else ""
        )
        st.caption(note + ". Box or lasso select (toolbar) to list documents; hover for titles.")
    path, key = ctx.path_key
    fig = loaders.map_figure(path, key, color, bool(show_outliers), loaders.filter_key(ctx.filters))
    event = st.plotly_chart(
        fig,
        key="doc_map",
        on_select="rerun",
        selection_mode=("box", "lasso"),
        config={"displaylogo": False, "scrollZoom": True},
    )
    rows = map_figures.selected_rows(event)
    if rows:
        st.subheader(f"{len(rows):,} selected documents")
        frame = ui.doc_frame(run, rows)
        picked = ui.doc_table(frame, key="map_selected", height=min(420, 38 + 35 * len(frame)))
        ui.csv_download(run, rows, "selection")
        ui.doc_preview(run, picked, fallback=rows[0])
    else:
        st.caption("Nothing selected yet.")
else:
    topic = state.get_int("topic")
    fig = topic_figures.intertopic_map(run.topics, selected=topic)
    event = st.plotly_chart(
        fig,
        key="intertopic",
        on_select="rerun",
        selection_mode=("points",),
        config={"displaylogo": False},
    )
    picked = topic_figures.picked_topic(event)
    if picked is not None and state.changed("intertopic", picked):
        state.put("topic", picked)
        topic = picked
    st.caption(
        "Bubble area is topic size; nearby bubbles are topics with similar documents. Click a bubble to pick a topic."
    )
    if topic is not None and topic in run.labels and topic != OUTLIER:
        row = run.topics[run.topics["topic"] == topic].iloc[0]
        with st.container(border=True):
            st.subheader(ui.md_escape(ui.topic_name(run, topic)))
            st.text(
                f"{int(row['size']):,} documents · keywords: {', '.join(list(row['keywords'])[:10])}"
            )
            if st.button("Open in Topics", icon=":material/open_in_new:"):
                ui.nav_to("topics", topic=topic)
