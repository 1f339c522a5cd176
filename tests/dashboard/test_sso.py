"""Single sign-on end to end: the real browser, the real server, a real OIDC provider.

``oidc-provider-mock`` runs an OpenID Connect provider on loopback (its login form takes
any subject, whose ``email`` claim is the subject). The dashboard is started through the
container's entrypoint with a secrets file holding ``[auth]`` (the provider) and an
allow-list of one address and one domain. Three visitors:

- signed out: the sign-in page only, no run name, no navigation, no document;
- allowed (by domain): every page of every run, as without sign-on;
- outside the list: a refusal page naming their address, no data.

A broken sign-in configuration (secrets that do not parse, an empty or incomplete
``[auth]``, a bad allow-list entry, hosted mode without ``[auth]``) serves nothing to
anyone: the app, started without the entrypoint's check (which refuses these before
starting: tests/test_deploy.py), shows "Dashboard unavailable" on every URL and logs one
line; a secrets file broken while the server runs is refused the same way.
"""

from __future__ import annotations

import re
import secrets

import dashboard_browser as bt
import hosted
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ALLOWED = "alice@team.example"  # allowed through allowed_domains
LISTED = "bob@partner.example"  # allowed by address
OUTSIDER = "mallory@outside.example"


def config(provider: str, port: int | str) -> str:
    """A valid secrets file: [auth] for the provider, an allow-list of one address and one
    domain."""
    return f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_urlsafe(32)}"
