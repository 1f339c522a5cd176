"""Who may curate from the dashboard; the server's write path checks it on every call."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from dashboard import access, editing
from dashboard.run_data import RunData
from pipeline.curation.edit import ENV_DIR
from pipeline.curation.log import CurationError, read_log

EDITOR = "ed@team.example"
VIEWER = "viv@team.example"


def sso(editors: object = ("ed@team.example", "editors.example")) -> dict:
    return {
        "auth": {
            "redirect_uri": "https://dash.team.example/oauth2callback",
            "cookie_secret": secrets.token_urlsafe(32),
            "client_id": "x",
            "client_secret": "y",
            "server_metadata_url": "https://idp.team.example/.well-known/openid-configuration",
        },
        "topictrends": {
            "allowed_domains": ["team.example", "editors.example"],
            "editors": list(editors),
        },
    }


def user(email: str) -> dict:
    return {"is_logged_in": True, "email": email, "email_verified": True}


def test_editors_by_address_and_domain_viewers_see_only() -> None:
    hosted = {"TOPICTRENDS_READ_ONLY": "1"}
    assert editing.editor(sso(), user(EDITOR), hosted).who == EDITOR
    assert editing.editor(sso(), user("any@editors.example"), hosted).who == "any@editors.example"
    refused = editing.editor(sso(), user(VIEWER), hosted)
    assert refused.who is None and "editors" in refused.why
    assert editing.editor(sso(), {"is_logged_in": False}, hosted).who is None
    assert editing.editor(sso(), user("x@outside.example"), hosted).who is None
    off = {**hosted, "TOPICTRENDS_AUTH": "off"}
    assert editing.editor({}, {}, off).who is None  # nobody is known: nobody edits
    assert editing.editor({}, {}, {}).who  # local: the OS user


@pytest.mark.parametrize("bad", [["not an address"], ["*.team.example"], "ed@", [3]])
def test_a_bad_editors_entry_refuses_editing(bad: object) -> None:
    with pytest.raises(access.ConfigError, match="editors"):
        access.check(sso(bad if isinstance(bad, list) else [bad]), {})
    assert (
        editing.editor(sso(bad if isinstance(bad, list) else [bad]), user(EDITOR), {}).who is None
    )


def test_the_write_path_refuses_a_viewer(dashboard_runs, tmp_path: Path) -> None:
    """Not the hidden buttons: the server's own write call, with a viewer's identity."""
    env = {"TOPICTRENDS_READ_ONLY": "1", ENV_DIR: str(tmp_path)}
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.dated)
    with pytest.raises(CurationError, match="only the dashboard's editors"):
        editing.submit(dashboard_runs.root, sso(), user(VIEWER), run, "hide", 1, env=env)
    assert read_log(tmp_path, run.name) == []
    entry = editing.submit(dashboard_runs.root, sso(), user(EDITOR), run, "hide", 1, env=env)
    assert entry.who == EDITOR and [e.id for e in read_log(tmp_path, run.name)] == [entry.id]
    no_mount = {"TOPICTRENDS_READ_ONLY": "1"}
    with pytest.raises(CurationError, match="editing is off"):
        editing.submit(dashboard_runs.root, sso(), user(EDITOR), run, "hide", 2, env=no_mount)
