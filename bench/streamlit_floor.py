"""The floor for bench/dashboard.py: a bare Streamlit page with nothing but a title and a
sidebar multiselect of 80 options. Whatever it costs to render and to answer a pick in
headless Chromium on a machine is Streamlit's own cost there, before any topictrends page."""

import streamlit as st

st.title("Streamlit floor")
with st.sidebar:
    st.multiselect(
        "Topics", list(range(80)), format_func=lambda t: f"topic {t}", placeholder="All topics"
    )
st.caption("A title and one sidebar widget, nothing else.")
