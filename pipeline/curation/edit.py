"""Where curation logs live, and the one write path every editor (CLI, dashboard) calls.

``locate`` decides the directory: ``$TOPICTRENDS_CURATION_DIR``, else ``[curation] dir``,
else ``curation/`` under the cache root. In hosted mode the cache is mounted read-only,
so only an explicitly configured directory is writable; without one, edits already in the
cache's own ``curation/`` are shown and editing is off. ``edit`` checks the request
against the curated view as it is under the log's lock, records the value before, and
appends one entry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.curation.log import CurationError, Entry, append, clean_text, new_entry
from pipeline.curation.overlay import check_action, last_live
from pipeline.curation.view import Overlay

ENV_DIR = "TOPICTRENDS_CURATION_DIR"
DEFAULT_DIR = "curation"


@dataclass(frozen=True)
class Place:
    """The curation directory to read (None: none) and whether edits may be written."""

    directory: Path | None
    writable: bool
    why: str = ""  # why not writable, with the fix


def _writable(path: Path) -> bool:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def locate(
    root: Path,
    configured: str | None = None,
    hosted: bool = False,
    env: Mapping[str, str] | None = None,
) -> Place:
    """The curation directory for the cache at ``root`` (see the module docstring)."""
    env = os.environ if env is None else env
    explicit = env.get(ENV_DIR, "").strip() or configured
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if _writable(path):
            return Place(path, True)
        return Place(
            path if path.is_dir() else None,
            False,
            f"{path}: the curation directory is not writable; mount it read-write or "
            f"point {ENV_DIR} elsewhere",
        )
    default = root / DEFAULT_DIR
    readable = default if default.is_dir() else None
    if hosted:
        return Place(
            readable,
            False,
            f"editing is off: a hosted dashboard's cache is read-only, so set {ENV_DIR} "
            "(or [curation] dir) to a writable mount",
        )
    if _writable(default):
        return Place(default, True)
    return Place(
        readable,
        False,
        f"{root}: the cache is not writable; set [curation] dir or {ENV_DIR} to a writable "
        "directory",
    )


def _before(ov: Overlay, labels: dict[int, str], action: str, topic: int | None) -> Any:
    s = ov.state
    if action == "rename":
        return labels.get(topic)
    if action == "note":
        return s.notes.get(topic)
    if action in ("hide", "unhide"):
        return topic in s.hidden
    if action == "merge":
        return {"label": labels.get(topic), "hidden": topic in s.hidden}
    return None


def edit(
    place: Place,
    run: str,
    manifest: dict[str, Any],
    topics: pd.DataFrame,
    who: str,
    action: str,
    topic: int | None = None,
    into: int | None = None,
    value: str | None = None,
    lineage: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> Entry:
    """Append one edit of ``run`` (its build's ``manifest`` and raw ``topics``) by ``who``.

    Raises CurationError when editing is off here, or the edit makes no sense on the
    curated view (an unknown or merged-away topic, nothing to undo).
    """
    if not place.writable or place.directory is None:
        raise CurationError(place.why or "editing is off: no curation directory")
    if not who.strip():
        raise CurationError("an edit needs an editor: sign in, or run it as a named OS user")
    if action in ("rename", "note"):
        value = clean_text(value or "", "label" if action == "rename" else "note")
    current = {int(t) for t in topics["topic"]}
    pipeline_labels = dict(
        zip(topics["topic"].astype(int), topics["label"].astype(str), strict=True)
    )

    def make(entries: list[Entry]) -> Entry:
        ov = Overlay.of(entries, manifest, topics, lineage, history)
        if action == "undo":
            target = last_live(entries)
            if target is None:
                raise CurationError(f"nothing to undo in run '{run}'")
            return new_entry(
                "undo", who, ov.step, target=target.id, topic=target.topic, before=target.action
            )
        check_action(ov.state, action, topic, into, current)
        labels = {**pipeline_labels, **ov.state.labels}
        before = _before(ov, labels, action, topic)
        return new_entry(action, who, ov.step, topic=topic, into=into, value=value, before=before)

    return append(place.directory, run, make)
