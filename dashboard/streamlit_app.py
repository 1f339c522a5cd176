"""topictrends dashboard entry point: ``topictrends serve`` (or ``streamlit run`` this file).

Lists the runs under the cache root (``$TOPICTRENDS_CACHE``, else ./cache), lets the
sidebar switch between them and filter documents, and hands the chosen run to the pages
in ``app_pages/``. View state lives in the URL (see ``state.py`` and docs/dashboard.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from dashboard import access, gate, loaders, preview_note, state, ui
from dashboard.facet_data import facet_bounds
from dashboard.filters import (
    FACET_PREFIX,
    FILTER_PARAMS,
    QUERY_CHARS,
    Filters,
    filters_to_params,
    format_range,
    parse_filters,
    unusable,
)
from dashboard.nav import DEFAULT_PAGE, PAGES
from dashboard.run_data import OUTLIER, RunData, RunEntry, list_runs
from pipeline.errors import CacheError
from pipeline.stages.registry import STAGES
from pipeline.store.artifacts import build_progress
from pipeline.store.cache import cache_root

HERE = Path(__file__).parent
LOG = logging.getLogger("topictrends.dashboard")
# The tab icon, drawn here: Streamlit inlines an SVG as a data: URI, whereas a
# ":material/...:" page icon makes the browser fetch it from fonts.gstatic.com, and the
# dashboard must request nothing from outside its own server (docs/deploy.md).
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#ff4b4b" '
    'stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round">'
    '<path d="M3 17l6-6 4 4 8-8"/><path d="M15 7h6v6"/></svg>'
)
META_OPEN = "w.meta_open"  # session key of the sidebar's Metadata panel (open or closed)


def make_pages() -> dict[str, st.Page]:
    return {
        name: st.Page(
            str(HERE / p.script),
            title=p.nav_title,
            icon=p.icon,
            url_path=name,
            default=name == DEFAULT_PAGE,
        )
        for name, p in PAGES.items()
    }


def page_name(page: st.Page) -> str:
    return page.url_path or DEFAULT_PAGE


def empty_cache() -> None:
    st.navigation(
        [
            st.Page(
                str(HERE / "app_pages/get_started.py"),
                title="Get started",
                icon=":material/rocket_launch:",
                default=True,
            )
        ],
        position="hidden",
    ).run()


def choose_run(runs: list[RunEntry]) -> RunEntry:
    """The run named in the URL if it is listed (never a path), else the first listed run."""
    by_name = {r.name: r for r in runs}
    wanted = state.get_str("run")
    if wanted in by_name:
        return by_name[wanted]
    if wanted is not None:
        st.session_state["_unknown_run"] = wanted
    state.clear()
    return runs[0]


def run_selector(runs: list[RunEntry], current: RunEntry) -> None:
    names = [r.name for r in runs]

    def switched() -> None:
        state.clear()
        state.put("run", st.session_state["w.run"])

    st.session_state["w.run"] = current.name
    st.sidebar.selectbox(
        "Run",
        names,
        key="w.run",
        on_change=switched,
        help="Every run under the cache root. Build more with `topictrends build`.",
    )


def builds_panel(root: Path, runs: list[RunEntry]) -> None:
    """Builds in progress under the cache root (e.g. ``topictrends demo`` in the background).

    While one runs, the panel refreshes itself every two seconds and reruns the whole app
    once the set of runs changes, so a finished build appears in the run list.
    """
    entries = build_progress(root)
    if not entries:
        return
    known = sorted(r.name for r in runs)

    running = any(isinstance(e, dict) and e.get("state") == "running" for e in entries)

    @st.fragment(run_every=2 if running else None)
    def panel() -> None:
        now = build_progress(root)
        if sorted(r.name for r in list_runs(root)) != known:
            st.rerun(scope="app")
        for e in now:
            if isinstance(e, dict):  # a progress file is JSON anyone could have written
                build_line(e)

    with st.sidebar:
        panel()


def build_line(e: dict) -> None:
    """One build of the panel: a progress bar while it runs, else why it stopped."""
    name = ui.md_escape(ui.public(str(e.get("run", "?"))))
    if e.get("state") == "running":
        stage = ui.md_escape(ui.public(str(e.get("stage") or "starting")))
        done, total = _count(e.get("done")) or 0, _count(e.get("total"))
        stages = e.get("stages_done")
        frac = (
            min(1.0, done / total)
            if total
            else min(1.0, len(stages if isinstance(stages, list) else []) / len(STAGES))
        )
        detail = f" {done:,}/{total:,}" if total else ""
        st.progress(frac, text=f"Building {name}: {stage}{detail}")
    else:
        why = e.get("error") or "the process stopped before it finished"
        st.warning(
            ui.md_escape(ui.public(f"Build of {e.get('run')} {e.get('state')}: {why}")),
            icon=":material/warning:",
        )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def filter_widgets(run: RunData) -> None:
    """The document filters in the sidebar, bound to URL parameters (filters.py)."""
    side = st.sidebar
    side.subheader("Filters")
    topic_ids = [int(t) for t in run.topics["topic"]] + [OUTLIER]
    kinds = run.facet_kinds()
    f = parse_filters(state.params(), set(topic_ids), kinds)
    with side:
        state.bound(
            st.multiselect,
            "topics",
            value=list(f.topics),
            to_param=lambda v: ",".join(str(t) for t in v),
            label="Topics",
            options=topic_ids,
            format_func=lambda t: ui.topic_name(run, t),
            placeholder="All topics",
        )
        if run.dated:
            lo = run.docs["date"].min().date()
            hi = run.docs["date"].max().date()
            cur = (max(lo, min(f.date_from or lo, hi)), min(hi, max(f.date_to or hi, lo)))

            def dates_changed() -> None:
                v = st.session_state["w.dates"]
                if isinstance(v, tuple | list) and len(v) == 2:
                    state.put("from", v[0].isoformat() if v[0] != lo else None)
                    state.put("to", v[1].isoformat() if v[1] != hi else None)
                elif not v:
                    state.put("from", None)
                    state.put("to", None)

            picking = st.session_state.get("w.dates")
            if not (
                isinstance(picking, tuple | list) and len(picking) == 1
            ):  # half-picked range: leave it
                st.session_state["w.dates"] = cur
            st.date_input(
                "Date range",
                key="w.dates",
                min_value=lo,
                max_value=hi,
                on_change=dates_changed,
                format="YYYY-MM-DD",
            )
        state.bound(
            st.text_input,
            "q",
            value=f.query,
            to_param=lambda v: v.strip(),
            label="Keyword search",
            max_chars=QUERY_CHARS,
            placeholder="words in title or text",
            help="Documents containing every word (case-insensitive).",
        )
        if kinds:
            # The facet widgets are drawn only while the panel is open: closed, they cost
            # every rerun ~0.3 s in the browser on the SOTU run (BENCHMARKS.md, Dashboard).
            # An active metadata filter keeps the panel open, so it is always visible.
            if f.facets:
                st.session_state[META_OPEN] = True
            meta = st.expander(f"Metadata ({len(kinds)})", key=META_OPEN, on_change="rerun")
            if meta.open:
                with meta:
                    for col, kind in kinds.items():
                        facet_widget(run, col, kind, f.facet(col))
        if f.active and st.button("Clear filters", icon=":material/filter_alt_off:"):
            for k in list(state.params()):
                if k in FILTER_PARAMS or k.startswith(FACET_PREFIX):
                    state.put(k, None)
            st.rerun()


def facet_widget(run: RunData, col: str, kind: str, sel: tuple | None) -> None:
    name = FACET_PREFIX + col
    values = run.docs[col]
    if kind == "categorical":
        vc = values.astype(str).value_counts()
        options = list(vc.index[:500])
        current = [v for v in (sel[1] if sel else ()) if v in options]
        state.bound(
            st.multiselect,
            name,
            value=current,
            to_param=list,
            label=ui.md_escape(col),
            options=options,
            placeholder="any",
        )
        return
    bounds = facet_bounds(values, kind)
    if bounds is None or bounds[0] == bounds[1]:
        return
    lo, hi = bounds
    cur = sel[1] if sel else (lo, hi)
    if kind == "date":
        cur = (max(lo, min(cur[0], hi)), min(hi, max(cur[1], lo)))
    else:
        cur = (max(lo, min(type(lo)(cur[0]), hi)), min(hi, max(type(hi)(cur[1]), lo)))

    def to_param(v: tuple) -> str | None:
        return None if tuple(v) == (lo, hi) else format_range(*v)

    state.bound(
        st.slider,
        name,
        value=cur,
        to_param=to_param,
        label=ui.md_escape(col),
        min_value=lo,
        max_value=hi,
    )


def shorten(text: object, limit: int = 60) -> str:
    """A value from a link, short enough for a notice (links may carry 1,000 characters)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def usable_filters(run: RunData) -> Filters:
    """The sidebar filters of the link, keeping what this run can use; the rest is dropped
    from the URL and named in the notice (``state.reject``)."""
    kinds = run.facet_kinds()
    raw = dict(state.params())
    f = parse_filters(raw, set(run.labels), kinds)
    beyond = []  # a bound past the run's own dates (to=9999-12-31) filters nothing out
    if run.dated and (f.date_from or f.date_to):
        dates = run.docs["date"]
        if f.date_from and f.date_from < dates.min().date():
            beyond.append("from")
        if f.date_to and f.date_to > dates.max().date():
            beyond.append("to")
    if beyond or not run.dated:  # no dates: a date filter would hide every document
        for name in ("from", "to") if not run.dated else beyond:
            raw.pop(name, None)
        f = parse_filters(raw, set(run.labels), kinds)
    fixed = filters_to_params(f)
    for name in [*unusable(state.params(), f, run.dated), *beyond]:
        state.reject(name, keep=True)
        state.put(name, fixed.get(name))
    return parse_filters(state.params(), set(run.labels), kinds)


