"""Run names: each is one directory under the cache root, so the rule is strict.

A run name is one path component under ``<cache>/runs``, ``.locks`` and ``.progress``: no
separator, no leading dot (``runs`` hides dot names, ``..`` escapes the root), no leading
dash (it would read as a flag), and short enough for the lock and temporary names built
from it. No heavy imports: the CLI checks a name before it loads the pipeline.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import UserError

RUN_NAME_MAX = 100
RUN_NAME_RULE = (
    f"a run name is 1-{RUN_NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter, "
    "digit or '_' (e.g. papers-2024)"
)
_RUN_NAME = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9._-]{{0,{RUN_NAME_MAX - 1}}}")


def check_run_name(name: str, what: str = "--name") -> str:
    """Return ``name`` if it is a valid run name, else raise a UserError naming the rule.

    ``what`` is how the user gave the name (``--name``, ``RUN``), so the message points at it.
    """
    if not _RUN_NAME.fullmatch(name):
        raise UserError(f"{what} {name!r}: {RUN_NAME_RULE}. Pick a name that follows this rule.")
    return name


def default_run_name(path: Path) -> str:
    """A valid run name from a file name: other characters become '-', then trimmed."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).lstrip("-.")[:RUN_NAME_MAX]
    return stem.rstrip("-.") or "corpus"
