"""Shown when the cache root holds no runs: how to build one.

Hosted (``TOPICTRENDS_READ_ONLY``), the page names no server path: the visitor cannot
build into the server's cache anyway, so it says who can.
"""

from pathlib import Path

import streamlit as st

from dashboard.access import read_only
from pipeline.store.cache import cache_root

root = st.session_state.get("_cache_root") or str(cache_root(None))
st.title("topictrends")
st.subheader("No runs yet")
if read_only():
    st.write(
        "This dashboard shows runs built by the offline pipeline, and its cache holds none yet. "
        "Its operators publish runs with `topictrends build` into the cache the dashboard "
        "serves; reload this page once they have."
    )
else:
    st.write(
        "The dashboard shows runs built by the offline pipeline, and there are none under this cache root:"
    )
    st.code(root, language=None)
    st.write("Build one from the bundled trending-papers corpus (a few minutes on a laptop, once):")
    st.code("topictrends build hf-trending-papers", language="bash")
    if Path(root) != (Path.cwd() / "cache").resolve():
        st.write(
            "That writes to the cache root named by `--cache-dir`, else `$TOPICTRENDS_CACHE`, else `./cache`. To build into this one:"
        )
        st.code(f"topictrends build hf-trending-papers --cache-dir {root}", language="bash")
    st.write(
        "Or build your own corpus (.csv, .tsv, .jsonl, .json, .parquet, or a trending-page .txt); name its date column to get trends:"
    )
    st.code("topictrends build my_corpus.csv --date-col published", language="bash")
    st.write("Then reload this page. To show runs from another cache root:")
    st.code("topictrends serve --cache-dir /path/to/cache", language="bash")
