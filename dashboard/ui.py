"""Shared Streamlit pieces: the app context pages read, document tables, document previews.

Document text is only ever shown through ``st.dataframe`` (a canvas grid) or ``st.text``:
never through Markdown or HTML, so a title like ``<script>`` or ``[x](http://...)`` is
shown as exactly those characters. Labels that go into Markdown (headers) pass through
``md_escape`` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import access, loaders, nav, safety, state
from dashboard.filters import Filters
from dashboard.run_data import RunData, RunEntry

CTX = "_app_context"
PREVIEW_CHARS = 4000
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
    """The table view of documents: title, date, topic, probability, link (+ extra columns)."""
    d = run.docs.iloc[np.asarray(rows, dtype=np.int64)]
    out = pd.DataFrame(
        {
            "title": d["title"].to_numpy(),
            "date": d["date_str"].to_numpy(),
            "topic": d["topic"].to_numpy(),
            "topic label": d["topic_label"].to_numpy(),
            "probability": d["topic_prob"].astype(float).to_numpy(),
            "link": d["url"].to_numpy(),
            "_row": d.index.to_numpy(),
        }
    )
    for name, values in (extra or {}).items():
        out.insert(1, name, values)
    return out


def doc_table(frame: pd.DataFrame, key: str, *, height: int | str = "auto") -> int | None:
    """Show documents; returns the docs row of the selected line (or None)."""
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
    picked = picked_row(frame, key, column_config, height=height)
    return None if picked is None else int(frame["_row"].iloc[picked])


def picked_row(
    frame: pd.DataFrame, key: str, column_config: dict[str, Any], **kwargs: Any
) -> int | None:
    """A table whose rows can be picked one at a time: the position of the picked row, or
    None. Every "select a row to open it" table of the dashboard is one of these."""
    event = st.dataframe(
        frame,
        key=key,
        hide_index=True,
        column_config=column_config,
        on_select="rerun",
        selection_mode="single-row",
        width="stretch",
        **kwargs,
    )
    picked = event["selection"]["rows"] if event else []
    return picked[0] if picked and 0 <= picked[0] < len(frame) else None


def picked_topic(
    frame: pd.DataFrame, key: str, column_config: dict[str, Any], **kwargs: Any
) -> int | None:
    """A table of topics (a ``topic`` column): the topic of the picked row, or None when no
    row is picked or the row names no topic (a ``gone`` lineage row)."""
    row = picked_row(frame, key, column_config, **kwargs)
    value = None if row is None else frame["topic"].iloc[row]
    return None if value is None or pd.isna(value) else int(value)


def view_switch(param: str, views: dict[str, str], default: str) -> str:
    """The switch between a page's views, kept in the link as ``param`` (left out of it for
    the ``default`` view, so a plain link opens that one)."""
    view = state.choice(param, list(views), default)
    return (
        state.bound(
            st.segmented_control,
            param,
            value=view,
            to_param=lambda v: None if v in (None, default) else v,
            label="View",
            options=list(views),
            format_func=views.get,
            label_visibility="collapsed",
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


def doc_preview(run: RunData, row: int | None, *, fallback: int | None = None) -> None:
    """One document in full, as plain text (the selected row, else ``fallback``)."""
    row = row if row is not None else fallback
    if row is None:
        return
    d = run.docs.iloc[int(row)]
    with st.container(border=True):
        st.caption(
            "Document"
            if row != fallback
            else "Document (the first listed; select a row to read another)"
        )
        st.text(d["title"] or "(untitled)")
        meta = [
            d["date_str"] or "undated",
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
    rows: np.ndarray | list[int],
    name: str,
    extra: dict[str, np.ndarray] | None = None,
) -> None:
    """Download the documents ``rows`` (every column, metadata included) as CSV; the file is
    built only when the button is clicked, so a 60,000-row table is not rendered per rerun."""
    st.download_button(
        f"Download {len(rows):,} rows as CSV",
        data=lambda: csv_bytes(run, rows, extra),
        file_name=safety.file_name(run.name, name) + ".csv",
        mime="text/csv",
        on_click="ignore",
        key=f"csv.{name}",
        icon=":material/download:",
    )


def csv_bytes(
    run: RunData, rows: np.ndarray | list[int], extra: dict[str, np.ndarray] | None = None
) -> bytes:
    """The CSV every download hands out: text cells a spreadsheet would run are quoted
    (``safety.spreadsheet_safe``)."""
    frame = run.docs.iloc[np.asarray(rows, dtype=np.int64)].drop(columns=["date_str"])
    frame = safety.spreadsheet_safe(frame.assign(**(extra or {})))
    return frame.to_csv(index=False).encode("utf-8")


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
