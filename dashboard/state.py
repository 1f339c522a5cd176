"""View state that lives in the URL, so a copied link reopens the same view.

The session holds one dict of URL parameters (strings, or lists of strings for repeated
parameters). It is filled from ``st.query_params`` on the first run of a session, widgets
are bound to entries of it (``bound``), pages read and write it (``get``/``put``), and at
the end of every run ``write_url`` mirrors it back into the address bar. Parameters:

    page     the page (also the URL path)           run      run name (only listed runs)
    topic    chosen topic id                        node     chosen hierarchy node
    view     topic map view: docs | intertopic      color    map colouring: topic | <column>
    outliers 0 hides outliers on the map            gran     trends granularity
    tt       topics on the trend lines (ids)        tq       topic table search
    sem      semantic search query                  k        semantic search results
    hview    hierarchy view: tree | icicle          rel      lineage relations shown
    topics, from, to, q, f.<column>                 the document filters (filters.py)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

STATE = "_url_state"
BOOTED = "_url_booted"
SEEN = "_seen_events"
Param = str | list[str]


def params() -> dict[str, Param]:
    if STATE not in st.session_state:
        st.session_state[STATE] = {}
    return st.session_state[STATE]


def get(name: str, default: Any = None) -> Any:
    v = params().get(name)
    if v is None or v == "" or v == []:
        return default
    return v


def get_str(name: str, default: str | None = None) -> str | None:
    v = get(name)
    if isinstance(v, list):
        v = v[-1] if v else None
    return default if v is None else str(v)


def get_int(name: str, default: int | None = None) -> int | None:
    v = get_str(name)
    try:
        return int(v) if v is not None else default
    except ValueError:
        return default


def get_ints(name: str) -> list[int]:
    v = get(name)
    parts = ",".join(v if isinstance(v, list) else [v]).split(",") if v else []
    out = []
    for p in parts:
        p = p.strip()
        if p.lstrip("-").isdigit() and int(p) not in out:
            out.append(int(p))
    return out


def put(name: str, value: Any) -> None:
    """Set a URL parameter (None, '' or an empty list removes it)."""
    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        params().pop(name, None)
    elif isinstance(value, list | tuple):
        params()[name] = [str(v) for v in value]
    else:
        params()[name] = str(value)


def clear() -> None:
    params().clear()


def booted() -> bool:
    return bool(st.session_state.get(BOOTED))


def load_from_url() -> None:
    """Copy the address bar's parameters into the session (first run of a session only)."""
    st.session_state[STATE] = url_params()
    st.session_state[BOOTED] = True


def url_params() -> dict[str, Param]:
    out: dict[str, Param] = {}
    for key in st.query_params:
        values = st.query_params.get_all(key)
        out[key] = values[0] if len(values) == 1 else list(values)
    return out


def write_url(extra: dict[str, Param]) -> None:
    """Mirror the session's parameters (plus ``extra``: page, run) into the address bar."""
    want = {**extra, **{k: v for k, v in params().items() if k not in extra}}
    if url_params() != want:
        st.query_params.from_dict(want)


def bound(
    widget: Callable[..., Any],
    name: str,
    *,
    to_param: Callable[[Any], Any] = lambda v: v,
    value: Any = None,
    **kwargs: Any,
) -> Any:
    """Render ``widget`` showing ``value`` (read from the URL by the caller); a change is written back.

    The widget's own key is refreshed from ``value`` before every render, so a change made
    elsewhere (a chart click, another page, a copied link) shows up in the widget too.
    """
    wkey = f"w.{name}"
    st.session_state[wkey] = value

    def sync() -> None:
        put(name, to_param(st.session_state[wkey]))

    return widget(key=wkey, on_change=sync, **kwargs)


def changed(key: str, value: Any) -> bool:
    """True the first time ``value`` is seen for ``key`` (a chart or table selection event).

    Streamlit hands back a selection on every rerun until it changes; acting only on a
    change lets a later choice elsewhere win over a stale selection.
    """
    seen = st.session_state.setdefault(SEEN, {})
    if seen.get(key) == value:
        return False
    seen[key] = value
    return True
