"""Documents: the filtered documents (sidebar), semantic search, a CSV download."""

import numpy as np
import streamlit as st

from dashboard import loaders, state, ui
from pipeline.errors import CacheError

ctx = ui.page("documents")
run = ctx.run
emb = ui.public(run.manifest.get("embedding", {}))

c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
with c1:
    sem = ui.search_box(
        "sem",
        "Semantic search",
        "describe what you are looking for",
        help=f"Ranks documents by cosine similarity to the query, embedded with this run's model ({emb.get('model', '?')}).",
    )
k = state.get_int("k", 50)
if not 1 <= k <= 1000:
    state.reject("k")
    k = 50
with c2:
    k = state.bound(
        st.number_input,
        "k",
        value=k,
        to_param=lambda v: None if int(v) == 50 else int(v),
        label="Results",
        min_value=1,
        max_value=1000,
        step=10,
    )

mask = ctx.mask()
path, key = ctx.path_key
extra = None
if sem:
    try:
        rows, scores = loaders.semantic(
            path, key, sem, int(k), loaders.filter_key(ctx.filters), str(ctx.root)
        )
    except CacheError as exc:
        st.error(ui.md_escape(ui.public(str(exc))), icon=":material/error:")
        rows, scores = np.flatnonzero(mask), None
    if scores is not None:
        extra = {"similarity": scores}
        st.caption(
            f"Top {len(rows):,} of {int(mask.sum()):,} matching documents by similarity to the query"
            + (" (sidebar filters applied)." if ctx.filters.active else ".")
        )
else:
    rows = np.flatnonzero(mask)
    st.caption(
        f"{len(rows):,} of {len(run.docs):,} documents"
        + (
            " match the sidebar filters."
            if ctx.filters.active
            else ". Narrow them with the filters in the sidebar."
        )
    )

frame = ui.doc_frame(run, rows, extra)
picked = ui.doc_table(frame, key=f"docs_table.{sem}", height=440)
ui.csv_download(run, rows, "documents", extra)
ui.doc_preview(run, picked, fallback=int(rows[0]) if len(rows) else None)
