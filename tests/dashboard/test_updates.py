"""Updates in the dashboard: "New since the last update", the Lineage page, a topic's history.

Run on ``updates`` (conftest: a first build, then 80 documents on two new subjects added as
step 1) and on runs without update history, which must explain how to get one.
"""

from __future__ import annotations

import pytest
from test_app import APP, PAGES, ok

from dashboard.data import (
    RunData,
)


@pytest.fixture(scope="module")
def updated(dashboard_runs) -> RunData:
    return RunData.open(dashboard_runs.root / "runs" / dashboard_runs.updated)


@pytest.fixture
def app(dashboard_runs, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))

    def open_app(run: str, page: str, **params: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["run"] = run
        at.query_params["page"] = page
        for k, v in params.items():
            at.query_params[k] = v
        return at.run()

    return open_app


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_on_an_updated_run(app, page):
    at = ok(app("updates", page))
    assert at.title[0].value == (PAGES[page] or "updates")
