"""The topictrends Streamlit dashboard: ``topictrends serve`` runs ``streamlit_app.py``.

Data access, filtering, aggregation and figure building are plain functions in
``data``, ``filters`` and ``figures`` (no Streamlit); ``loaders`` caches them per run,
``state`` keeps the view state in the URL, ``ui`` holds shared widgets, and each page is a
script in ``app_pages/``.
"""
