"""The Digest page (AppTest): the same content as `topictrends digest`, for the chosen window."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard.run_data import RunData
from pipeline.curation.edit import ENV_DIR, Place, edit
from pipeline.curation.log import read_log
from pipeline.curation.view import curated_run
from pipeline.digest import render
from pipeline.digest.content import build_digest
from pipeline.store.artifacts import open_run

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"


def open_app(root: Path, run: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"run": run, "page": "digest", **params})
    return at.run()


def test_digest_page_shows_the_cli_digest_for_the_window(dashboard_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    name = dashboard_runs.updated
    run = RunData.open(dashboard_runs.root / "runs" / name)
    topic = int(run.build_topics["topic"].iloc[0])
    edit(Place(tmp_path, True), run.name, run.manifest, run.build_topics, "ann", "rename", topic,
         value="Curated <b>label</b>")  # fmt: skip
    at = open_app(dashboard_runs.root, name, last="2")
    assert not at.exception and not at.error, [e.value for e in at.exception]
    expected = build_digest(
        curated_run(open_run(dashboard_runs.root / "runs" / name), read_log(tmp_path, name)),
        last=2,
    )
    shown = [t.value for t in at.text]
    for _, items in render.sections(expected):  # themes first, then topics
        for i in items:
            assert f"{render.head(i)} ({i['category']})" in shown
            assert not render.theme_topics(i) or render.theme_topics(i) in shown
    assert at.caption[0].value.replace("\\", "").startswith("Recent window")
    assert "(2 " in at.caption[0].value  # the chosen window, not the run's own
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download .md", "Download .html", "Download .json", "Download .rss"]
    undated = open_app(dashboard_runs.root, dashboard_runs.undated)
    assert not undated.exception and "no dates" in undated.info[0].value


def test_the_dashboard_scores_themes_under_curation_as_the_cli_does(dashboard_runs, tmp_path):
    """A merge moves documents: RunData rescores topics and hierarchy nodes together, the
    same way as ``curated_run`` (the digest's view), so the pages and the digest agree."""
    name = dashboard_runs.updated
    run = RunData.open(dashboard_runs.root / "runs" / name, curation=tmp_path)
    a, b = (int(t) for t in run.build_topics["topic"].iloc[:2])
    edit(Place(tmp_path, True), name, run.manifest, run.build_topics, "ann", "merge", a, b)
    run = RunData.open(dashboard_runs.root / "runs" / name, curation=tmp_path)
    cli = curated_run(open_run(dashboard_runs.root / "runs" / name), read_log(tmp_path, name))
    assert run.overlay.state.membership_changed and cli.themes is not None and len(cli.themes)
    assert a not in {t for ts in run.themes["topics"] for t in ts}
    cols = ["node", "topics", "category", "q_value", "headline"]
    pd.testing.assert_frame_equal(run.themes[cols], cli.themes[cols])
    pd.testing.assert_frame_equal(run.trends, cli.trends)
