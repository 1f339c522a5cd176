"""Curation in the dashboard (AppTest): every page reads the overlay, the Topics page edits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import nav
from dashboard.run_data import RunData
from pipeline.curation.edit import ENV_DIR, Place, edit

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"


@pytest.fixture
def app(dashboard_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))

    def open_app(page: str, **params: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params.update({"run": dashboard_runs.dated, "page": page, **params})
        return at.run()

    return open_app


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_rename_from_the_topics_page_then_undo(app):
    at = ok(app("topics", topic="1"))
    at.text_input(key="cur.label.1").input("Vision <b>models</b>").run()
    at.button(key="cur.rename.1").click().run()
    ok(at)
    assert re.sub(r"\\(.)", r"\1", at.header[0].value) == "1: Vision <b>models</b>"
    assert any("pipeline's label" in t.value for t in at.text)
    at.button(key="cur.undo.1").click().run()
    assert not re.sub(r"\\(.)", r"\1", ok(at).header[0].value).startswith("1: Vision")


def test_every_page_reads_merges_and_hides(app, dashboard_runs, tmp_path):
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.dated)
    place = Place(tmp_path, True)
    for action, topic, into in (("merge", 2, 1), ("hide", 0, None)):
        edit(place, run.name, run.manifest, run.build_topics, "ann", action, topic, into)
    for page in nav.PAGES:
        at = ok(app(page))
        if page == "topics":
            shown = set(at.dataframe[0].value["topic"])
            assert 0 not in shown and 2 not in shown and 1 in shown
