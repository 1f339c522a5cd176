"""Run info: the manifest, readable: counts, corpus, embedding, config, timings, versions.

Hosted, every value passes through ``ui.public``: the run's directory is shown as its build
name and the corpus's paths as file names, never as paths of the server.
"""

import pandas as pd
import streamlit as st

from dashboard import access, ui
from pipeline.stages.registry import STAGES
from pipeline.stages.titles import recorded

ctx = ui.page("run-info")
run = ctx.run
m = ui.public(run.manifest)
st.caption(
    f"{ui.md_escape(ctx.entry.name)} · built {m.get('created_at', '?')} · run key {m.get('run_key', '?')} · schema version {m.get('schema_version')}"
)
if access.read_only():  # the build's directory name, not where the server keeps it
    st.text(f"Build: {ctx.entry.name}/{run.path.resolve().name}")
else:
    st.text(f"Directory: {run.path.resolve()}")

counts = m.get("counts", {})
corpus = m.get("corpus", {})
c = st.columns(4)
c[0].metric(
    "Documents",
    f"{counts.get('documents', 0):,}",
    help=f"{corpus.get('rows_in', '?')} rows read; dropped {corpus.get('dropped_empty', 0)} empty and {corpus.get('dropped_duplicate', 0)} duplicate",
)
c[1].metric("Topics", counts.get("topics", 0))
c[2].metric(
    "Outliers",
    f"{counts.get('outliers', 0):,}",
    help=f"{counts.get('reassigned_outliers', 0)} reassigned to their nearest topic",
)
c[3].metric("Total build time", f"{m.get('total_seconds') or 0:.1f} s")

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Corpus")
    cols = corpus.get("columns", {})
    st.dataframe(
        pd.DataFrame(
            [
                ("input", corpus.get("input")),
                ("file", corpus.get("path")),
                ("content hash", corpus.get("content_hash")),
                ("rows in", corpus.get("rows_in")),
                ("dropped empty", corpus.get("dropped_empty")),
                ("dropped duplicate", corpus.get("dropped_duplicate")),
                *((f"{role} column", col or "-") for role, col in cols.items()),
                ("metadata columns", ", ".join(corpus.get("metadata_columns") or []) or "-"),
                (
                    "titles",
                    titles.reason() if (titles := recorded(m)) else "modelled with the text",
                ),
                ("dated documents", counts.get("dated_documents")),
                ("date span", " .. ".join(m.get("date_span") or []) or "undated"),
                ("period", m.get("period") or "-"),
                (
                    "trends",
                    "yes"
                    if run.handle.has("trends.parquet")
                    else (m.get("trends_absent_reason") or "no"),
                ),
            ],
            columns=["field", "value"],
        ).astype(str),
        hide_index=True,
        width="stretch",
    )
    st.subheader("Embedding")
    emb = m.get("embedding", {})
    st.dataframe(
        pd.DataFrame({"field": list(emb), "value": [str(v) for v in emb.values()]}),
        hide_index=True,
        width="stretch",
    )
    if m.get("notes"):
        st.subheader("Notes")
        for note in m["notes"]:
            st.text(note)
with right:
    st.subheader("Timings")
    timings = m.get("timings", {})
    order = {s: i for i, s in enumerate(STAGES)}
    t = pd.DataFrame(
        [
            {"stage": k, "seconds": v.get("seconds"), "cached": bool(v.get("cached"))}
            for k, v in sorted(timings.items(), key=lambda kv: order.get(kv[0], len(order)))
        ]
    )
    st.dataframe(
        t,
        hide_index=True,
        width="stretch",
        column_config={"seconds": st.column_config.NumberColumn(format="%.2f")},
    )
    st.subheader("Library versions")
    libs = m.get("libraries", {})
    st.dataframe(
        pd.DataFrame({"library": list(libs), "version": list(libs.values())}),
        hide_index=True,
        width="stretch",
    )

st.subheader("Config")
st.json(m.get("config", {}), expanded=1)
if m.get("trends"):
    st.subheader("Trend windows")
    st.json(m["trends"], expanded=1)
st.subheader("Artifacts")
arts = m.get("artifacts", {})
st.dataframe(
    pd.DataFrame(
        [
            {"file": k, "bytes": v.get("bytes"), "rows": v.get("rows"), "sha256": v.get("sha256")}
            for k, v in arts.items()
        ]
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "bytes": st.column_config.NumberColumn(format="localized"),
        "rows": st.column_config.NumberColumn(format="localized"),
    },
)
with st.expander("Stage keys"):
    st.json(m.get("stage_keys", {}))
