"""The allow-list, hosted mode and the sign-in gate, without a browser (test_sso.py has one)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import access, gate
from dashboard.access import ConfigError, Policy, check, decide, inside, read_only
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
    for key, value in copy.deepcopy(GOOD).items():
        at.secrets[key] = value
    at.query_params["run"] = "arxiv"
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["topictrends"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.selectbox and not at.dataframe and not at.text


# --- The sign-in configuration fails closed (issue 14) ------------------------------------

GOOD = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": "http://localhost:1/.well-known/openid-configuration",
    },
    "topictrends": {"allowed_domains": ["team.example.com"]},
}


def broken(**changes: object) -> dict:
    """GOOD with ``section__key=value`` changes (None deletes the key, or the section)."""
    conf = copy.deepcopy(GOOD)
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if not key:
            conf.pop(section) if value is None else conf.__setitem__(section, value)
        elif value is None:
            conf[section].pop(key)
        else:
            conf[section][key] = value
    return conf


BROKEN = {  # id: (secrets, env, what the one line must say)
    "empty-auth": (broken(auth={}), {}, "[auth] is empty"),
    "no-client-secret": (broken(auth__client_secret=None), {}, "missing client_secret"),
    "blank-client-id": (broken(auth__client_id=" "), {}, "client_id must be a non-empty"),
    "placeholder-secret": (broken(auth__client_secret="CHANGE-ME"), {}, "still the example"),
    "short-cookie-secret": (broken(auth__cookie_secret="short"), {}, "has 5 characters"),
    "http-redirect": (
        broken(auth__redirect_uri="http://dash.example.com/oauth2callback"),
        {},
        "plain http",
    ),
    "redirect-not-callback": (
        broken(auth__redirect_uri="https://dash.example.com/"),
        {},
        "ending in /oauth2callback",
    ),
    "metadata-not-a-url": (broken(auth__server_metadata_url="login.example.com"), {}, "URL"),
    "named-provider-only": (
        {
            "auth": {**{k: GOOD["auth"][k] for k in access.AUTH_KEYS}, "google": {}},
            **broken(auth=None),
        },
        {},
        "missing client_id, client_secret, server_metadata_url",
    ),
    "auth-not-a-table": (broken(auth="on"), {}, "auth must be a table"),
    "bad-email": (
        broken(topictrends={"allowed_emails": ["alice"]}),
        {},
        "'alice' is not an e-mail address",
    ),
    "domain-in-emails": (
        broken(topictrends={"allowed_emails": ["team.example.com"]}),
        {},
        "a whole domain goes in allowed_domains",
    ),
    "wildcard-domain": (broken(topictrends__allowed_domains=["*.example.com"]), {}, "no wildcards"),
    "address-in-domains": (
        broken(topictrends__allowed_domains=["bob@example.com"]),
        {},
        "a single address goes in allowed_emails",
    ),
    "two-in-one-entry": (
        broken(topictrends__allowed_domains=["a.example; b.example"]),
        {},
        "is not an e-mail domain",
    ),
    "number-entry": (broken(topictrends__allowed_emails=[7]), {}, "7 is not a string"),
    "table-not-list": (broken(topictrends__allowed_domains={"a": 1}), {}, "must be a list"),
    "misspelt-key": (
        broken(topictrends={"allowed_domain": ["team.example.com"]}),
        {},
        "no setting 'allowed_domain'",
    ),
    "bad-env-entry": (GOOD, {"TOPICTRENDS_ALLOWED_DOMAINS": "team.example.com, *"}, "'*' is not"),
    "empty-allow-list": (broken(topictrends=None), {}, "allow-list is empty"),
    "auth-off-typo": (GOOD, {"TOPICTRENDS_AUTH": "of"}, "TOPICTRENDS_AUTH='of'"),
    "hosted-without-auth": (broken(auth=None), {"TOPICTRENDS_READ_ONLY": "1"}, "no [auth] section"),
    "allow-list-without-auth": (broken(auth=None), {}, "no [auth] section"),
    "off-does-not-override-auth": (broken(auth={}), {"TOPICTRENDS_AUTH": "off"}, "[auth] is empty"),
}


@pytest.mark.parametrize(("secrets", "env", "says"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_configuration_is_refused_with_one_line(secrets, env, says):
    with pytest.raises(ConfigError) as err:
        check(secrets, env)
    assert says in str(err.value) and "\n" not in str(err.value)
    for value in ("x" * 32, "s"):  # never a secret's value in the message
        assert f"'{value}'" not in str(err.value)


def test_valid_configurations():
    on = check(GOOD, {})
    assert on.sign_in and on.policy.domains == {"team.example.com"}
    assert check(GOOD, {"TOPICTRENDS_READ_ONLY": "1", "TOPICTRENDS_AUTH": "off"}).sign_in
    default_table = {
        "auth": {
            **{k: GOOD["auth"][k] for k in access.AUTH_KEYS},
            "default": {k: GOOD["auth"][k] for k in access.PROVIDER_KEYS},
        },
        "topictrends": GOOD["topictrends"],
    }
    assert check(default_table, {}).sign_in  # Streamlit's [auth.default] form
    port = broken(auth__redirect_uri="http://localhost:{port}/oauth2callback")
    assert check(port, {}).sign_in  # Streamlit fills in {port}
    env_only = broken(topictrends=None)
    assert check(env_only, {"TOPICTRENDS_ALLOWED_EMAILS": "a@x.example"}).sign_in
    assert not check(None, {}).sign_in  # local `topictrends serve`: nothing asks for sign-in
    assert not check(None, {"TOPICTRENDS_READ_ONLY": "1", "TOPICTRENDS_AUTH": "off"}).sign_in


def test_check_command(tmp_path, capsys, monkeypatch):
    """``python -m dashboard.access check FILE``, as deploy/entrypoint.sh runs it."""
    for k in ("TOPICTRENDS_READ_ONLY", "TOPICTRENDS_AUTH", "TOPICTRENDS_ALLOWED_EMAILS",
              "TOPICTRENDS_ALLOWED_DOMAINS"):  # fmt: skip
        monkeypatch.delenv(k, raising=False)
    bad = tmp_path / "secrets.toml"
    bad.write_text('[auth]\nredirect_uri = "https://x.example/oauth2callback"\nclient_id = \n')
    assert access.main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}: not valid TOML" in err and "line 3, column 13" in err
    bad.write_bytes(b'[auth]\nclient_id = "\xff"\n')
    assert access.main(["check", str(bad)]) == 2 and "not UTF-8" in capsys.readouterr().err
    assert (
        access.main(["check", str(tmp_path)]) == 2 and "cannot be read" in capsys.readouterr().err
    )
    assert access.main(["check"]) == 2 and "usage" in capsys.readouterr().err
    assert access.main(["check", str(tmp_path / "absent.toml")]) == 0
    assert "sign-on off" in capsys.readouterr().err
    monkeypatch.setenv("TOPICTRENDS_READ_ONLY", "1")
    assert access.main(["check", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml (no such file): no [auth] section" in capsys.readouterr().err


# The app itself, not only the entrypoint: whatever starts the server, a broken
# configuration shows the "unavailable" page and nothing else, and logs one line.

APP_CASES = {
    k: BROKEN[k]
    for k in (
        "empty-auth",
        "no-client-secret",
        "bad-email",
        "hosted-without-auth",
        "empty-allow-list",
    )
}


@pytest.fixture
def app(dashboard_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(dashboard_runs.root))
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.setattr(gate, "_reported", set(), raising=False)
    for k in ("TOPICTRENDS_READ_ONLY", "TOPICTRENDS_AUTH", "TOPICTRENDS_ALLOWED_EMAILS",
              "TOPICTRENDS_ALLOWED_DOMAINS"):  # fmt: skip
        monkeypatch.delenv(k, raising=False)

    def make(secrets: dict, env: dict[str, str]) -> AppTest:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        at = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in copy.deepcopy(secrets).items():
            at.secrets[key] = value
        at.query_params["run"] = "arxiv"
        return at

    return make


def assert_unavailable(at: AppTest, dashboard_runs) -> None:
    assert not at.exception
    assert [t.value for t in at.title] == ["Dashboard unavailable"]
    assert not at.button and not at.sidebar.selectbox and not at.dataframe
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.error))
    assert "broken" in shown
    for secret_or_path in (
        dashboard_runs.dated,
        str(dashboard_runs.root),
        "client_secret",
        "secrets.toml",
    ):
        assert secret_or_path not in shown


@pytest.mark.parametrize(("secrets", "env", "says"), APP_CASES.values(), ids=APP_CASES.keys())
def test_the_app_refuses_a_broken_configuration(app, dashboard_runs, capfd, secrets, env, says):
    at = app(secrets, env)
    at.run()
    assert_unavailable(at, dashboard_runs)
    at.run()  # a second page load: the same page, no second log line
    assert_unavailable(at, dashboard_runs)
    lines = [ln for ln in capfd.readouterr().err.splitlines() if "sign-in configuration" in ln]
    assert len(lines) == 1 and says in lines[0], lines


def test_hosted_with_auth_off_is_open(app, dashboard_runs):
    at = app({}, {"TOPICTRENDS_READ_ONLY": "1", "TOPICTRENDS_AUTH": "off"})
    at.run()
    assert not at.exception and at.title[0].value == "arxiv"
