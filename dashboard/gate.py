"""The sign-in gate: with ``[auth]`` in the secrets, every page requires an allowed login.

``streamlit_app.main`` calls ``passes()`` before it lists or reads any run, so a visitor
who is signed out, or signed in but not on the allow-list (``access.py``), gets a page
with no run name, no cache path and no document on it.

The configuration is checked on every page load, and on every CSV download
(``export_route``), with the same rules the container's entrypoint applies before starting
(``access.check``, then ``access.admit`` for the visitor). A broken one (a secrets file that
does not parse, an incomplete ``[auth]``, a bad allow-list entry, a hosted dashboard
without ``[auth]``) refuses service to everyone: the page says the sign-in configuration
is broken and nothing else, and the server log gets one line saying what is wrong. It
never falls back to serving without sign-in. Secrets files are re-read when they change
(Streamlit watches them), so a file broken while the server runs is refused too.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import streamlit as st
from streamlit import config
from streamlit.errors import StreamlitSecretNotFoundError

from dashboard import access, ui

_reported: set[str] = set()  # problems already logged by this server process
_lock = threading.Lock()


def secrets() -> dict[str, Any]:
    """The secrets as a plain dict: empty when there is no secrets file; a ConfigError
    when one cannot be loaded (the old ``except: return {}`` turned sign-in off)."""
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return {}
        raise access.ConfigError(str(exc), in_file=False) from None  # names file and line
    except Exception as exc:  # unreadable (permissions, encoding): refuse, never open
        raise access.ConfigError(f"cannot be loaded ({type(exc).__name__}: {exc})") from None


def sources() -> str:
    """The secrets files Streamlit found, for the log line."""
    found = [str(p) for p in config.get_option("secrets.files") if os.path.exists(p)]
    return f"secrets ({', '.join(found)})" if found else "secrets"


def report(problem: str) -> None:
    """One line in the server log per problem, not one per page load."""
    with _lock:
        if problem in _reported:
            return
        _reported.add(problem)
    print(
        f"topictrends: sign-in configuration broken, serving nothing: {problem}",
        file=sys.stderr,
        flush=True,
    )


def current_settings() -> access.Settings | None:
    """The sign-in configuration as it is now (``access.check`` on the secrets and the
    environment), or None when it is broken: then one line goes to the server log and
    nobody may see anything. Pages and the export route both ask here."""
    try:
        settings = access.check(secrets())
    except access.ConfigError as exc:
        report(exc.located(sources()))
        return None
    with _lock:
        _reported.clear()  # fixed: should it break again, say so again
    return settings


def passes() -> bool:
    """True when this session may see data; otherwise draws the sign-in or refusal page."""
    settings = current_settings()
    if settings is None:
        broken_page()
        return False
    if not settings.sign_in:
        return True
    if not st.user.get("is_logged_in", False):  # absent (not signed in) counts as signed out
        sign_in_page()
        return False
    email = st.user.get("email")
    decision = access.admit(settings, st.user)
    if not decision.allowed:
        refused_page(email, decision.reason, settings.policy.contact)
        return False
    with st.sidebar:
        st.caption(ui.md_escape(f"Signed in as {email}"))
        st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="gate.logout")
    return True


def broken_page() -> None:
    """What everyone sees while the configuration is broken: no detail, since the problem
    may name a server path or a setting; the detail is in the server log."""
    st.title("Dashboard unavailable")
    st.error(
        "The dashboard's sign-in configuration is broken, so it shows nothing until its "
        "owners fix it.",
        icon=":material/lock:",
    )
    st.write("What is wrong is in the server's log. Please tell the dashboard's owners.")


def sign_in_page() -> None:
    st.title("topictrends")
    st.write("This dashboard is private to its team. Sign in with your company account.")
    st.button(
        "Sign in", icon=":material/login:", on_click=st.login, type="primary", key="gate.login"
    )


def refused_page(email: object, reason: str, contact: str | None) -> None:
    st.title("Access refused")
    who = email if isinstance(email, str) and email else "(no e-mail address)"
    st.error(ui.md_escape(f"You are signed in as {who}: {reason}."), icon=":material/block:")
    ask = f"Ask {contact} to add you" if contact else "Ask the dashboard's owners to add you"
    st.write(
        ui.md_escape(
            f"{ask}, or sign out and sign in with another account. Nothing from the "
            "dashboard is shown until your address is on its allow-list."
        )
    )
    st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="gate.logout")
