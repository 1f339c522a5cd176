"""Errors the user can fix.

A ``UserError`` is printed as one line on stderr and exits with status 2, with no
traceback: the message itself must name the file, the line or column, and the fix.
Anything else is a bug in topictrends and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class UserError(Exception):
    """Bad input or a bad invocation; the message is the whole user-facing report."""

    exit_code = 2


class CacheError(UserError):
    """A cached artifact is missing, corrupt or of another schema version."""


class BuildLockedError(UserError):
    """Another build of the same run holds its lock."""


def os_error_line(exc: OSError, where: object, doing: str, fallback: str) -> str:
    """One line for an OSError: ``where``, what failed and why, and the fix for that errno.

    Only ENOSPC and EDQUOT mean a full disk; a permission, read-only or not-a-directory
    error needs a different fix, and telling the user to free space would send them the
    wrong way. ``doing`` is the failed action ("cannot write the cache"); ``fallback`` is
    the fix for an errno with no specific advice (it should name the flag to change).
    """
    import errno
    import re

    code = exc.errno
    if code is None:  # pyarrow's OSError carries the errno only in its text
        found = re.search(r"\[Errno (\d+)\]|errno[ =:]+(\d+)", str(exc), re.IGNORECASE)
        code = int(found[1] or found[2]) if found else None
    why = exc.strerror or str(exc) or type(exc).__name__
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = "The disk is full: free some space, or " + fallback
    elif code in (errno.EACCES, errno.EPERM):
        fix = "Give this user permission there (chmod/chown), or " + fallback
    elif code == errno.EROFS:
        fix = "That file system is read-only: " + fallback
    elif code in (errno.ENOTDIR, errno.EEXIST):
        fix = "A file is in the way of a directory there: move it, or " + fallback
    elif code == errno.ENAMETOOLONG:
        fix = "A path or name is too long: shorten it, or " + fallback
    elif code == errno.EISDIR:
        fix = "That is a directory: give a file, or " + fallback
    elif code == errno.ELOOP:
        fix = "A symbolic link loops there: fix the link, or " + fallback
    elif code == errno.EIO:
        fix = "The device reported an I/O error: check the disk, or " + fallback
    else:
        fix = fallback[:1].upper() + fallback[1:]
    fix = fix.rstrip(".")
    return f"{where}: {doing} ({why}). {fix}."


def one_line(message: str) -> str:
    """The error as one line: a value the user typed may hold a newline or a control key."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message.strip())


def usage_line(exc: Exception) -> str:
    """A usage error (unknown option, extra argument, bad value) as one line with the fix.

    typer bundles its own click, so ``click.ClickException`` does not catch these: they are
    ``typer.TyperException`` subclasses, with the context of the command they came from.
    """
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "topictrends"
    format_message = getattr(exc, "format_message", None)
    message = (format_message() if format_message else str(exc)).rstrip()
    stop = "" if message.endswith((".", "!", "?")) else "."
    return f"{message}{stop} See '{command} --help'."


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, as raised by the CLI's own SIGINT handler.

    CPython marks a *bare* ``KeyboardInterrupt`` raised inside code run by ``exec`` or
    ``eval`` of a string (each namedtuple and dataclass made while a stage imports its
    libraries) as unhandled, even when the CLI catches it further up, and at exit then
    kills itself with SIGINT: the message was printed but the shell saw -2, not 130. The
    mark is set only for the exact type, so the handler raises this subclass.
    """


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted


@contextlib.contextmanager
def own_sigint() -> Iterator[None]:
    """Our SIGINT handler for the command, where Python's default one is installed.

    An ignored SIGINT (a background job) stays ignored; the previous handler comes back
    afterwards, so an in-process caller (the tests) keeps its own.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if previous is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
