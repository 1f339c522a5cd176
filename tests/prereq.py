"""Missing prerequisites: a skip on a developer's machine, a failure in CI.

A test that cannot run because something it needs is absent (Debian's Chromium, Playwright,
the shared corpora) is skipped locally, where a clone without ../shared is normal. In CI a
skip reads as a pass in the summary, so a CI machine that lost its browser or corpus would
go on "passing" the browser and load tests without running them; under ``CI=true`` the same
check fails the test instead. Opt-in variants (``TOPICTRENDS_LOAD_TEST=1``) and optional
hardware are not prerequisites: ``optional`` skips them everywhere. No test skips by itself
(tests/test_prereq.py checks), so every skip is one of these two, on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

FALSE = {"", "0", "false", "no", "off"}


def in_ci() -> bool:
    """``CI`` is set to anything but an explicit no (CI services set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in FALSE


def require(condition: object, reason: str) -> None:
    """Go on when ``condition`` holds; else skip the test, or fail it when ``in_ci()``.

    ``reason`` names what is missing and how to get it; it is the skip reason or the failure.
    """
    if condition:
        return
    if in_ci():
        pytest.fail(
            f"missing prerequisite (CI is set, so this is a failure): {reason}", pytrace=False
        )
    pytest.skip(reason)


def optional(condition: object, reason: str) -> None:
    """Skip unless ``condition``, in CI too: for opt-in variants (``TOPICTRENDS_LOAD_TEST=1``)
    and hardware a CI machine need not have (a GPU), never for something the test needs."""
    if not condition:
        pytest.skip(reason)


def outcome(check: Callable[[], object]) -> tuple[str, str]:
    """What ``check()`` did to the test: ("failed" | "skipped" | "ran", message), for the tests
    of ``require`` itself (a skip raised inside ``pytest.raises(Failed)`` would escape it and
    turn the checking test into a skip instead of a failure)."""
    try:
        check()
    except pytest.fail.Exception as exc:
        return "failed", str(exc)
    except pytest.skip.Exception as exc:
        return "skipped", str(exc)
    return "ran", ""
