"""Documents: the filtered documents (sidebar), semantic search, a CSV download.

The table is paged on the server (``ui.paged_docs``): the browser gets one page of rows
however many documents match.
"""

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

path, key = ctx.path_key
rows = None if not ctx.filters.active else np.flatnonzero(ctx.mask())
matching = len(run.docs) if rows is None else len(rows)
scores = None
if sem:
    try:
        rows, scores = loaders.semantic(
            path, key, sem, int(k), loaders.filter_key(ctx.filters), str(ctx.root)
        )
    except CacheError as exc:
        st.error(ui.md_escape(ui.public(str(exc))), icon=":material/error:")
        scores = None
    if scores is not None:
        st.caption(
            f"Top {len(rows):,} of {matching:,} matching documents by similarity to the query"
            + (" (sidebar filters applied)." if ctx.filters.active else ".")
        )
if scores is None:
    st.caption(
        f"{matching:,} of {len(run.docs):,} documents"
        + (
            " match the sidebar filters."
            if ctx.filters.active
            else ". Narrow them with the filters in the sidebar."
        )
    )

picked, first = ui.paged_docs(run, rows, f"docs_table.{sem}", scores=scores, height=440)
ui.csv_download(run, rows, "documents", None if scores is None else {"similarity": scores})
ui.doc_preview(run, picked, fallback=first)
