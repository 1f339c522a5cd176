"""Where the previous digest left off, and writing a digest file whole.

The change section covers the updates since the previous digest of the run: after each
digest, ``<curation dir>/<run>.digest.json`` records the update step it covered. Without a
writable curation directory nothing is recorded and a digest covers the latest update.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pipeline.curation.edit import Place
from pipeline.errors import UserError, os_error_line
from pipeline.store.names import check_run_name


def _path(directory: Path, run: str) -> Path:
    return directory / f"{check_run_name(run, 'RUN')}.digest.json"


def previous_step(place: Place, run: str) -> int | None:
    """The update step the previous digest covered, or None (none recorded)."""
    if place.directory is None:
        return None
    try:
        step = json.loads(_path(place.directory, run).read_text(encoding="utf-8")).get("step")
    except (OSError, ValueError, AttributeError):
        return None
    return step if isinstance(step, int) and step >= 0 else None


def record(place: Place, run: str, digest: dict[str, Any]) -> None:
    if not place.writable or place.directory is None:
        return
    place.directory.mkdir(parents=True, exist_ok=True)
    info = {"step": digest["step"], "generated_at": digest["generated_at"]}
    write_atomic(_path(place.directory, run), json.dumps(info) + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file, then rename)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(
            os_error_line(exc, path, "cannot write the digest", "pass another --out")
        ) from None
