"""export_route: a CSV download checks access again when it is fetched, and the route and the
page's link live under ``server.baseUrlPath``.

The route runs under Starlette's test client, not a Streamlit server; the login cookie is
signed by Streamlit's own cookie code, so a Streamlit that changes its cookie fails here.
The secrets are read from a file by ``access.read_secrets`` (the entrypoint's reader) in
place of ``st.secrets``; everything after that is the pages' own check (``gate``).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard import access, export, export_route, gate
from dashboard.doc_query import DocQuery

REPO = Path(__file__).resolve().parents[2]
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s" * 48,
    "client_id": "topictrends",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://localhost:9/.well-known/openid-configuration",
}


def _toml(emails: list[str]) -> str:
    auth = "\n".join(f"{k} = {json.dumps(v)}" for k, v in AUTH.items())
    return f"[auth]\n{auth}\n\n[topictrends]\nallowed_emails = {json.dumps(emails)}\n"


@pytest.fixture
def query(tmp_path: Path) -> DocQuery:
    docs = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c"],
            "title": ["A", "B", "C"],
            "text": ["x"] * 3,
            "date": pd.to_datetime(["2020-01-01"] * 3),
            "date_precision": ["day"] * 3,
            "url": [""] * 3,
            "topic": [0, 0, -1],
            "topic_prob": [0.5] * 3,
        }
    )
    docs.to_parquet(tmp_path / "documents.parquet")
    return DocQuery(tmp_path / "documents.parquet", "arxiv", {-1: "Outliers", 0: "zero"})


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The secrets file the route's check reads (as ``st.secrets`` would, re-read each time)."""
    path = tmp_path / "secrets.toml"
    monkeypatch.setattr(gate, "secrets", lambda: access.read_secrets(path))
    monkeypatch.setattr(gate, "_reported", set())
    for k in ("TOPICTRENDS_READ_ONLY", "TOPICTRENDS_AUTH", "TOPICTRENDS_ALLOWED_EMAILS"):
        monkeypatch.delenv(k, raising=False)
    return path


def _cookie(email: str) -> dict[str, str]:
    """Streamlit's login cookie for ``email``, as its /oauth2callback sets it."""
    from streamlit.web.server.server_util import get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value
    from streamlit.web.server.starlette.starlette_server_config import USER_COOKIE_NAME

    value = json.dumps({"email": email, "email_verified": True, "is_logged_in": True})
    signed = create_signed_value(get_cookie_secret(), USER_COOKIE_NAME, value)
    return {USER_COOKIE_NAME: signed.decode("latin-1")}


def _client(base: str = "", email: str | None = None) -> TestClient:
    """A browser for the route alone: signed in as ``email`` (None: signed out)."""
    client = TestClient(Starlette(routes=[export_route.route(base)]))
    for name, value in (_cookie(email) if email else {}).items():
        client.cookies.set(name, value)
    return client


def test_a_download_checks_the_allow_list_again(query, secrets_file, capfd):
    secrets_file.write_text(_toml(["ann@x.org", "bob@x.org"]))
    token = export.issue(query, None, "arxiv.csv", user="ann@x.org")
    ann, url = _client(email="ann@x.org"), export.path("", token)
    got = ann.get(url)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert pd.read_csv(io.StringIO(got.text))["doc_id"].tolist() == ["a", "b", "c"]
    secrets_file.write_text(_toml(["bob@x.org"]))  # ann removed after the ticket was issued
    refused = ann.get(url)
    assert refused.status_code == 403 and refused.text == export_route.REFUSED
    assert _client().get(url).status_code == 403  # signed out
    assert _client(email="bob@x.org").get(url).status_code == 404  # not bob's ticket
    secrets_file.write_text(_toml(["ann@x.org"]) + "allowed_domains = [\n")  # broken file
    broken = ann.get(url)
    assert broken.status_code == 403 and broken.text == export_route.REFUSED  # no detail
    assert "sign-in configuration broken" in capfd.readouterr().err  # the detail: the log
    secrets_file.write_text(_toml(["ann@x.org"]))  # ann back: the same ticket works again
    assert ann.get(url).status_code == 200


def test_without_sign_in_a_ticket_is_enough(query, secrets_file):
    token = export.issue(query, [1], "arxiv.csv")
    assert _client().get(export.path(None, token)).status_code == 200  # no secrets file
    secrets_file.write_text(_toml(["ann@x.org"]))  # sign-in switched on: a cookie is needed
    assert _client().get(export.path(None, token)).status_code == 403


def test_the_route_and_its_links_live_under_the_base_url_path(query, secrets_file):
    assert export.path("", "t") == "/export/t" and export.path("/team/dash/", "t") == (
        "/team/dash/export/t"
    )
    token = export.issue(query, None, "arxiv.csv")
    client = _client("team/dash")
    assert client.get(f"/team/dash/export/{token}").status_code == 200
    assert client.get(f"/export/{token}").status_code == 404  # no route there


def test_the_server_mounts_the_route_under_the_configured_base_path():
    """``dashboard/server.py`` as Streamlit imports it (config already loaded): in a child
    process, since importing it turns the export links on for this process."""
    script = (
        "from streamlit import config\n"
        "config.set_option('server.baseUrlPath', 'team/dash')\n"
        "from starlette.testclient import TestClient\n"
        "from dashboard import server\n"
        "client = TestClient(server.app)\n"
        "print(client.get('/team/dash/export/nope').text.strip())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("TOPICTRENDS_", "STREAMLIT_"))
            },
            "PYTHONPATH": str(REPO),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == export_route.GONE.strip(), out.stderr[-2000:]


def test_the_page_links_the_download_under_the_base_url_path(dashboard_runs, monkeypatch):
    """The Documents page as ``topictrends serve`` runs it (export route on), with
    ``server.baseUrlPath`` set: its download link carries the base path."""
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))
    monkeypatch.setattr(export, "served", True)
    before = config.get_option("server.baseUrlPath")
    config.set_option("server.baseUrlPath", "team/dash")
    try:
        at = AppTest.from_file(str(REPO / "dashboard" / "streamlit_app.py"), default_timeout=60)
        at.query_params["run"] = dashboard_runs.dated
        at.query_params["page"] = "documents"
        at.run()
    finally:
        config.set_option("server.baseUrlPath", before)
    assert not at.exception
    links = [e.proto.url for e in at.get("link_button") if "CSV" in e.proto.label]
    assert len(links) == 1 and re.fullmatch(r"/team/dash/export/[\w-]{16,}", links[0]), links
