"""The topictrends Streamlit dashboard: ``topictrends serve`` runs ``server.py`` (``streamlit_app.py``
as an ASGI app with the streamed CSV export route).

Data access, filtering, aggregation and figure building are plain functions (no
Streamlit), one module per job: ``run_data`` reads a run, ``*_data`` modules shape what a
page shows (``overview_data``, ``topic_data``, ``time_data``, ``tree_data``,
``lineage_data``, ``facet_data``), ``filters`` selects documents, ``doc_query`` pages, sorts and exports them over
Parquet (DuckDB), ``search_index`` searches their embeddings, ``*_figures`` modules
draw it (``figure_style`` is what they share); ``loaders`` caches them per run,
``state`` keeps the view state in the URL, ``ui`` holds shared widgets, and each page is a
script in ``app_pages/``.
"""
