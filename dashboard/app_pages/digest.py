"""Digest: what `topictrends digest` says for the chosen window, with its downloads.

The content is ``pipeline.digest.content.build_digest`` over the run as curated (the same
function the command line uses); document titles and labels are shown with ``st.text`` and
in grids, never as Markdown.
"""

import pandas as pd
import streamlit as st

from dashboard import state, ui
from pipeline.curation.view import CuratedRun
from pipeline.digest import render
from pipeline.digest.content import build_digest
from pipeline.errors import UserError

ctx = ui.page("digest")
run = ctx.run


def controls() -> tuple[int | None, tuple[str, ...]]:
    """The window (last N periods, None: the run's own) and the watchlist, bound to the URL."""
    c = st.columns([1, 3])
    with c[0]:
        last = state.bound(
            st.number_input,
            "last",
            value=state.get_int("last"),
            to_param=lambda v: None if v is None else int(v),
            label=f"Recent window ({run.manifest.get('period')}s)",
            min_value=1,
            max_value=200,
            step=1,
            placeholder="the run's own",
            help="The last N complete periods against every one before; empty: the run's own window.",
        )
    with c[1]:
        watch_text = state.bound(
            st.text_input,
            "watch",
            value=state.get_str("watch") or "",
            to_param=lambda v: v.strip() or None,
            label="Watchlist",
            placeholder="agents, topic:12",
            max_chars=500,
            help="Words matched in curated labels and keywords, or topic:ID; watched topics that moved come first.",
        )
    watch = tuple(w.strip() for w in (watch_text or "").split(",") if w.strip())
    watch = tuple(w for w in watch if not w.startswith("topic:") or w[6:].lstrip("-").isdigit())
    return (int(last) if last else None), watch


def card(section: str, i: dict, png: bytes) -> None:
    """One topic or theme of the digest: label, growth, chart, a theme's topics, note,
    representative documents."""
    with st.container(border=True):
        left, right = st.columns([3, 1])
        left.text(f"{render.head(i)} ({i['category']})")
        left.text(render.growth_text(i) + f"; {i['recent_count']} recent documents")
        if render.theme_topics(i):
            left.text(render.theme_topics(i))
        if i["note"]:
            left.text(f"Note: {i['note']}")
        right.image(png, caption="share per period")
        docs = pd.DataFrame(i["documents"], columns=["title", "date", "url"])
        st.dataframe(
            docs,
            hide_index=True,
            width="stretch",
            column_config={"url": st.column_config.LinkColumn("link", width="small")},
            key=f"digest_docs.{section}.{render.key(i)}",
        )


def downloads(d: dict) -> None:
    formats = (
        ("md", "text/markdown"),
        ("html", "text/html"),
        ("json", "application/json"),
        ("rss", "application/rss+xml"),
    )
    for col, (fmt, mime) in zip(st.columns(4), formats, strict=True):
        col.download_button(
            f"Download .{fmt}",
            render.FORMATS[fmt](d),
            file_name=f"{run.name}-digest.{fmt}",
            mime=mime,
            key=f"digest_dl.{fmt}",
        )


def curated_view(run) -> CuratedRun:  # noqa: ANN001 - RunData
    """The run as ``curated_run`` reads it, from the dashboard's cached tables."""
    return CuratedRun(
        run.handle,
        run.overlay,
        run.topics,
        run.docs,
        run.over_time,
        run.trends,
        run.lineage,
        run.curated_hierarchy,
        run.themes,
    )


def show() -> None:
    """The digest for the window and watchlist chosen on the page."""
    last, watch = controls()
    view = curated_view(run)
    try:
        d = build_digest(view, watch, last=last)
    except UserError as exc:
        st.warning(ui.md_escape(ui.public(str(exc))), icon=":material/warning:")
        return
    for line in render.intro(d):
        st.caption(ui.md_escape(line))
    pngs = render.charts(d)
    for title, items in render.sections(d):
        st.subheader(title)
        for i in items:
            card(title, i, pngs[render.key(i)])
    if not any(d["sections"].values()) and not any(d["themes"].values()):
        st.caption("No topic or theme is new, emerging, rising or fading in this window.")
    st.subheader(f"Changes since update step {d['changes']['since_step']}")
    changes = pd.DataFrame(render.change_lines(d), columns=["change", "topic"])
    if changes.empty:
        st.caption("No topics new, gone, split or merged.")
    else:
        st.dataframe(changes, hide_index=True, width="stretch", key="digest_changes")
    downloads(d)


if run.dated:
    show()
else:
    st.info("This run has no dates, so it has no trends to digest.", icon=":material/event_busy:")
