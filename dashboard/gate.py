"""The sign-in gate: with ``[auth]`` in the secrets, every page requires an allowed login.

``streamlit_app.main`` calls ``passes()`` before it lists or reads any run, so a visitor
who is signed out, or signed in but not on the allow-list (``access.py``), gets a page
with no run name, no cache path and no document on it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import access, ui


def secrets() -> dict[str, Any]:
    """The secrets as a plain dict; empty when there is no secrets file."""
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        return st.secrets.to_dict()
    except Exception:  # an unreadable secrets file: auth cannot be on, and says so at login
        return {}


def auth_enabled(conf: dict[str, Any]) -> bool:
    return isinstance(conf.get("auth"), dict) and bool(conf["auth"])


def passes() -> bool:
    """True when this session may see data; otherwise draws the sign-in or refusal page."""
    conf = secrets()
    if not auth_enabled(conf):
        return True
    if not st.user.get("is_logged_in", False):  # absent (not signed in) counts as signed out
        sign_in_page()
        return False
    policy = access.Policy.load(conf)
    email = st.user.get("email")
    decision = access.decide(policy, email, st.user.get("email_verified"))
    if not decision.allowed:
        refused_page(email, decision.reason, policy.contact)
        return False
    with st.sidebar:
        st.caption(ui.md_escape(f"Signed in as {email}"))
        st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="gate.logout")
    return True


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
