"""The ``/export/<ticket>`` route (``dashboard/server.py`` mounts it): a ticket's CSV, streamed.

A ticket (``export.issue``) is handed out only to a page that passed the sign-in gate, but it
works for ``export.TTL`` seconds, so the route checks access again on every download with the
gate's own rules (``gate.current_settings`` and ``access.admit``): a user removed from the
allow-list, a secrets file broken since the ticket was issued, or a visitor who signed out
gets 403 and one short line, no path and no detail. Only then is the ticket redeemed, and it
must belong to the signed-in user (404 otherwise, as for an unknown or expired one).

Who is signed in comes from Streamlit's signed login cookie, read the way Streamlit's own
websocket reads it (its cookie secret, its signature, its chunking): Streamlit has no public
API for it, so ``tests/dashboard/test_export_route.py`` signs a cookie with Streamlit's own
writer and reads it back here, and a Streamlit upgrade that changes the cookie fails that test
instead of every download. Anything unexpected reads as "not signed in" (fail closed).

Under ``server.baseUrlPath`` the route and the page's link both carry the base path
(``export.path``), as Streamlit's own routes do; its login cookie is scoped to that path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from dashboard import access, export, gate

GONE = "This download link has expired or is not yours. Download again from the dashboard.\n"
REFUSED = "Access refused.\n"


def signed_in(request: Request) -> dict[str, Any]:
    """Streamlit's user info from the request's signed login cookie (``is_logged_in``,
    ``email``, ``email_verified``...), or {} when there is none or it does not verify."""
    try:
        from streamlit.auth_util import get_cookie_with_chunks
        from streamlit.web.server.server_util import get_cookie_secret
        from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value
        from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME

        secret = get_cookie_secret()

        def one(name: str) -> bytes | None:
            raw = request.cookies.get(name)
            return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

        raw = get_cookie_with_chunks(one, USER_COOKIE_NAME)
        info = json.loads(raw) if raw else {}
    except Exception:  # no secret, a cookie that does not decode, a changed Streamlit
        return {}
    return info if isinstance(info, dict) else {}


def admitted(user: Mapping[str, Any]) -> bool:
    """Whether ``user`` may download now: the same configuration check and allow-list
    decision as a page load (a broken configuration admits nobody)."""
    settings = gate.current_settings()
    return settings is not None and access.admit(settings, user).allowed


async def download(request: Request) -> Response:
    """Stream the CSV of one ticket: 403 when the user may not see the dashboard now, 404
    when the ticket is unknown, expired or someone else's."""
    user = signed_in(request)
    if not admitted(user):
        return PlainTextResponse(REFUSED, status_code=403, headers={"Cache-Control": "no-store"})
    email = str(user.get("email") or "") if user.get("is_logged_in", False) else ""
    ticket = export.redeem(request.path_params["ticket"], email)
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


def route(base_url: str | None) -> Route:
    """The export route under Streamlit's ``server.baseUrlPath`` (``''`` or None: the root)."""
    return Route(export.path(base_url, "{ticket}"), download)
