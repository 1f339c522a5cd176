"""The CSV export of every matching document, streamed by the server in bounded memory.

``st.download_button`` keeps the whole file in the server's memory until the session ends,
even with a callable (Streamlit 1.67 turns its result into bytes and stores them); at a
million documents that is about a gigabyte per click. So ``topictrends serve`` runs the
dashboard as an ASGI app (``dashboard/server.py``: Streamlit's ``App``) with one more
route, ``/export/<ticket>``, which streams the CSV from DuckDB in record batches
(``DocQuery.csv_chunks``): the server holds one batch at a time, whatever the run's size.

A page hands out a ticket only after the sign-in gate passed (``streamlit_app.main`` runs
the gate before any page), so the export is behind the same sign-in and allow-list as the
pages: a ticket is 128 random bits, names one run and one row selection, works for
``TTL`` seconds and is bound to the signed-in user it was issued to. It is a capability in
the same way as Streamlit's own ``/media`` download links. No Streamlit here but the
route's types; ``ui.csv_download`` issues tickets.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from dashboard.doc_query import DocQuery, QueryError

ROUTE = "export"
TTL = 15 * 60  # seconds a ticket works
MAX_TICKETS = 64  # oldest dropped first: bounds what tickets hold (row numbers)
_tickets: OrderedDict[str, Ticket] = OrderedDict()
_lock = threading.Lock()
served = False  # set by dashboard/server.py: the route exists in this process


@dataclass(frozen=True)
class Ticket:
    """One export: which documents of which run, under what file name, until when."""

    query: DocQuery
    rows: np.ndarray | None  # None: every document
    file_name: str
    user: str
    expires: float
    extra: Mapping[str, np.ndarray] | None = None

    def chunks(self) -> Iterator[bytes]:
        return self.query.csv_chunks(self.rows, self.extra)


def issue(
    query: DocQuery,
    rows: np.ndarray | None,
    file_name: str,
    *,
    user: str = "",
    extra: Mapping[str, np.ndarray] | None = None,
    now: float | None = None,
) -> str:
    """A new ticket for the CSV of ``rows`` (None: all) of ``query``'s run."""
    token = secrets.token_urlsafe(16)
    small = None if rows is None else np.asarray(rows, dtype=np.int64)
    if small is not None and (not len(small) or small.max() < 2**31):
        small = small.astype(np.int32)
    expires = (time.time() if now is None else now) + TTL
    with _lock:
        _tickets[token] = Ticket(query, small, file_name, user, expires, extra)
        while len(_tickets) > MAX_TICKETS:
            _tickets.popitem(last=False)
    return token


def redeem(token: str, user: str = "", *, now: float | None = None) -> Ticket | None:
    """The ticket ``token`` if it exists, has not expired and belongs to ``user``."""
    now = time.time() if now is None else now
    with _lock:
        for old in [t for t, k in _tickets.items() if k.expires <= now]:
            del _tickets[old]
        ticket = _tickets.get(token)
    if ticket is None or not secrets.compare_digest(ticket.user, user):
        return None
    return ticket


def path(base_url: str | None, ticket: str) -> str:
    """The URL path of a ticket's download, under Streamlit's ``server.baseUrlPath``:
    ``/export/T``, or ``/team/dash/export/T`` with base ``team/dash``. Absolute, so the link
    is the same from every page (a relative one would lose the base on ``/team/dash``)."""
    parts = [p for p in (base_url or "").split("/") if p]
    return "/" + "/".join([*parts, ROUTE, ticket])


def alive(token: str | None, *, now: float | None = None) -> bool:
    """Whether ``token`` still works for the next ``TTL / 3`` seconds (else issue another)."""
    now = time.time() if now is None else now
    with _lock:
        ticket = _tickets.get(token or "")
    return ticket is not None and ticket.expires > now + TTL / 3


def guarded(chunks: Iterator[bytes], name: str) -> Iterator[bytes]:
    """``chunks``; a failure part-way ends the file and logs one line with no server path."""
    try:
        yield from chunks
    except QueryError as exc:
        print(f"topictrends: export of {name} stopped: {exc}", file=sys.stderr)
