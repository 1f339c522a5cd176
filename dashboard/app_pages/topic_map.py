"""Topic map: the documents at their 2-d positions (a density image and a sample above the
point budget), selections over every document, zoom; and the intertopic distance map."""

from typing import Any

import streamlit as st

from dashboard import loaders, map_data, map_figures, state, topic_figures, ui
from dashboard.run_data import OUTLIER

TABLE_ROWS = 5_000  # selected documents listed on the page (the CSV has them all)
COLOR_NAMES = {"topic": "topic", map_figures.BRANCH_COLORS: "topic (by hierarchy branch)"}


def map_caption(total: int, meta: Any, filtered: bool, zoom: str | None) -> str:
    """What the map shows: documents in view, and whether they are all drawn as points."""
    in_view, drawn = int(meta["in_view"]), int(meta["drawn"])
    note = f"{in_view:,} of {total:,} documents" + (" in this zoomed view" if zoom else "")
    note += " (filtered in the sidebar)" if filtered else ""
    if drawn < in_view:
        note += (
            f"; {drawn:,} drawn as points (a sample with every topic), the grey density "
            "shows them all"
        )
    return note + ". Box or lasso select (toolbar) to list every document inside; hover for titles."


ctx = ui.page("map")
run = ctx.run
kinds = run.facet_kinds()

views = {"docs": "Documents", "intertopic": "Intertopic distance"}
view = ui.view_switch("view", views, "docs")

if view == "docs":
    color_options = ["topic", map_figures.BRANCH_COLORS, *kinds]
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
            format_func=lambda c: COLOR_NAMES.get(c) or f"{c} ({kinds[c]})",
        )
    with c2:
        show_outliers = state.bound(
            st.checkbox,
            "outliers",
            value=state.get_str("outliers", "1") != "0",
            to_param=lambda v: None if v else "0",
            label="Show outliers",
        )
    budget, problem = map_data.point_budget()
    if problem:
        st.warning(problem)
    zoom = state.get_str("zoom")
    if zoom is not None and map_data.Extent.from_param(zoom) is None:
        state.reject("zoom")
        zoom = None
    path, key = ctx.path_key
    points, fig = loaders.map_view(
        path, key, color, bool(show_outliers), loaders.filter_key(ctx.filters), zoom, budget
    )
    with c3:
        st.caption(map_caption(len(run.docs), fig.layout.meta, ctx.filters.active, zoom))
    event = st.plotly_chart(
        fig,
        key="doc_map" if zoom is None else f"doc_map.{zoom}",  # a new view, a new selection
        on_select="rerun",
        selection_mode=("box", "lasso"),
        config={"displaylogo": False, "scrollZoom": True},
    )
    selection = (event or {}).get("selection") or {}
    inside = map_data.selection_mask(points, selection)
    rows = points.rows[inside].tolist() if inside is not None else map_figures.selected_rows(event)
    b1, b2 = st.columns([1, 4])
    target = map_data.selection_extent(selection)
    if target is not None and b1.button("Zoom to selection", icon=":material/zoom_in:"):
        state.put("zoom", target.to_param())
        st.rerun()
    if zoom is not None and b2.button("Whole map", icon=":material/zoom_out_map:"):
        state.put("zoom", None)
        st.rerun()
    if rows:
        st.subheader(f"{len(rows):,} selected documents")
        shown_rows = rows[:TABLE_ROWS]
        if len(rows) > TABLE_ROWS:
            st.caption(f"The first {TABLE_ROWS:,} are listed; the CSV holds all {len(rows):,}.")
        frame = ui.doc_frame(run, shown_rows)
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
