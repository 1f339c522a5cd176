"""Metadata facets: each metadata column as bars or a histogram; selecting bars cross-filters."""

import numpy as np
import streamlit as st

from dashboard import facet_figures, loaders, state, ui
from dashboard.filters import FACET_PREFIX, format_range


def picked_bars(fig: object, col: str) -> list:
    """Show a facet chart; the bars picked on it (values, or [lo, hi] pairs)."""
    event = st.plotly_chart(
        fig,
        key=f"facet.{col}",
        on_select="rerun",
        selection_mode=("points", "box"),
        config={"displayModeBar": False},
    )
    return facet_figures.picked_values(event)


ctx = ui.page("facets")
run = ctx.run
kinds = run.facet_kinds()

if not kinds:
    st.info(
        "This corpus has no metadata columns besides title, text, date, id and link, so there is nothing to facet. Columns other than those in the corpus file are kept as metadata when the run is built."
    )
else:
    st.caption(
        "Click bars (shift-click for more; box-select on histograms) to filter every view by those values; the choices show in the sidebar's Metadata filters. Each chart counts the documents matching every other filter."
    )
    cols = st.columns(2, gap="large")
    for i, (col, kind) in enumerate(kinds.items()):
        others = loaders.filter_key(ctx.filters.without_facet(col))
        summary, n_others, n_values = loaders.facet_summary(*ctx.path_key, col, kind, others)
        sel = ctx.filters.facet(col)
        with cols[i % 2]:
            if kind == "categorical":
                fig = facet_figures.facet_bar(summary, sel[1] if sel else (), column=col)
                picked = [str(v) for v in picked_bars(fig, col)]
                if n_others:
                    st.caption(
                        f"Top 20 of {n_values:,} values; {n_others:,} documents have other values."
                    )
                if picked and state.changed(f"facet.{col}", picked):
                    state.put(FACET_PREFIX + col, picked)
                    st.rerun()
            else:
                fig = facet_figures.facet_hist(summary, kind, sel[1] if sel else None, column=col)
                picked = picked_bars(fig, col)
                if picked and state.changed(f"facet.{col}", [list(map(str, p)) for p in picked]):
                    lo = min(p[0] for p in picked)
                    hi = max(p[1] for p in picked)
                    state.put(FACET_PREFIX + col, format_range(lo, hi))
                    st.rerun()
            if sel and st.button(
                f"Clear {ui.md_escape(col)}", key=f"clear.{col}", icon=":material/close:"
            ):
                state.put(FACET_PREFIX + col, None)
                st.rerun()
            if st.button(
                f"Colour the map by {ui.md_escape(col)}",
                key=f"color.{col}",
                icon=":material/palette:",
            ):
                ui.nav_to("map", color=col, view=None)

    st.subheader("Matching documents")
    rows = np.flatnonzero(ctx.mask()) if ctx.filters.active else None
    picked_row, first = ui.paged_docs(run, rows, "facet_docs", metadata=list(kinds), height=380)
    ui.csv_download(run, rows, "facets")
    ui.doc_preview(run, picked_row, fallback=first)
