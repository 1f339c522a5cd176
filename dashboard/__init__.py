"""The topictrends Streamlit dashboard: ``topictrends serve`` runs ``streamlit_app.py``.

Data access, filtering, aggregation and figure building are plain functions (no
Streamlit), one module per job: ``run_data`` reads a run, ``*_data`` modules shape what a
page shows (``overview_data``, ``topic_data``, ``time_data``, ``tree_data``,
``lineage_data``, ``facet_data``), ``filters`` selects documents, ``*_figures`` modules
draw it (``figure_style`` is what they share); ``loaders`` caches them per run,
``state`` keeps the view state in the URL, ``ui`` holds shared widgets, and each page is a
script in ``app_pages/``.
"""