client_id = "topictrends-test"
client_secret = "{secrets.token_urlsafe(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[topictrends]
allowed_emails = ["{LISTED}"]
allowed_domains = ["team.example"]
contact = "data-team@team.example"
"""


@pytest.fixture(scope="module")
def server(dashboard_runs, provider, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sso")
    port = bt.free_port()
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text(config(provider, port))
    with hosted.serve(
        dashboard_runs.root, tmp / "serve.log", TOPICTRENDS_SECRETS=str(secrets_file), port=port
    ) as srv:
        yield srv.base


@pytest.fixture(scope="module")
def browser():
    with hosted.chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = ctx.new_page()
    yield page
    ctx.close()


def shown(text: str) -> str:
    """Text as read, without the zero-width spaces md_escape puts in e-mail addresses
    (so Markdown does not turn them into mailto: links)."""
    return text.replace("\u200b", "")


def body(page) -> str:
    return shown(page.locator("body").inner_text())


def assert_no_data(page, dashboard_runs) -> None:
    text = body(page)
    for name in (dashboard_runs.dated, dashboard_runs.undated, dashboard_runs.evil):
        assert not re.search(rf"\b{name}\b", text), f"run name {name!r} shown: {text[:500]}"
    assert str(dashboard_runs.root) not in text
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.locator('[data-testid="stPlotlyChart"], [data-testid="stDataFrame"]').count() == 0


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/?run=arxiv")
    bt.wait_idle(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"), timeout=30_000)
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/"), timeout=30_000)
    bt.wait_idle(page)


def test_signed_out_sees_no_data(server, page, dashboard_runs):
    for path in ("", "topics?run=arxiv&topic=1", "documents?run=arxiv&q=the", "run-info"):
        page.goto(f"{server}/{path}")
        bt.wait_idle(page)
        assert page.get_by_role("button", name="Sign in").count() == 1
        assert_no_data(page, dashboard_runs)
        assert bt.exceptions(page) == []


@pytest.mark.parametrize("email", [ALLOWED, LISTED])
def test_allowed_user_sees_everything(server, page, email):
    sign_in(page, server, email)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "arxiv"
    assert email in shown(page.locator('[data-testid="stSidebar"]').inner_text())
    if email == LISTED:
        return  # admitted by address; every page is walked once, for the domain user
    for name in bt.PAGES[1:]:
        bt.navigate(page, name)
        assert bt.exceptions(page) == [], name
        assert "run=arxiv" in page.url
    page.goto(f"{server}/topics?run=trending")  # a new page load keeps the login
    bt.wait_idle(page)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 1
    assert bt.exceptions(page) == []


def test_user_outside_the_list_is_refused(server, page, dashboard_runs):
    sign_in(page, server, OUTSIDER)
    assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "Access refused"
    text = body(page)
    assert OUTSIDER in text and "data-team@team.example" in text
    assert_no_data(page, dashboard_runs)
    for path in ("topics?run=arxiv", "documents?run=arxiv"):  # no page lets them past
        page.goto(f"{server}/{path}")
        bt.wait_idle(page)
        assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "Access refused"
        assert_no_data(page, dashboard_runs)
    # Signing out clears the app's cookie, then hands over to the provider's logout page.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"), timeout=30_000)
    page.get_by_role("button", name="End session").click()
    page.goto(f"{server}/?run=arxiv")
    bt.wait_idle(page)
    assert page.get_by_role("button", name="Sign in").count() == 1
    assert_no_data(page, dashboard_runs)


# --- A broken sign-in configuration serves nothing (issue 14) -----------------------------

LOG_LINE = "topictrends: sign-in configuration broken, serving nothing: "
BROKEN = {  # id: (the valid file -> a broken one, what the log line says)
    "malformed-toml": (lambda t: t.replace("[auth]", "[auth", 1), "line 2, column 6"),
    "empty-auth": (lambda t: "[auth]\n" + t[t.index("[topictrends]") :], "[auth] is empty"),
    "no-client-secret": (
        lambda t: re.sub(r"(?m)^client_secret = .*$", "", t),
        "missing client_secret",
    ),
    "bad-allow-list-entry": (
        lambda t: t.replace('["team.example"]', '["team.example", "*.example"]'),
        "'*.example' is not an e-mail domain",
    ),
    "hosted-without-auth": (lambda t: t[t.index("[topictrends]") :], "no [auth] section"),
}


def assert_unavailable(page, dashboard_runs, secrets_file, says: str) -> None:
    assert page.locator('[data-testid="stMain"] h1').first.inner_text() == "Dashboard unavailable"
    assert "sign-in configuration is broken" in body(page)
    assert page.get_by_role("button", name="Sign in").count() == 0
    assert_no_data(page, dashboard_runs)
    text = body(page)
    assert str(secrets_file) not in text and says not in text  # the detail is for the log
    assert bt.exceptions(page) == []


@pytest.mark.parametrize(("breaks", "says"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_configuration_serves_nothing(
    provider, page, dashboard_runs, tmp_path, breaks, says
):
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(breaks(config(provider, "{port}")))  # Streamlit fills in {port}
    log = tmp_path / "serve.log"
    with hosted.serve_app(dashboard_runs.root, log, secrets_file) as srv:
        for path in ("?run=arxiv", "topics?run=arxiv&topic=1", "documents?run=arxiv&q=the"):
            page.goto(f"{srv.base}/{path}")
            bt.wait_idle(page)
            assert_unavailable(page, dashboard_runs, secrets_file, says)
    text = log.read_text()
    ours = [ln for ln in text.splitlines() if ln.startswith(LOG_LINE)]
    assert len(ours) == 1 and says in ours[0], text[-2000:]
    assert "Traceback" not in text, text[-3000:]


def test_secrets_broken_while_serving_are_refused(provider, page, dashboard_runs, tmp_path):
    """Started through the entrypoint with valid secrets; the file then stops parsing (a
    bad edit of a mounted secret): the next page load refuses, it does not open the
    dashboard; fixing the file brings the sign-in back."""
    port = bt.free_port()
    good = config(provider, port)
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(good)

    def reload_until(condition) -> None:  # Streamlit polls the secrets file (0.2 s)
        for _ in range(60):
            page.goto(f"{srv.base}/?run=arxiv")
            bt.wait_idle(page)
            if condition():
                return
            page.wait_for_timeout(500)
        raise AssertionError(body(page)[:500])

    log = tmp_path / "serve.log"
    with hosted.serve(
        dashboard_runs.root, log, TOPICTRENDS_SECRETS=str(secrets_file), port=port
    ) as srv:
        reload_until(lambda: page.get_by_role("button", name="Sign in").count() == 1)
        secrets_file.write_text(BROKEN["malformed-toml"][0](good))
        unavailable = page.locator('[data-testid="stMain"] h1').first
        reload_until(lambda: unavailable.inner_text() == "Dashboard unavailable")
        assert_unavailable(page, dashboard_runs, secrets_file, "line 2")
        secrets_file.write_text(good)
        reload_until(lambda: page.get_by_role("button", name="Sign in").count() == 1)
        assert_no_data(page, dashboard_runs)
    ours = [ln for ln in log.read_text().splitlines() if ln.startswith(LOG_LINE)]
    assert len(ours) == 1 and "line 2, column 6" in ours[0]
