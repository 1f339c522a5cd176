"""Trends: topic shares (or counts) over time at a chosen granularity.

Opens on the dense window; sparse periods are faded and not joined; share lines carry a 95%
Wilson band; partial periods are marked (rules: dashboard.trend_data, docs/dashboard.md).
"""

import pandas as pd
import streamlit as st

from dashboard import loaders, state, theme_data, time_figures, trend_data, ui
from dashboard.overview_data import biggest_movers, movers
from dashboard.run_data import OUTLIER
from dashboard.theme_data import covered_topics
from dashboard.time_data import allowed_periods, share_matrix, top_topics_by_size
from pipeline.periods import period_label

ctx = ui.page("trends")
run = ctx.run

if not run.dated:
    reason = ui.public(run.manifest.get("trends_absent_reason")) or "the corpus has no dates"
    st.info(ui.md_escape(f"This run has no trends: {reason}."), icon=":material/event_busy:")
    st.write(
        "Trends need a date per document. Rebuild the run naming the column that holds the dates:"
    )
    corpus = ui.public(run.manifest.get("corpus", {}))  # hosted: the input's file name only
    st.code(
        f"topictrends build {corpus.get('input', '<INPUT>')} --name {run.name} --date-col <column> --force",
        language="bash",
    )
    st.write(
        "Dates may be ISO days (2024-03-05), months (2024-03) or years (2024); pass `--date-format '%d/%m/%Y'` for other layouts. A .txt trending-papers page has no dates, so export the corpus as CSV or JSON Lines with a date column first."
    )
    unused = corpus.get("metadata_columns") or []
    if unused:
        st.caption(
            "Columns of this corpus not used yet (a date column may be among them): "
            + ", ".join(ui.md_escape(c) for c in unused)
        )
