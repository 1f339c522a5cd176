"""The curation controls of the Topics page, its log, and the Overview's review notice.

Every write goes through ``editing.submit``, which decides the editor again from the
secrets and the signed-in identity: the controls are only drawn for editors, but a
request from anyone else is refused by the server all the same. Labels and notes are
user text, shown with ``st.text`` or through ``md_escape``, never as Markdown or HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import access, editing, gate, ui
from dashboard.run_data import RunData
from pipeline.curation.log import CurationError, read_log


def _user() -> dict:
    try:
        return dict(st.user.to_dict())
    except Exception:  # no user object outside a sign-in setup
        return {}


def _secrets() -> dict:
    try:
        return gate.secrets()
    except access.ConfigError:
        return {"auth": None}  # broken: editing.editor refuses (fail closed)


def session_editor() -> editing.Editor:
    """This session's editor, or why it may not edit (no place to write counts too)."""
    who = editing.editor(_secrets(), _user())
    place = editing.place(ui.context().root)
    if who.who is not None and not place.writable:
        return editing.Editor(None, place.why)
    return who


def _do(run: RunData, action: str, topic: int | None = None, **kw: object) -> None:
    try:
        entry = editing.submit(ui.context().root, _secrets(), _user(), run, action, topic, **kw)
    except CurationError as exc:
        st.session_state["curation.error"] = str(exc)
        return
    st.session_state["curation.done"] = f"Saved: {entry.action} by {entry.who}"


def topic_notes(run: RunData, topic: int) -> None:
    """What the team said about this topic: its note, a review flag, its built label."""
    rows = run.topics[run.topics["topic"] == topic]
    if rows.empty:
        return
    row = rows.iloc[0]
    if row.get("review"):
        st.warning(
            ui.md_escape(f"Review this topic's curation: {row['review']} since it was edited."),
            icon=":material/rate_review:",
        )
    if row.get("note"):
        st.text(f"Note: {row['note']}")
    if row.get("label") != row.get("pipeline_label"):
        st.text(f"Curated label; the pipeline's label is: {row['pipeline_label']}")
    if len(row.get("merged_from", [])):
        st.text(
            "Merged into it: " + ", ".join(ui.topic_name(run, int(t)) for t in row["merged_from"])
        )


def edit_controls(run: RunData, topic: int) -> None:
    """Rename, merge, hide, note and undo, for editors only."""
    if msg := st.session_state.pop("curation.error", None):
        st.error(ui.md_escape(ui.public(msg)), icon=":material/block:")
    if msg := st.session_state.pop("curation.done", None):
        st.success(ui.md_escape(msg), icon=":material/check:")
    who = session_editor()
    if who.who is None:
        st.caption(ui.md_escape(f"View only: {ui.public(who.why)}."))
        return
    with st.expander(f"Curate topic {topic} (as {who.who})", icon=":material/edit:"):
        c = st.columns([3, 1])
        label = c[0].text_input("New label", key=f"cur.label.{topic}", max_chars=500)
        if c[1].button("Rename", key=f"cur.rename.{topic}", disabled=not label.strip()):
            _do(run, "rename", topic, value=label)
            st.rerun()
        others = [int(t) for t in run.topics["topic"] if int(t) != topic]
        into = c[0].selectbox(
            "Merge into",
            others,
            format_func=lambda t: ui.topic_name(run, t),
            key=f"cur.into.{topic}",
        )
        if c[1].button("Merge", key=f"cur.merge.{topic}", disabled=into is None):
            _do(run, "merge", topic, into=into)
            st.rerun()
        note = c[0].text_area("Note", key=f"cur.note.{topic}", max_chars=500, height=68)
        if c[1].button("Save note", key=f"cur.savenote.{topic}", disabled=not note.strip()):
            _do(run, "note", topic, value=note)
            st.rerun()
        b = st.columns(3)
        if b[0].button("Hide topic", key=f"cur.hide.{topic}", icon=":material/visibility_off:"):
            _do(run, "hide", topic)
            st.rerun()
        if b[1].button("Undo last edit", key=f"cur.undo.{topic}", icon=":material/undo:"):
            _do(run, "undo")
            st.rerun()


def log_panel(run: RunData) -> None:
    """The run's curation log, newest first: who, when, what, the value before."""
    if run.curation_problem:
        st.error(ui.md_escape(ui.public(run.curation_problem)), icon=":material/error:")
    entries = read_log(run.curation, run.name) if not run.curation_problem else []
    hidden = sorted(run.overlay.state.hidden)
    with st.expander(f"Curation log ({len(entries)} edits, {len(hidden)} hidden topics)"):
        if not entries:
            st.caption("No edits yet.")
            return
        frame = pd.DataFrame(
            {
                "when": [e.at for e in entries],
                "who": [e.who for e in entries],
                "action": [e.action for e in entries],
                "topic": [e.topic for e in entries],
                "into": [e.into for e in entries],
                "value": [e.value or "" for e in entries],
                "before": [str(e.before) if e.before is not None else "" for e in entries],
            }
        ).iloc[::-1]
        st.dataframe(frame, hide_index=True, width="stretch", key="curation_log")
        if hidden and session_editor().who is not None:
            pick = st.selectbox("Show a hidden topic again", hidden, key="cur.unhide")
            if st.button("Unhide", key="cur.unhide.go"):
                _do(run, "unhide", int(pick))
                st.rerun()


def review_notice(run: RunData) -> None:
    """Overview: curated topics an update split or merged, for the team to look at."""
    review = run.overlay.state.review
    if not review:
        return
    names = "; ".join(f"{ui.topic_name(run, t)} ({why})" for t, why in sorted(review.items()))
    st.warning(
        ui.md_escape(f"Curated topics to review after the last update: {names}."),
        icon=":material/rate_review:",
    )
