"""Errors the user can fix.

A ``UserError`` is printed as one line on stderr and exits with status 2, with no
traceback: the message itself must name the file, the line or column, and the fix.
Anything else is a bug in topictrends and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a bad invocation; the message is the whole user-facing report."""

    exit_code = 2


class CacheError(UserError):
    """A cached artifact is missing, corrupt or of another schema version."""


class BuildLockedError(UserError):
    """Another build of the same run holds its lock."""
