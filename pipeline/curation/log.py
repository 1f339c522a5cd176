"""The curation log: one append-only JSON-lines file per run, safe for concurrent writers.

Every edit (rename, merge, hide, unhide, note, undo) is one line: who made it, when, the
action, its value and the value before. Lines are never rewritten; an undo is a new line
naming the entry it cancels. Two editors (two dashboard replicas, a CLI beside a
dashboard) may write at once, so ``append`` holds an ``fcntl`` lock on a side file while
it reads the log, decides the entry (an undo must know the latest live edit) and writes
it as ONE ``os.write`` on an ``O_APPEND`` descriptor: no entry is lost and no line is torn.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import UserError, os_error_line
from pipeline.store.cache import now_iso
from pipeline.store.names import check_run_name

ACTIONS = ("rename", "merge", "hide", "unhide", "note", "undo")
MAX_TEXT = 500  # characters of a label or a note
LOG_VERSION = 1


class CurationError(UserError):
    """A curation request that cannot be honoured (unknown topic, nothing to undo, a bad log)."""


@dataclass(frozen=True)
class Entry:
    """One line of the log. ``topic``/``into`` are topic ids at build ``step`` of the run."""

    action: str
    who: str
    at: str
    step: int
    topic: int | None = None
    into: int | None = None
    value: str | None = None
    before: Any = None
    target: str | None = None  # undo: the id of the entry it cancels
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    v: int = LOG_VERSION

    def line(self) -> bytes:
        return (json.dumps(asdict(self), ensure_ascii=False, sort_keys=True) + "\n").encode()


def local_user() -> str:
    """Who edits from this machine: the OS user (the CLI, a local dashboard)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in a bare container
        return f"uid-{os.getuid()}"


def log_path(directory: Path, run: str) -> Path:
    return directory / f"{check_run_name(run, 'RUN')}.jsonl"


def clean_text(value: str, what: str) -> str:
    """A label or note as stored: one line, printable, at most MAX_TEXT characters."""
    text = " ".join(value.split())
    if not text:
        raise CurationError(f"the {what} is empty; give some text")
    if len(text) > MAX_TEXT:
        raise CurationError(f"the {what} has {len(text)} characters; keep it under {MAX_TEXT}")
    if not text.isprintable():
        raise CurationError(f"the {what} holds control characters; remove them")
    return text


def _entry(obj: object, path: Path, lineno: int) -> Entry:
    if not isinstance(obj, dict) or obj.get("action") not in ACTIONS:
        raise CurationError(
            f"{path}: line {lineno}: not a curation entry. Remove the line or restore the file."
        )
    try:
        return Entry(**obj)
    except TypeError:
        raise CurationError(
            f"{path}: line {lineno}: unknown fields in a curation entry. Remove the line or "
            "restore the file."
        ) from None


def read_log(directory: Path | None, run: str) -> list[Entry]:
    """Every entry of ``run``'s log, oldest first; [] without a directory or a log.

    A line that is not a curation entry is a CurationError naming the file and line: an
    overlay that silently skipped one would show the team a state nobody chose.
    """
    if directory is None:
        return []
    path = log_path(directory, run)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CurationError(
            os_error_line(exc, path, "cannot read the curation log", "fix its permissions")
        ) from None
    out = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise CurationError(
                f"{path}: line {lineno}: not valid JSON. Remove the line or restore the file."
            ) from None
        out.append(_entry(obj, path, lineno))
    return out


def version(directory: Path | None, run: str) -> str:
    """A cheap token that changes whenever the log does (size and modification time)."""
    if directory is None:
        return "none"
    try:
        st = log_path(directory, run).stat()
    except OSError:
        return "empty"
    return f"{st.st_size}-{st.st_mtime_ns}"


@contextlib.contextmanager
def locked(directory: Path, run: str) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``<run>.lock`` beside the log (blocks until free)."""
    lock = directory / f"{check_run_name(run, 'RUN')}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def append(directory: Path, run: str, make: Callable[[list[Entry]], Entry]) -> Entry:
    """Append the entry ``make(current entries)`` returns, under the lock; return it.

    ``make`` sees the log as it is while no one else can write, so a check (does the
    topic exist, is there anything to undo) and the write it justifies are one step.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with locked(directory, run):
            entry = make(read_log(directory, run))
            fd = os.open(log_path(directory, run), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o664)
            try:
                data = entry.line()
                if os.write(fd, data) != len(data):  # a regular file takes it whole
                    raise OSError(28, "short write")
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise CurationError(
            os_error_line(
                exc,
                directory,
                "cannot write the curation log",
                "set [curation] dir or $TOPICTRENDS_CURATION_DIR to a writable directory",
            )
        ) from None
    return entry


def new_entry(action: str, who: str, step: int, **fields: Any) -> Entry:
    return Entry(action=action, who=who, at=now_iso(), step=step, **fields)
