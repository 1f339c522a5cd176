"""The allow-list, hosted mode and the sign-in gate, without a browser (test_sso.py has one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.access import Policy, decide, inside, read_only
from pipeline.config import EmbedConfig
from pipeline.errors import CacheError
from pipeline.stages.embed import StaticEmbedder, get_embedder, static_model_dir

APP = Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py"


def test_policy_merges_secrets_and_environment():
    secrets = {"topictrends": {"allowed_emails": ["Alice@Example.com"], "contact": "ops@x.io"}}
    env = {
        "TOPICTRENDS_ALLOWED_EMAILS": "bob@example.com, carol@example.com",
        "TOPICTRENDS_ALLOWED_DOMAINS": "@Team.Example.com",
    }
    p = Policy.load(secrets, env)
    assert p.emails == {"alice@example.com", "bob@example.com", "carol@example.com"}
    assert p.domains == {"team.example.com"}
    assert p.contact == "ops@x.io"
    assert Policy.load(None, {}).empty


@pytest.mark.parametrize(
    ("email", "verified", "allowed"),
    [
        ("alice@example.com", None, True),
        ("ALICE@example.com ", True, True),  # addresses compare case-insensitively
        ("dave@team.example.com", None, True),  # by domain
        ("dave@evil-team.example.com", None, False),  # not a suffix match
        ("dave@x.team.example.com", None, False),  # nor a subdomain
        ("team.example.com@evil.com", None, False),  # the domain is after the last @
        ("mallory@evil.com", None, False),
        ("alice@example.com", False, False),  # the provider says unverified
        ("alice@example.com", "false", False),
        (None, None, False),
        ("", None, False),
        ("not-an-address", None, False),
    ],
)
def test_decide(email, verified, allowed):
    p = Policy(emails=frozenset({"alice@example.com"}), domains=frozenset({"team.example.com"}))
    assert decide(p, email, verified).allowed is allowed


def test_an_empty_allow_list_admits_nobody():
    d = decide(Policy(), "alice@example.com", True)
    assert not d.allowed and "empty" in d.reason


def test_read_only_flag():
    assert read_only({"TOPICTRENDS_READ_ONLY": "1"}) and read_only(
        {"TOPICTRENDS_READ_ONLY": "true"}
    )
    assert not read_only({}) and not read_only({"TOPICTRENDS_READ_ONLY": "0"})


def test_inside_the_root(tmp_path):
    root = tmp_path / "cache"
    (root / "runs").mkdir(parents=True)
    (root / ".store" / "b").mkdir(parents=True)
    (root / "runs" / "ok").symlink_to("../.store/b")
    (tmp_path / "elsewhere").mkdir()
    (root / "runs" / "out").symlink_to(tmp_path / "elsewhere")
    (root / "runs" / "dangling").symlink_to(tmp_path / "gone")
    assert inside(root, root / "runs" / "ok")
    assert not inside(root, root / "runs" / "out")
    assert not inside(root, root / "runs" / "dangling")


def test_read_only_static_embedder_never_distils_or_deletes(tmp_path):
    cfg = EmbedConfig(backend="static")
    emb = get_embedder(cfg, tmp_path, read_only=True)
    assert isinstance(emb, StaticEmbedder)
    with pytest.raises(CacheError, match="missing from the read-only cache"):
        emb.encode(["a query"])
    assert list(tmp_path.iterdir()) == []  # nothing created
    damaged = static_model_dir(cfg, tmp_path)
    damaged.mkdir(parents=True)
    (damaged / "model.safetensors").write_bytes(b"not a model")
    with pytest.raises(CacheError, match="damaged"):
        StaticEmbedder(cfg, tmp_path, read_only=True).encode(["a query"])
    assert (damaged / "model.safetensors").read_bytes() == b"not a model"  # left as it was


def test_without_auth_secrets_the_gate_is_open(dashboard_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["run"] = "arxiv"
    at.run()
    assert not at.exception and at.title[0].value == "arxiv"


def test_with_auth_secrets_a_signed_out_visitor_sees_only_the_sign_in(dashboard_runs, monkeypatch):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
    }
    at.query_params["run"] = "arxiv"
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["topictrends"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.selectbox and not at.dataframe and not at.text
