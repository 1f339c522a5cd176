"""Shared Streamlit pieces: the app context pages read, document tables, document previews.

Document text is only ever shown through ``st.dataframe`` (a canvas grid) or ``st.text``:
never through Markdown or HTML, so a title like ``<script>`` or ``[x](http://...)`` is
shown as exactly those characters. Labels that go into Markdown (headers) pass through
``md_escape`` first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import access, export, loaders, nav, run_data, safety, state
from dashboard.filters import Filters
from dashboard.run_data import RunData, RunEntry

CTX = "_app_context"
PREVIEW_CHARS = 4000
PAGE_ROWS = 50  # document table rows sent to the browser at a time
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|<>~$:!])")
_MD_LEADING = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")
# Where GitHub-flavoured Markdown would turn plain text into a link (http(s)://, www.,
# mailto:, xmpp:, an e-mail address): a zero-width space there keeps it text. Backslash
# escapes do not help, the autolinker runs on the text after they are resolved.
_AUTOLINK = re.compile(r"(?i)(?<=h)(?=ttps?:)|(?<=w)(?=ww\.)|(?<=m)(?=ailto:)|(?<=x)(?=mpp:)|(?=@)")
ZWSP = "\u200b"


@dataclass
class AppContext:
    """What every page needs: the cache root, the chosen run, the active filters, the pages."""

    root: Path
    entry: RunEntry
    run: RunData
    filters: Filters
    pages: dict[str, st.Page]

    @property
    def path_key(self) -> tuple[str, str]:
        return str(self.run.path.resolve()), self.run.run_key

    def mask(self, filters: Filters | None = None) -> np.ndarray:
        return loaders.mask_for(self.run, self.filters if filters is None else filters)


def context() -> AppContext:
    return st.session_state[CTX]


def page(name: str) -> AppContext:
    """Every page's opening: the shared context, and the page's heading from ``nav.PAGES``
    (the run's name where the page has none of its own)."""
    ctx = context()
    heading = nav.PAGES[name].heading
    st.title(md_escape(ctx.entry.name) if heading is None else heading)
    return ctx


def public(value: object, entry: RunEntry | None = None, manifest: dict | None = None) -> Any:
    """``value`` (text, or JSON-like) as a visitor may see it: in hosted mode the server's
    paths are replaced by the run's name and file names (``safety.redact``).

    ``entry`` (and its ``manifest``, when it could be read) name the run the text is about;
    by default the run the page shows.
    """
    if not access.read_only():
        return value
    dirs: list[Path] = []
    ctx = st.session_state.get(CTX)
    if entry is None and ctx is not None:
        entry, manifest, dirs = ctx.entry, ctx.run.manifest, [ctx.run.path]
    if entry is None:
        return safety.redact(value)
    return safety.redact(value, safety.known_paths(entry.name, [entry.path, *dirs], manifest))


def md_escape(text: object) -> str:
    """Backslash-escape Markdown so a label shows literally in a header or caption (and
    break what the autolinker would make a link: see ``_AUTOLINK``)."""
    flat = _AUTOLINK.sub(ZWSP, " ".join(str(text).split()))
    return _MD_LEADING.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", flat))


def topic_pills(
    topics: Iterable[int], labels: Iterable[str], notes: Iterable[str], key: str
) -> None:
    """A ranked list of topics as pills; choosing one opens it on the Topics page.

    One widget for the whole list: a data grid per list made the Overview's first render
    about 1 s slower in headless Chromium, a button per topic about 0.4 s (BENCHMARKS.md,
    Dashboard). The chosen pill is cleared before the page switch, so coming back to the
    list does not open the topic again.
    """
    text = {int(t): f"{int(t)}: {lb} ({n})" for t, lb, n in zip(topics, labels, notes, strict=True)}
    opened = f"{key}.open"

    def chosen() -> None:
        st.session_state[opened] = st.session_state[key]
        st.session_state[key] = None

    st.pills(
        "Topics",
        list(text),
        format_func=lambda t: md_escape(text[t]),
        key=key,
        on_change=chosen,
        label_visibility="collapsed",
        wrap=True,
    )
    topic = st.session_state.pop(opened, None)
    if topic is not None:
        nav_to("topics", topic=int(topic))


def topic_name(run: RunData, topic: int) -> str:
    return f"{topic}: {run.labels.get(topic, '?')}"


def doc_frame(
    run: RunData, rows: np.ndarray | list[int], extra: dict[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """The table view of the documents at ``rows`` (a page: read from the Parquet file):
    title, date, topic, probability, link (+ extra columns, one value per row)."""
    return table_view(run.query.at(rows), extra)


def table_view(d: pd.DataFrame, extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Page rows from ``DocQuery.page``/``at`` as the document tables show them."""
    dates = run_data.date_strings(d["date"], d["date_precision"]) if len(d) else d["date"]
    out = pd.DataFrame(
        {
            "title": d["title"].to_numpy(),
            "date": np.asarray(dates, dtype=object),
            "topic": d["topic"].to_numpy(),
            "topic label": d["topic_label"].to_numpy(),
            "probability": d["topic_prob"].astype(float).to_numpy(),
            "link": d["url"].to_numpy(),
            "_row": d["_row"].astype(np.int64).to_numpy(),
        }
    )
    for name, values in (extra or {}).items():
        out.insert(1, name, values)
    return out


# Columns of the document tables (``table_view``) -> the file's column the server sorts by.
SORT_COLUMNS = {
    "title": "title",
    "date": "date",
    "topic": "topic",
    "topic label": "topic_label",
    "probability": "topic_prob",
    "link": "url",
}


def doc_table(
    frame: pd.DataFrame,
    key: str,
    *,
    height: int | str = "auto",
    sort_by: dict[str, str] | None = None,
) -> int | None:
    """Show documents; returns the docs row of the selected line (or None).

    With ``sort_by`` (a shown column -> the column the server sorts by), a click on a
    column's header selects the column instead of sorting the rows in the browser (which
    would order only the page shown), and ``sort_on_header`` reorders every matching row."""
    column_config = {
        "title": st.column_config.TextColumn("title", width="large"),
        "date": st.column_config.TextColumn("date", width="small"),
        "topic": st.column_config.NumberColumn("topic", width="small", format="%d"),
        "topic label": st.column_config.TextColumn("topic label", width="medium"),
        "probability": st.column_config.ProgressColumn(
            "probability", min_value=0.0, max_value=1.0, format="%.2f", width="small"
        ),
        "link": st.column_config.LinkColumn("link", display_text="open", width="small"),
        "similarity": st.column_config.NumberColumn("similarity", format="%.3f", width="small"),
        "_row": None,
    }
    modes = ["single-row", "single-column"] if sort_by else ["single-row"]
    event = _grid(frame, key, column_config, modes, height=height)
    header = (event["selection"].get("columns") or [None])[0] if event else None
    if sort_by and header in sort_by:
        sort_on_header(sort_by[header])
    picked = _picked(event, len(frame))
    return None if picked is None else int(frame["_row"].iloc[picked])


def sort_on_header(column: str) -> None:
    """A header clicked in a paged table: every matching row is sorted by ``column`` on the
    server, from the first page; a second click on the sorted column reverses the order."""
    again = state.get_str("sort") == column and state.get_str("desc") != "1"
    state.put("sort", column)
    state.put("desc", "1" if again else None)
    state.put("pg", None)
    st.rerun()


def _grid(
    frame: pd.DataFrame, key: str, column_config: dict[str, Any], modes: list[str], **kwargs: Any
) -> Any:
    return st.dataframe(
        frame,
        key=key,
        hide_index=True,
        column_config=column_config,
        on_select="rerun",
        selection_mode=modes,
        width="stretch",
        **kwargs,
    )


def _picked(event: Any, rows: int) -> int | None:
    picked = event["selection"]["rows"] if event else []
    return picked[0] if picked and 0 <= picked[0] < rows else None


def picked_row(
    frame: pd.DataFrame, key: str, column_config: dict[str, Any], **kwargs: Any
) -> int | None:
    """A table whose rows can be picked one at a time: the position of the picked row, or
    None. Every "select a row to open it" table of the dashboard is one of these."""
    return _picked(_grid(frame, key, column_config, ["single-row"], **kwargs), len(frame))


def picked_topic(
    frame: pd.DataFrame, key: str, column_config: dict[str, Any], **kwargs: Any
) -> int | None:
    """A table of topics (a ``topic`` column): the topic of the picked row, or None when no
    row is picked or the row names no topic (a ``gone`` lineage row)."""
    row = picked_row(frame, key, column_config, **kwargs)
    value = None if row is None else frame["topic"].iloc[row]
    return None if value is None or pd.isna(value) else int(value)


def view_switch(
    param: str, views: dict[str, str], default: str, label: str | None = None, **kwargs: Any
) -> str:
    """The switch between a page's views, kept in the link as ``param`` (left out of it for
    the ``default`` view, so a plain link opens that one). Without ``label`` it is the page's
    unlabelled "View" switch; with one, a labelled control (``kwargs``: e.g. ``help``)."""
    view = state.choice(param, list(views), default)
    return (
        state.bound(
            st.segmented_control,
            param,
            value=view,
            to_param=lambda v: None if v in (None, default) else v,
            label=label or "View",
            options=list(views),
            format_func=views.get,
            label_visibility="visible" if label else "collapsed",
            **kwargs,
        )
        or default
    )


def search_box(param: str, label: str, placeholder: str, **kwargs: Any) -> str:
    """A text box kept in the link as ``param`` (trimmed, at most ``state.TEXT_CHARS``)."""
    return state.bound(
        st.text_input,
        param,
        value=state.text(param),
        to_param=lambda v: v.strip(),
        label=label,
        max_chars=state.TEXT_CHARS,
        placeholder=placeholder,
        **kwargs,
    )


def paged_docs(
    run: RunData,
    rows: np.ndarray | None,
    key: str,
    *,
    scores: np.ndarray | None = None,
    metadata: list[str] | tuple[str, ...] = (),
    height: int | str = "auto",
) -> tuple[int | None, int | None]:
    """One page of the documents ``rows`` (None: all), sorted and paged on the server; the
    browser gets ``PAGE_ROWS`` rows at a time. With ``scores`` (a semantic search) the rows
    keep their ranked order. Returns (the picked row, the first row listed), both or
    either None. ``metadata`` columns are shown after the title. Page, sort and direction
    live in the link (``pg``, ``sort``, ``desc``)."""
    total = len(run.docs) if rows is None else len(rows)
    pages = max(1, -(-total // PAGE_ROWS))
    page_no = state.get_int("pg", 1)
    if not 1 <= page_no <= pages:  # fewer pages since the filters changed, or a bad link
        state.put("pg", None)
        page_no = 1
    sortable = [] if scores is not None else run.query.sortable()
    sort = state.choice("sort", sortable, None) if sortable else None
    c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
    if sortable:
        with c1:
            sort = state.bound(
                st.selectbox,
                "sort",
                value=sort,
                label="Sort by",
                options=sortable,
                index=None,
                placeholder="file order",
                to_param=lambda v: v or None,
            )
        with c2:
            desc = state.bound(
                st.toggle,
                "desc",
                value=state.get_str("desc") == "1",
                label="Descending",
                to_param=lambda v: "1" if v else None,
            )
    else:
        desc = False
    with c3:
        page_no = state.bound(
            st.number_input,
            "pg",
            value=page_no,
            label=f"Page (of {pages:,})",
            min_value=1,
            max_value=pages,
            step=1,
            to_param=lambda v: None if int(v) == 1 else int(v),
        )
    offset = (int(page_no) - 1) * PAGE_ROWS
    if scores is not None:
        part = np.asarray(rows)[offset : offset + PAGE_ROWS]
        frame = doc_frame(
            run, part, {"similarity": np.asarray(scores)[offset : offset + PAGE_ROWS]}
        )
    else:
        frame = table_view(run.query.page(rows, sort or "_row", bool(desc), offset, PAGE_ROWS))
    sort_by = None if scores is not None else dict(SORT_COLUMNS)
    add_metadata(run, frame, metadata, sort_by)
    st.caption(
        f"Rows {min(offset + 1, total):,}–{min(offset + PAGE_ROWS, total):,} of {total:,}"
        + (
            ""
            if scores is not None
            else f", sorted by {sort or 'file order'} on the server (or click a column's header)."
        )
    )
    picked = doc_table(frame, key=f"{key}.{page_no}.{sort}.{desc}", height=height, sort_by=sort_by)
    first = int(frame["_row"].iloc[0]) if len(frame) else None
    return picked, first


def add_metadata(
    run: RunData, frame: pd.DataFrame, metadata: Iterable[str], sort_by: dict[str, str] | None
) -> None:
    """Insert the ``metadata`` columns of the page's rows after the title (taken row by row:
    a whole column of strings is never turned into Python objects), each sortable from
    its header (``sort_by``)."""
    for col in reversed(list(metadata)):
        name = col if col not in frame.columns else f"{col} (metadata)"
        frame.insert(2, name, run.docs[col].iloc[frame["_row"].to_numpy()].to_numpy())
        if sort_by is not None:
            sort_by[name] = col


def doc_preview(run: RunData, row: int | None, *, fallback: int | None = None) -> None:
    """One document in full, as plain text (the selected row, else ``fallback``)."""
    row = row if row is not None else fallback
    if row is None:
        return
    found = run.query.at([int(row)], text=True)
    if found.empty:
        return
    d = found.iloc[0]
    with st.container(border=True):
        st.caption(
            "Document"
            if row != fallback
            else "Document (the first listed; select a row to read another)"
        )
        st.text(d["title"] or "(untitled)")
        date = run.docs["date_str"].iat[int(row)]
        meta = [
            date or "undated",
            topic_name(run, int(d["topic"])),
            f"p={float(d['topic_prob']):.2f}",
            f"id {d['doc_id']}",
        ]
        st.text(" · ".join(meta))
        text = d["text"]
        st.text(text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + " …")
        if d["url"]:
            st.link_button("Open source", d["url"])


def csv_download(
    run: RunData,
    rows: np.ndarray | None,
    name: str,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Download the documents ``rows`` (None: all; every column, metadata included) as CSV.

    Served as ``topictrends serve`` does (``dashboard/server.py``), this is a link to the
    streamed export (``dashboard.export``), issued to this signed-in session; elsewhere
    (``streamlit run streamlit_app.py``, tests) a button that builds the file on click."""
    count = len(run.docs) if rows is None else len(rows)
    label = f"Download {count:,} rows as CSV"
    fname = safety.file_name(run.name, name) + ".csv"
    if not export.served:
        st.download_button(
            label,
            data=lambda: csv_bytes(run, rows, extra),
            file_name=fname,
            mime="text/csv",
            on_click="ignore",
            key=f"csv.{name}",
            icon=":material/download:",
        )
        return
    digest = hashlib.blake2b(digest_size=16)
    digest.update(b"all" if rows is None else np.asarray(rows, dtype=np.int64).tobytes())
    for k, v in (extra or {}).items():
        digest.update(k.encode() + np.asarray(v).tobytes())
    sig = (run.run_key, fname, digest.hexdigest())
    held = st.session_state.get(f"_export.{name}")
    if not held or held[0] != sig or not export.alive(held[1]):
        user = str(st.user.get("email") or "") if st.user.get("is_logged_in", False) else ""
        held = (sig, export.issue(run.query, rows, fname, user=user, extra=extra))
        st.session_state[f"_export.{name}"] = held
    link = export.path(st.get_option("server.baseUrlPath"), held[1])
    st.link_button(label, link, icon=":material/download:")


def csv_bytes(
    run: RunData, rows: np.ndarray | list[int] | None, extra: dict[str, np.ndarray] | None = None
) -> bytes:
    """The CSV every download hands out (``DocQuery.csv_chunks``): text cells a spreadsheet
    would run are quoted (``safety.spreadsheet_safe``)."""
    picked = None if rows is None else np.asarray(rows, dtype=np.int64)
    return b"".join(run.query.csv_chunks(picked, extra))


def topic_picker(run: RunData) -> int | None:
    """Selectbox of topics bound to the ``topic`` URL parameter."""
    options = [int(t) for t in run.topics["topic"]]
    current = state.get_int("topic")
    if current is not None and current not in options:
        state.reject("topic")
        current = None
    return state.bound(
        st.selectbox,
        "topic",
        value=current if current in options else None,
        label="Topic",
        options=options,
        format_func=lambda t: topic_name(run, t),
        index=None,
        placeholder="Choose a topic",
    )


def nav_to(page: str, **params: object) -> None:
    """Switch page after setting URL parameters (the session state carries them over)."""
    for k, v in params.items():
        state.put(k, v)
    st.switch_page(context().pages[page])
