"""tests.prereq.require: a missing prerequisite skips a test locally and fails it in CI."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.prereq import in_ci, optional, outcome, require


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_missing_prerequisite_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci()
    kind, msg = outcome(lambda: require(False, "chromium is missing"))
    assert kind == "failed" and "chromium is missing" in msg


@pytest.mark.parametrize("value", [None, "", "false", "0", "no"])
def test_missing_prerequisite_skips_outside_ci(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    assert outcome(lambda: require(False, "the corpus is not here")) == (
        "skipped",
        "the corpus is not here",
    )


@pytest.mark.parametrize("ci", ["true", ""])
def test_present_prerequisite_runs_the_test(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    assert outcome(lambda: require(True, "unused")) == ("ran", "")
    assert outcome(lambda: require(["a path"], "unused")) == ("ran", "")  # any truthy value


def test_optional_variants_skip_in_ci_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert outcome(lambda: optional(False, "set X=1 to run")) == ("skipped", "set X=1 to run")
    assert outcome(lambda: optional(True, "unused")) == ("ran", "")


def test_prerequisites_go_through_require() -> None:
    """No test file skips, or reads CI, by itself: every skip is a ``require`` or ``optional``."""
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel in {"tests/prereq.py", "tests/test_prereq.py"}:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"pytest\.skip\(|importorskip\(|mark\.skip(if)?\b", text) or re.search(
            r"environ(?:\.get\(|\[)\s*[\"']CI[\"']", text
        ):
            offenders.append(rel)
    assert offenders == [], (
        "use tests.prereq.require for a missing prerequisite (a failure under CI=true) or "
        "tests.prereq.optional for an opt-in variant or optional hardware (skipped everywhere)"
    )
