"""Nothing leaves the host (issue 18): a dashboard behind a company firewall, or offline,
must not ask any other server for anything (a font, an icon, a script, a usage ping).

Chromium runs with every request of the browser context routed through ``Outside``: a
request to the dashboard server's own origin (scheme, host and port) goes through; any
other is recorded and aborted, so the test never depends on the network and cannot leak.
WebSockets (which routing does not see) and the resource URLs left in each page's DOM
(``<link>``, ``<img>``, ``<script>``...: a favicon set after the page went idle) are
checked the same way. The walk covers every page of an undated and a dated run, served by
``topictrends serve``, and the hosted entrypoint with single sign-on, where the identity
provider is the one other origin allowed. The pages the provider itself serves are its own
business (the mock provider styles its login form from a CDN), so requests those pages
make are not counted; everything the dashboard's pages ask for is.

Requests that come late, after the page went idle, are caught too: after the last page the
test waits until the browser has made no request at all for ``QUIET_S`` seconds, and
``test_a_request_made_after_idle_is_caught`` checks that it does.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

import dashboard_browser as bt
import hosted
import pytest
from test_sso import ALLOWED, config, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

QUIET_S = 3.0  # no request for this long after the last page: the walk is over
# Every element that makes the browser load what it points at; <a href> only links.
RESOURCE_URLS_JS = """() => {
  const urls = [];
  for (const el of document.querySelectorAll(
      'link[href], img[src], script[src], iframe[src], frame[src], source[src], video[src],'
      + ' audio[src], track[src], embed[src], object[data], input[src], image[href]')) {
    urls.push(el.src || el.href?.baseVal || el.href || el.data);
  }
  return urls.filter(Boolean);
}"""


def origin(url: str) -> str | None:
    """``scheme://host:port`` of ``url``; None for what never leaves the browser (data:,
    blob:, about:). WebSocket schemes count as their HTTP ones."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme in ("data", "blob", "about", "javascript"):
        return None
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{parts.hostname}:{port}"


class Outside:
    """Records (and aborts) every request of a browser context to an origin not allowed."""

    def __init__(self, server: str, provider: str | None = None) -> None:
        self.own = {origin(server)}
        self.provider = origin(provider) if provider else None
        self.allowed = self.own | ({self.provider} if self.provider else set())
        self.step = "start"  # what the test is doing, to say where a request came from
        self.found: list[str] = []
        self.last_request = time.monotonic()

    def attach(self, context) -> None:  # noqa: ANN001 - playwright types
        context.route("**/*", self._route)
        context.on("page", lambda page: page.on("websocket", self._websocket))

    def _by_provider(self, request) -> bool:  # noqa: ANN001
        """Made by a page the identity provider serves (its login or logout form)."""
        try:
            frame_url = request.frame.url
        except Exception:  # a service worker's request has no frame
            return False
        return self.provider is not None and origin(frame_url) == self.provider

    def _route(self, route) -> None:  # noqa: ANN001
        self.last_request = time.monotonic()
        url = route.request.url
        if origin(url) in self.allowed | {None}:
            route.continue_()
            return
        if not self._by_provider(route.request):
            self.found.append(f"{self.step}: {route.request.resource_type} {url}")
        route.abort("blockedbyclient")

    def _websocket(self, ws) -> None:  # noqa: ANN001
        self.last_request = time.monotonic()
        if origin(ws.url) not in self.allowed:
            self.found.append(f"{self.step}: websocket {ws.url}")

    def check_dom(self, page) -> None:  # noqa: ANN001
        """Resource URLs in the page that point elsewhere, fetched yet or not."""
        for url in page.evaluate(RESOURCE_URLS_JS):
            if origin(url) not in self.allowed | {None}:
                self.found.append(f"{self.step}: in the page: {url}")

    def visit(self, page, step: str, how) -> None:  # noqa: ANN001
        """``how()`` opens a page (waiting until it is idle); then the page's DOM is checked."""
        self.step = step
        how()
        assert bt.exceptions(page) == [], step
        self.check_dom(page)

    def settle(self, page, limit_s: float = 30.0) -> None:  # noqa: ANN001
        """Wait until the browser has made no request for QUIET_S seconds (at most
        ``limit_s``): a request the page makes after going idle is still recorded."""
        self.step += " (after idle)"
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if time.monotonic() - self.last_request >= QUIET_S:
                break
            page.wait_for_timeout(250)
        self.check_dom(page)