def unexpected_error() -> None:
    """Hosted: a bug shows one line, never a traceback or a path; the server log has it all."""
    LOG.exception("dashboard error")
    st.error(
        "This page could not be shown because of an error in the dashboard. "
        "It has been logged; other pages and runs still work.",
        icon=":material/error:",
    )


def main() -> None:
    """The app; hosted, an unexpected error anywhere (an unreadable cache root, a bug in the
    sidebar) shows one line instead of Streamlit's traceback."""
    st.set_page_config(page_title="topictrends", page_icon=FAVICON, layout="wide")
    try:
        app()
    except Exception:
        if not access.read_only():
            raise
        unexpected_error()


def app() -> None:
    if not gate.passes():  # signed out or not on the allow-list: nothing about any run
        return
    root = cache_root(None)
    runs = list_runs(root)
    if access.read_only():  # hosted: only runs that really live under the mounted root
        runs = [r for r in runs if access.inside(root, r.path)]
    if not runs:
        st.session_state["_cache_root"] = str(root)
        builds_panel(root, runs)
        empty_cache()
        return

    pages = make_pages()
    pg = st.navigation(list(pages.values()), position="sidebar")
    if not state.booted():
        state.load_from_url()
        wanted = state.get_str("page")
        if wanted in pages and wanted != page_name(pg) and page_name(pg) == DEFAULT_PAGE:
            st.switch_page(pages[wanted])

    entry = choose_run(runs)
    state.put("run", entry.name)
    run_selector(runs, entry)
    builds_panel(root, runs)
    if unknown := st.session_state.pop("_unknown_run", None):
        where = "" if access.read_only() else f" under {root}"  # hosted: no server paths
        st.warning(
            ui.md_escape(
                f"There is no run named {shorten(unknown)!r}{where}; showing {entry.name!r} instead."
            ),
            icon=":material/warning:",
        )

    try:
        path, key = loaders.run_key_of(entry)
        run = loaders.run_data(path, key)
        filters = usable_filters(run)
        filter_widgets(run)
    except CacheError as exc:
        why = ui.public(str(exc), entry, loaders.manifest_or_none(entry))
        st.error(
            ui.md_escape(f"Run {entry.name!r} cannot be shown: {why}"), icon=":material/error:"
        )
        st.info("Other runs are unaffected: pick one in the sidebar.")
        state.write_url({"page": page_name(pg), "run": entry.name})
        return

    if not access.read_only():  # a hosted dashboard does not show its server's paths
        st.sidebar.caption(ui.md_escape(f"Cache: {root}"))
    st.session_state[ui.CTX] = ui.AppContext(
        root=root, entry=entry, run=run, filters=filters, pages=pages
    )
    preview_note.show(root, entry, run.manifest, path)  # a preview build says so, first
    notice = st.empty()  # above the page: filled once the page has read its parameters
    try:
        pg.run()
    except CacheError as exc:  # an artifact this page needs is damaged; other pages may still work
        st.error(ui.md_escape(ui.public(str(exc))), icon=":material/error:")
    finally:  # anything else: main() (hosted: one line; locally: Streamlit's traceback)
        state.write_url({"page": page_name(pg), "run": entry.name})
    if ignored := state.notices():
        notice.info(
            ui.md_escape(
                "Ignored what this run cannot show from the link: "
                + ", ".join(map(shorten, ignored))
            ),
            icon=":material/link_off:",
        )


main()
