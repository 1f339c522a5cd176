"""The browser and load tests' prerequisite checks: skipped locally, failed under CI=true."""

from __future__ import annotations

import hosted
import test_load
from test_load import load_sessions  # bench/load_sessions.py, which test_load puts on the path

from tests.prereq import outcome


def _chromium_context() -> None:
    with hosted.chromium():
        pass


def test_browser_tests_fail_in_ci_without_chromium(monkeypatch, tmp_path):
    monkeypatch.setattr(hosted.bt, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "true")
    for check in (hosted.require_browser, _chromium_context, test_load._prerequisites):
        kind, msg = outcome(check)
        assert kind == "failed" and "no-chromium is missing" in msg, check
    monkeypatch.delenv("CI")
    kind, msg = outcome(hosted.require_browser)
    assert kind == "skipped" and "no-chromium is missing" in msg


def test_browser_tests_fail_in_ci_without_playwright(monkeypatch, tmp_path):
    chromium = tmp_path / "chromium"
    chromium.touch()
    monkeypatch.setattr(hosted.bt, "CHROMIUM", str(chromium))
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    monkeypatch.setenv("CI", "true")
    kind, msg = outcome(hosted.require_browser)
    assert kind == "failed" and "playwright is not installed" in msg


def test_load_test_fails_in_ci_without_the_shared_corpus(monkeypatch, tmp_path):
    monkeypatch.setattr(load_sessions, "CORPUS", tmp_path / "sotu_paragraphs.parquet")
    monkeypatch.setenv("CI", "true")
    kind, msg = outcome(test_load._prerequisites)
    assert kind == "failed" and "sotu_paragraphs.parquet is not here" in msg
    monkeypatch.delenv("CI")
    kind, msg = outcome(test_load._prerequisites)
    assert kind == "skipped" and "sotu_paragraphs.parquet is not here" in msg


def test_the_every_page_load_test_stays_opt_in_in_ci(monkeypatch, tmp_path):
    """``make test-load``'s variant is not a missing prerequisite: CI skips it, as before."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("TOPICTRENDS_LOAD_TEST", raising=False)
    kind, msg = outcome(lambda: test_load.test_twenty_sessions_render_every_page(tmp_path))
    assert kind == "skipped" and "make test-load" in msg
