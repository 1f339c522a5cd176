"""The dashboard as an ASGI app: Streamlit's own routes plus the streamed CSV export.

``topictrends serve`` runs ``streamlit run dashboard/server.py``; Streamlit finds ``app``
below and serves ``streamlit_app.py`` exactly as before (same sign-in routes, same config
flags), with one more route, ``/export/<ticket>`` under ``server.baseUrlPath``
(``dashboard.export_route``). Streamlit has loaded its config (flags, files, environment)
before it imports this module, so the base path is known here.
"""

from __future__ import annotations

from pathlib import Path

from streamlit import config
from streamlit.starlette import App

from dashboard import export, export_route

export.served = True
app = App(
    str(Path(__file__).with_name("streamlit_app.py")),
    routes=[export_route.route(config.get_option("server.baseUrlPath"))],
)
