"""Whatever a link carries, a page shows its normal view: never a traceback, at most a notice.

Hypothesis drives every page through Streamlit's AppTest with random query parameters
(the ones the dashboard reads, with ids out of range, odd encodings, huge text, malformed
dates and ranges); a few fixed cases check the notice and that the URL is cleaned up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from frames import listed
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard import nav

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"
PAGES = tuple(nav.PAGES)
RUNS = ("arxiv", "trending", "refits")  # dated with metadata, undated, with lineage
NAMES = (
    "topic",
    "node",
    "view",
    "color",
    "outliers",
    "gran",
    "tt",
    "span",
    "tv",
    "ho",
    "tq",
    "sem",
    "k",
    "hview",
    "rel",
    "topics",
    "from",
    "to",
    "q",
    "f.label",
    "f.year",
    "f.n_labels",
    "f.nope",
)
FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # no lone surrogates
ids = st.integers(-(10**30), 10**30).map(str)
dates = st.sampled_from(["9999-12-31", "0001-01-01", "2020-02-30", "2021-06", "20200101", "x"])
values = st.one_of(
    text,
    ids,
    dates,
    st.builds(lambda a, b: f"{a}..{b}", ids | dates, ids | dates),
    st.lists(ids, max_size=5).map(",".join),
    st.sampled_from(["²", "١٢", "-0", "1e9", "\x00", "%2F..%2F", "=cmd|' /C calc'!A0"]),
    st.integers(1000, 20000).map(lambda n: "x" * n),
)


@pytest.fixture
def open_app(dashboard_runs, monkeypatch):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))

    def run(params: dict[str, str]) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        for k, v in params.items():
            at.query_params[k] = v
        return at.run()

    return run


def normal_view(at: AppTest, params: dict) -> None:
    assert not at.exception, (params, [e.value for e in at.exception])
    assert not at.error, (params, [e.value for e in at.error])
    assert at.title, params  # the page drew its title: its normal view
    assert at.query_params["run"] in RUNS + ("broken", "evil", "updates", "evil-updates")
    for v in at.query_params.values():  # the address bar keeps no value over 1,000 chars
        assert all(len(x) <= 1000 for x in ([v] if isinstance(v, str) else v)), params


@FUZZ
@given(
    page=st.sampled_from(PAGES),
    run=st.sampled_from(RUNS) | text,
    params=st.dictionaries(st.sampled_from(NAMES), values, max_size=6),
)
@example(page="documents", run="arxiv", params={"to": "9999-12-31", "sem": "x" * 20000})
@example(page="trends", run="arxiv", params={"tt": "²", "gran": "\x00", "from": "0001-01-01"})
@example(page="topics", run="arxiv", params={"topic": "-" + "9" * 40, "tq": "x" * 5000})
@example(page="map", run="arxiv", params={"view": "intertopic", "topic": "9" * 5000})
@example(page="hierarchy", run="trending", params={"node": "-7", "hview": "icicle"})
def test_random_links_give_the_normal_view(open_app, page, run, params):
    case = {"page": page, "run": run, **params}
    normal_view(open_app(case), case)


def notice(at: AppTest) -> str:
    return re.sub(r"\\(.)", r"\1", " ".join(i.value for i in at.info))


@pytest.mark.parametrize(
    ("params", "dropped", "kept"),
    [
        ({"page": "topics", "topic": "99999"}, "topic", {}),
        ({"page": "trends", "tt": "1,²,777"}, "tt", {"tt": "1"}),
        ({"page": "trends", "tv": "pie", "span": "all"}, "tv", {}),
        ({"page": "documents", "k": "-5"}, "k", {}),
        ({"page": "map", "view": "3d", "color": "nope"}, "color, view", {}),
        ({"page": "overview", "q": "graph " * 100}, "q", {"q": ("graph " * 100)[:200].strip()}),
        ({"page": "overview", "topics": "1,abc"}, "topics", {"topics": "1"}),
        ({"page": "documents", "to": "9999-12-31", "from": "2020-01-01"}, "to", {}),
        ({"page": "trends", "from": "0001-01-01"}, "from", {}),
    ],
)
def test_an_unusable_parameter_is_named_once_and_dropped(open_app, params, dropped, kept):
    at = open_app({"run": "arxiv", **params})
    normal_view(at, params)
    assert f"Ignored what this run cannot show from the link: {dropped}" in notice(at)
    for name in dropped.split(", "):
        assert at.query_params.get(name) == kept.get(name)
    for name in set(params) - set(dropped.split(", ")) - {"page"}:
        assert at.query_params[name] == params[name]  # what was usable stays
    at.run()  # the next rerun: the notice is not repeated
    assert "Ignored" not in notice(at)


def test_dates_on_an_undated_run_are_dropped_not_applied(open_app):
    at = open_app({"run": "trending", "page": "documents", "from": "2020-01-01"})
    normal_view(at, {})
    assert "from" in notice(at) and "from" not in at.query_params
    assert listed(at)[0] == 60  # every document, not none
