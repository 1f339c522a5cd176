"""The dashboard as an ASGI app: Streamlit's own routes plus the streamed CSV export.

``topictrends serve`` runs ``streamlit run dashboard/server.py``; Streamlit finds ``app``
below and serves ``streamlit_app.py`` exactly as before (same sign-in routes, same config
flags), with one more route, ``/export/<ticket>`` (``dashboard.export``).
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from streamlit.starlette import App

from dashboard import export

GONE = "This download link has expired or is not yours. Download again from the dashboard.\n"


def signed_in_user(request: Request) -> str:
    """The e-mail in Streamlit's signed sign-in cookie, or '' (not signed in, or not valid)."""
    try:
        from streamlit.web.server.starlette.starlette_auth_routes import (
            _get_cookie_value_from_request,
        )
        from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME

        raw = _get_cookie_value_from_request(request, USER_COOKIE_NAME)
        info = json.loads(raw) if raw else {}
    except Exception:  # no cookie secret, a cookie that does not decode: not signed in
        return ""
    return str(info.get("email") or "") if info.get("is_logged_in", True) else ""


async def download(request: Request) -> Response:
    """Stream the CSV of one ticket (``export.issue``), or 404 when it is unknown or expired."""
    ticket = export.redeem(request.path_params["ticket"], signed_in_user(request))
    if ticket is None:
        return PlainTextResponse(GONE, status_code=404)
    headers = {
        "Content-Disposition": f'attachment; filename="{ticket.file_name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(
        export.guarded(ticket.chunks(), ticket.query.name),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


export.served = True
app = App(
    str(Path(__file__).with_name("streamlit_app.py")),
    routes=[Route(f"/{export.ROUTE}/{{ticket}}", download)],
)