@pytest.fixture(scope="module")
def browser():
    with hosted.chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(dashboard_runs, tmp_path_factory):
    log = tmp_path_factory.mktemp("offline") / "serve.log"
    with bt.serve(dashboard_runs.root, log=log) as base:
        yield base


def walk(browser, outside: Outside):  # noqa: ANN001, ANN201
    """A new page in a context whose requests ``outside`` watches (service workers
    blocked, so none of their requests can bypass the routing)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1200}, service_workers="block")
    outside.attach(context)
    return context, context.new_page()


def walk_run(outside: Outside, page, base: str, run: str) -> None:  # noqa: ANN001
    """Every page of ``run`` through the sidebar, then two deep links loaded afresh."""
    outside.visit(page, f"{run}/overview", lambda: bt.open_page(page, base, "overview", run=run))
    for name in bt.PAGES[1:]:
        outside.visit(page, f"{run}/{name}", lambda name=name: bt.navigate(page, name))
    for name, params in (("topics", {"topic": "0"}), ("documents", {"q": "learning"})):

        def load(name: str = name, params: dict[str, str] = params) -> None:
            bt.open_page(page, base, name, run=run, **params)

        outside.visit(page, f"{run}/{name}?{urlencode(params)}", load)


@pytest.mark.parametrize("run", ["trending", "arxiv"])
def test_no_page_requests_another_host(browser, server, run):
    outside = Outside(server)
    context, page = walk(browser, outside)
    try:
        walk_run(outside, page, server, run)
        outside.settle(page)
        icon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
        assert icon.startswith("data:image/svg+xml"), icon  # the app's own tab icon, inline
    finally:
        context.close()
    assert outside.found == [], "\n".join(dict.fromkeys(outside.found))


def test_a_request_made_after_idle_is_caught(browser, server):
    """The check itself: a request the page makes a while after it went idle is reported."""
    outside = Outside(server)
    context, page = walk(browser, outside)
    try:
        outside.visit(page, "late", lambda: bt.open_page(page, server, "overview", run="arxiv"))
        page.evaluate(
            "ms => setTimeout(() => { new Image().src = 'https://late.example/pixel.png'; }, ms)",
            int(QUIET_S * 1000 / 3),
        )
        outside.settle(page)
    finally:
        context.close()
    assert outside.found == ["late (after idle): image https://late.example/pixel.png"]


def test_signed_in_pages_request_only_the_provider(browser, dashboard_runs, provider, tmp_path):
    """The container's entrypoint with its production settings and single sign-on: the
    sign-in page, the round trip through the provider, every page, signing out."""
    port = bt.free_port()
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(config(provider, port))
    log = tmp_path / "serve.log"
    with hosted.serve(
        dashboard_runs.root, log, TOPICTRENDS_SECRETS=str(secrets_file), port=port
    ) as srv:
        outside = Outside(srv.base, provider)
        context, page = walk(browser, outside)
        try:
            outside.visit(page, "sign in", lambda: sign_in(page, srv.base, ALLOWED))
            walk_run(outside, page, srv.base, "arxiv")
            outside.visit(page, "sign out", lambda: _sign_out(page, srv.base))
            outside.settle(page)
        finally:
            context.close()
    assert outside.found == [], "\n".join(dict.fromkeys(outside.found))


def _sign_out(page, base: str) -> None:  # noqa: ANN001
    import re

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"), timeout=30_000)
    page.get_by_role("button", name="End session").click()
    page.goto(f"{base}/?run=arxiv")
    bt.wait_idle(page)
    assert page.get_by_role("button", name="Sign in").count() == 1
