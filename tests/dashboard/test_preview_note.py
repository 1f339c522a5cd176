"""A preview build's line above every page (dashboard.preview_note)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
from update_fixture import republish

from dashboard.preview_note import REFINING, STOPPED, preview_line
from dashboard.ui import md_escape
from pipeline.store.cache import Store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"
LINE = "Preview from static embeddings"


def test_the_line_says_whether_the_refined_build_is_on_its_way() -> None:
    preview = {"update": {"kind": "build", "step": 0, "preview": True}}
    running = {"run": "papers", "state": "running"}
    assert preview_line({"update": {"kind": "refit", "step": 1}}, [running], "papers") is None
    assert preview_line({}, [running], "papers") is None, "a build from before the key"
    assert preview_line(preview, [running], "papers") == REFINING
    assert preview_line(preview, [{**running, "run": "other"}], "papers") == STOPPED
    assert preview_line(preview, [{**running, "state": "interrupted"}, "junk"], "papers") == STOPPED


def test_a_preview_shows_one_line_until_its_refined_build_is_published(
    dashboard_runs, tmp_path: Path, monkeypatch
) -> None:
    store = Store(tmp_path / "cache")
    source = (dashboard_runs.root / "runs" / dashboard_runs.undated).resolve()
    update = {"kind": "build", "step": 0, "previous_build": None}
    patch = {"run": "papers", "update": {**update, "preview": True}}
    republish(store, "papers", source=source, manifest_patch=patch)
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(store.root))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and not at.error
    shown = [e.value for e in at.info if LINE in str(e.value)]
    assert shown == [md_escape(STOPPED)], shown  # plain text: Markdown escaped
    assert at.info[0].value in shown, "the first thing above the page"

    refined = {**update, "kind": "refit", "step": 1}
    republish(store, "papers", manifest_patch={"update": refined})
    at.run()
    assert not at.exception and not at.error
    assert not [e for e in at.info if LINE in str(e.value)]
