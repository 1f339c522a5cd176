"""Hosted mode shows no path of its server: every page, every error state, in AppTest.

The app runs with ``TOPICTRENDS_READ_ONLY=1`` over a copy of the test cache that also holds
runs broken each way a cache breaks (a manifest that is not JSON, an older schema version,
a missing file, a checksum mismatch, a static-model run whose model is not in the cache)
and a failed build in the progress panel whose error names files by path. Everything the
app sends to the browser (every element's message: text, captions, tooltips, tables as
Arrow bytes, JSON, code, alerts) is searched for the cache root and the corpus input paths.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import nav

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"
PAGES = tuple(nav.PAGES)


@pytest.fixture(scope="module")
def hosted_root(dashboard_runs, tmp_path_factory):
    base = tmp_path_factory.mktemp("hosted-paths")
    root = base / "srv" / "cache"
    shutil.copytree(dashboard_runs.root, root, symlinks=True)
    runs = root / "runs"
    src = (runs / dashboard_runs.dated).resolve()

    def variant(name: str) -> tuple[Path, dict]:
        dst = runs / name
        shutil.copytree(src, dst)
        return dst, json.loads((dst / "manifest.json").read_text())

    dst, _ = variant("not-json")
    (dst / "manifest.json").write_text("{this is not json")
    dst, m = variant("old-schema")
    m["schema_version"] = 0
    (dst / "manifest.json").write_text(json.dumps(m))
    dst, _ = variant("no-documents")
    (dst / "documents.parquet").unlink()
    dst, m = variant("static")  # its query embedder is a static model the cache lacks
    m["embedding"]["backend"] = "static"
    m["config"]["embed"]["backend"] = "static"
    (dst / "manifest.json").write_text(json.dumps(m))
    (root / ".progress").mkdir(exist_ok=True)
    (root / ".progress" / "gone.json").write_text(
        json.dumps(
            {
                "run": "gone",
                "state": "failed",
                "error": f"{src}/embeddings.npy: unreadable array ({root}/.store/x)",
            }
        )
    )
    secrets = {str(root), str(root.resolve()), str(dashboard_runs.root), str(base)}
    for manifest in runs.glob("*/manifest.json"):
        try:
            corpus = json.loads(manifest.read_text()).get("corpus", {})
        except ValueError:
            continue
        secrets |= {corpus["input"], corpus["path"], str(Path(corpus["path"]).parent)}
    return root, sorted(s for s in secrets if "/" in s)


@pytest.fixture
def hosted(hosted_root, monkeypatch):
    root, _ = hosted_root
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(root))
    monkeypatch.setenv("TOPICTRENDS_READ_ONLY", "1")
    monkeypatch.setenv("TOPICTRENDS_AUTH", "off")  # hosted mode requires sign-in otherwise

    def open_app(**params: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        for k, v in params.items():
            at.query_params[k] = v
        return at.run()

    return open_app


def everything_sent(at: AppTest) -> str:
    """Every element and block message of the page, as protobuf text (bytes included)."""
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001 - AppTest's tree node types are internal
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def assert_no_server_paths(at: AppTest, secrets: list[str], where: object) -> str:
    assert not at.exception, (where, [e.value for e in at.exception])
    sent = everything_sent(at)
    leaked = [s for s in secrets if s in sent]
    assert leaked == [], (where, leaked)
    return sent


def unescaped(at: AppTest, kind: str) -> str:
    return re.sub(r"\\(.)", r"\1", " ".join(str(e.value) for e in getattr(at, kind)))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_no_server_path(hosted, hosted_root, page):
    _, secrets = hosted_root
    for run in ("arxiv", "refits"):
        at = hosted(run=run, page=page, topic="0", node="0")
        assert_no_server_paths(at, secrets, (run, page))
        assert "gone" in unescaped(at, "warning")  # the failed build is listed, path-free
        assert not at.error


@pytest.mark.parametrize("page", ["overview", "trends", "run-info"])
def test_an_undated_run_shows_its_input_as_a_file_name(hosted, hosted_root, page):
    _, secrets = hosted_root
    at = hosted(run="trending", page=page)
    sent = assert_no_server_paths(at, secrets, page)
    assert "trending.txt" in sent  # the file name stays: it says which corpus


@pytest.mark.parametrize(
    ("run", "says"),
    [
        ("not-json", "not-json/manifest.json: unreadable manifest"),
        ("old-schema", "old-schema/manifest.json: schema version 0"),
        ("no-documents", "no-documents/documents.parquet: missing"),
        ("broken", "broken/documents.parquet: checksum mismatch"),
    ],
)
def test_broken_runs_name_the_run_and_file_not_the_path(hosted, hosted_root, run, says):
    _, secrets = hosted_root
    at = hosted(run=run, page="overview")
    assert_no_server_paths(at, secrets, run)
    assert says in unescaped(at, "error")
    assert "topictrends build" in unescaped(at, "error")


def test_a_missing_static_model_is_reported_without_its_path(hosted, hosted_root):
    _, secrets = hosted_root
    at = hosted(run="static", page="documents", sem="speech recognition")
    assert_no_server_paths(at, secrets, "static")
    assert "the static model is missing from the read-only cache" in unescaped(at, "error")


def test_get_started_names_no_cache_root(empty_root, monkeypatch):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(empty_root))
    monkeypatch.setenv("TOPICTRENDS_READ_ONLY", "1")
    monkeypatch.setenv("TOPICTRENDS_AUTH", "off")  # hosted mode requires sign-in otherwise
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    sent = assert_no_server_paths(at, [str(empty_root), str(empty_root.parent)], "get started")
    assert "No runs yet" in sent


def test_a_bug_in_a_page_shows_one_line_not_a_traceback(hosted, monkeypatch):
    from dashboard import topic_figures

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("/srv/secret/path exploded")

    monkeypatch.setattr(topic_figures, "intertopic_map", boom)
    at = hosted(run="arxiv", page="map", view="intertopic")
    assert not at.exception
    (err,) = at.error
    assert "could not be shown" in err.value and "/srv/secret" not in everything_sent(at)


def test_an_unreadable_cache_root_shows_one_line(hosted, monkeypatch):
    from dashboard import run_data

    def denied(root: Path) -> list:
        raise PermissionError(13, "Permission denied", f"{root}/runs")

    monkeypatch.setattr(run_data, "list_runs", denied)
    at = hosted(run="arxiv")
    assert not at.exception
    (err,) = at.error
    assert "could not be shown" in err.value and "Permission" not in everything_sent(at)
