"""View state that lives in the URL, so a copied link reopens the same view.

The session holds one dict of URL parameters (strings, or lists of strings for repeated
parameters). It is filled from ``st.query_params`` on the first run of a session, widgets
are bound to entries of it (``bound``), pages read and write it (``get``/``put``), and at
the end of every run ``write_url`` mirrors it back into the address bar. Parameters:

    page     the page (also the URL path)           run      run name (only listed runs)
    topic    chosen topic id                        node     chosen hierarchy node
    view     topic map view: docs | intertopic      color    map colouring: topic | topic-branch | <column>
    zoom     topic map zoom box: x0,x1,y0,y1
    outliers 0 hides outliers on the map            gran     trends granularity
    tt       topics on the trend lines (ids)        tq       topic table search
    sem      semantic search query                  k        semantic search results
    hview    hierarchy view: tree | icicle          rel      lineage relations shown
    span     all: trends over the whole span        tv       counts: trend lines show counts
    ho       hierarchy: heatmap rows by hierarchy
    topics, from, to, q, f.<column>                 the document filters (filters.py)

A link may carry anything: every value is cut to ``MAX_CHARS`` characters (``MAX_VALUES``
values per parameter) when it is read, ids are parsed by ``filters.parse_int``, and a value
a page cannot use is dropped with a short notice (``reject``, shown by ``notices``) instead
of an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard.filters import parse_int

STATE = "_url_state"
BOOTED = "_url_booted"
SEEN = "_seen_events"
REJECTED = "_url_rejected"
MAX_CHARS = 1000  # any one value; the free-text searches are cut shorter (TEXT_CHARS)
MAX_VALUES = 500  # values of one repeated parameter (a facet with many categories)
TEXT_CHARS = 200  # q, sem, tq
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
    if v is None:
        return default
    n = parse_int(v)
    if n is None:
        reject(name)
        return default
    return n


def get_ints(name: str) -> list[int]:
    v = get(name)
    parts = ",".join(v if isinstance(v, list) else [v]).split(",") if v else []
    out: list[int] = []
    for p in parts[:MAX_VALUES]:
        n = parse_int(p)
        if n is not None and n not in out:
            out.append(n)
    return out


def choice(name: str, options: list[Any], default: Any = None, *, as_int: bool = False) -> Any:
    """The parameter ``name`` if it is one of ``options``, else ``default``; a value given
    but not usable is dropped from the URL with a notice (``reject``)."""
    value = get_int(name) if as_int else get_str(name)
    if value is None:
        return default
    if value in options:
        return value
    reject(name)
    return default


def text(name: str) -> str:
    """A free-text parameter (a search), cut to ``TEXT_CHARS``."""
    v = get_str(name, "") or ""
    if len(v) > TEXT_CHARS:
        reject(name, keep=True)
        v = v[:TEXT_CHARS]
        put(name, v)
    return v


def reject(name: str, *, keep: bool = False) -> None:
    """Note that the link's ``name`` could not be used as given (``notices`` says so once);
    unless ``keep``, it is dropped so the address bar no longer carries it."""
    if name in params():
        st.session_state.setdefault(REJECTED, set()).add(name)
        if not keep:
            put(name, None)


def notices() -> list[str]:
    """The parameters rejected since the last call (each named once)."""
    return sorted(st.session_state.pop(REJECTED, set()))


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
    """The address bar's parameters, each value cut to ``MAX_CHARS`` (``MAX_VALUES`` values)."""
    out: dict[str, Param] = {}
    for key in list(st.query_params)[:MAX_VALUES]:
        values = [v[:MAX_CHARS] for v in st.query_params.get_all(key)[:MAX_VALUES]]
        out[key[:MAX_CHARS]] = values[0] if len(values) == 1 else list(values)
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
