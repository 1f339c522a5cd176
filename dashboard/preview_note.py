"""The one line a preview build shows above every page (``topictrends build --preview``).

A preview comes from static embeddings and a refined build follows as the run's next
build. The dashboard notices a new build when the run's symlink points elsewhere (the
loaders key on the resolved build directory), but only on a rerun; so while a preview is
shown, the line re-checks the symlink every few seconds and reruns the app once the
refined build is published, which then shows without the line. Nothing else changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import ui
from dashboard.run_data import RunEntry
from pipeline.store.artifacts import build_progress
from pipeline.store.contract import is_preview

REFRESH_SECONDS = 5  # how often a shown preview checks for its refined build
REFINING = "Preview from static embeddings; a refined build is on its way and replaces it here."
STOPPED = (
    "Preview from static embeddings; its refined build is not running (run the same "
    "topictrends build --preview command again to refine it)."
)


def preview_line(manifest: dict[str, Any], progress: list[Any], run: str) -> str | None:
    """The line for a run's build: None unless it is a preview; whether a build of the run
    is running (``build_progress``) says whether the refined build is on its way."""
    if not is_preview(manifest):
        return None
    running = any(
        isinstance(e, dict) and e.get("run") == run and e.get("state") == "running"
        for e in progress
    )
    return REFINING if running else STOPPED


def show(root: Path, entry: RunEntry, manifest: dict[str, Any], shown: str) -> None:
    """The line, as plain text, for the build ``shown`` (its resolved directory)."""
    if not is_preview(manifest):
        return

    @st.fragment(run_every=REFRESH_SECONDS)
    def line() -> None:
        if str(entry.path.resolve()) != shown:  # the refined build (or another) is published
            st.rerun(scope="app")
        text = preview_line(manifest, build_progress(root), entry.name)
        st.info(ui.md_escape(text), icon=":material/hourglass_top:")

    line()