else:
    periods = allowed_periods(run.docs)
    default = run.manifest.get("period") if run.manifest.get("period") in periods else periods[0]
    gran = state.choice("gran", periods, default)
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    with c1:
        gran = state.bound(
            st.selectbox,
            "gran",
            value=gran,
            to_param=lambda v: None if v == default else v,
            label="Granularity",
            options=periods,
            help="Never finer than the dates' precision.",
        )
    ot = loaders.over_time(*ctx.path_key, gran)
    full = share_matrix(ot.table, gran)
    totals = trend_data.period_totals(ot.table, full.columns)
    start = trend_data.dense_start(totals)
    sparse = trend_data.sparse_periods(totals)
    with c2:
        whole = start is None or state.bound(
            st.toggle,
            "span",
            value=state.choice("span", ["all"]) == "all",
            to_param=lambda v: "all" if v else None,
            label="Whole span",
            help="The page opens on the dense window: from the first of "
            f"{trend_data.DENSE_RUN} periods in a row holding at least "
            f"{trend_data.DENSE_FRACTION:.0%} of the median period's documents "
            f"(and at least {trend_data.SPARSE_PERIOD_DOCS}).",
        )
    shown_from = None if whole else start
    matrix = trend_data.clip_from(full, shown_from)
    counts = trend_data.clip_from(share_matrix(ot.table, gran, value="count"), shown_from)
    n_periods = matrix.shape[1]
    note = f"{n_periods} periods of one {gran}; shares are of all documents in the period, outliers included."
    if start is not None and not whole:
        early = int(totals[totals.index < start].sum())
        note += f" Showing from {period_label(start, gran)}, where the data turns dense; the {early} documents before it are under 'Whole span'."
    shown_sparse = {p for p in sparse if p in set(matrix.columns)}
    if shown_sparse:
        note += f" {len(shown_sparse)} sparse periods (fewer than {trend_data.SPARSE_PERIOD_DOCS} documents) are faded markers, not joined and without a band, and grey in the heatmap."
    if ot.partial:
        note += " Shaded (starred) periods are partial: " + "; ".join(
            f"{period_label(k, gran)}: {v}" for k, v in sorted(ot.partial.items())
        )
    st.caption(ui.md_escape(note))
    show = ui.view_switch(
        "tv",
        {"shares": "shares", "counts": "counts"},
        "shares",
        label="Show",
        help="Shares of all documents in the period (with a 95% interval), or document counts.",
    )

    themes = theme_data.theme_calls(run.themes, run.trends, run.labels)
    m = movers(run.topics, run.trends, run.over_time, n=8, exclude=covered_topics(themes))
    info = run.manifest.get("trends") or {}
    with st.expander("Biggest movers: trend scores", expanded=False):
        if m.source == "trends":
            rw, pw = info.get("recent_window") or {}, info.get("previous_window") or {}
            if rw and pw:
                st.caption(
                    f"Recent window {rw.get('start')} .. {rw.get('end')} ({rw.get('documents')} documents) against {pw.get('start')} .. {pw.get('end')} ({pw.get('documents')} documents), at the run's {run.manifest.get('period')} bins."
                )
        else:
            st.caption(
                "This run has no trend scores (trends.parquet); movers are ranked by the change in share between the latest periods and the ones before."
            )
        fmt = {
            "topic": st.column_config.NumberColumn("topic", width="small"),
            "label": st.column_config.TextColumn("label", width="large"),
            "category": st.column_config.TextColumn("trend", width="small"),
            "recent_share": st.column_config.NumberColumn(
                "recent share", format="percent", width="small"
            ),
            "previous_share": st.column_config.NumberColumn(
                "before", format="percent", width="small"
            ),
            "growth": st.column_config.NumberColumn(
                "growth",
                format="%.2f",
                width="small",
                help="log ratio of the recent to the previous share (0.69 = doubled)",
            ),
            "change": st.column_config.NumberColumn("change", format="percent", width="small"),
            "q_value": st.column_config.NumberColumn(
                "q", format="%.3f", width="small", help="Benjamini-Hochberg adjusted p-value"
            ),
        }
        if not themes.empty:
            st.markdown("**Themes**")
            st.caption(
                "Groups of related topics (hierarchy nodes) called as one: their topics are "
                "too small to show the change alone, or all agree. Their topics are left "
                "out of the lists below."
            )
            shown = themes.drop(columns=["topics"]).rename(columns={"node": "theme"})
            theme_fmt = fmt | {
                "theme": st.column_config.NumberColumn("theme", width="small"),
                "fragments": st.column_config.TextColumn("topics (own call)", width="large"),
            }
            st.dataframe(shown, hide_index=True, width="stretch", column_config=theme_fmt)
        for title, frame in (("Rising", m.rising), ("Fading", m.fading)):
            st.markdown(f"**{title}**")
            st.dataframe(frame, hide_index=True, width="stretch", column_config=fmt)
        floor = info.get("testable_support")
        if floor:
            st.caption(
                f"'too few documents': fewer than {floor:g} documents in the two windows, "
                "too few for the test to see the share even double or halve."
            )

    options = [int(t) for t in run.topics["topic"]] + [OUTLIER]
    chosen = [t for t in state.get_ints("tt") if t in options]
    if state.get("tt") and len(chosen) < len(state.get_str("tt", "").split(",")):
        state.reject("tt", keep=True)  # some ids are not topics of this run: the rest stay
        state.put("tt", ",".join(map(str, chosen)))
    chosen = chosen or biggest_movers(run.topics, run.trends, run.over_time, n=5)
    chosen = state.bound(
        st.multiselect,
        "tt",
        value=chosen,
        to_param=lambda v: ",".join(str(t) for t in v),
        label="Topics on the lines",
        options=options,
        format_func=lambda t: ui.topic_name(run, t),
        help="Default: the biggest movers.",
    )
    if show == "counts":
        lines = time_figures.count_lines(counts, run.labels, chosen, gran, ot.partial, totals)
    else:
        lines = time_figures.share_lines(
            matrix, run.labels, chosen, gran, ot.partial, counts, totals, shown_sparse
        )
    st.plotly_chart(lines, key="trend_lines")

    st.subheader("All topics, stacked")
    top = top_topics_by_size(run.topics, 12)
    st.plotly_chart(
        time_figures.stacked_area(matrix, run.labels, top, gran, ot.partial), key="trend_area"
    )

    st.subheader("Topic × period")
    order = ui.view_switch(
        "ho",
        {"trend": "trend", "hierarchy": "hierarchy"},
        "trend",
        label="Rows ordered by",
        help="trend: from the most rising topic to the most fading (growth, else slope); hierarchy: related topics next to each other.",
    )
    heat_topics = top_topics_by_size(run.topics, 40)
    if order == "hierarchy":
        heat_topics = trend_data.hierarchy_order(run.hierarchy, heat_topics)
    else:
        heat_topics = trend_data.trend_order(run.trends, heat_topics)
    st.plotly_chart(
        time_figures.share_heatmap(
            counts if show == "counts" else matrix,
            run.labels,
            heat_topics,
            gran,
            ot.partial,
            sparse=shown_sparse,
            value="count" if show == "counts" else "share",
        ),
        key="trend_heat",
    )
    if len(run.topics) > len(heat_topics):
        st.caption(
            f"The {len(heat_topics)} largest of {len(run.topics)} topics. * marks a partial period."
        )
    with st.expander("Counts per period"):
        counts = ot.table.pivot_table(
            index="period_start", columns="topic", values="count", aggfunc="sum", fill_value=0
        )
        counts.index = [period_label(p, gran) for p in pd.DatetimeIndex(counts.index)]
        counts.columns = [str(c) for c in counts.columns]
        st.dataframe(counts, width="stretch")
