"""Driving the real dashboard in Debian's Chromium: start ``topictrends serve``, open pages.

Used by test_browser.py and by measure_pages.py (page render times for a large run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the bench/ scripts import this module from outside the repo root
    sys.path.insert(0, str(REPO))
from dashboard import nav  # noqa: E402  (the pages, as the app declares them)

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = tuple(nav.PAGES)
NAV_TITLES = {name: spec.nav_title for name, spec in nav.PAGES.items()}
SCREENSHOTS = REPO / "test-output" / "screenshots"

# The app is idle: the script is not running, no element is still a loading skeleton, and
# every Plotly chart has drawn its SVG.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!document.querySelector('[data-testid="stMain"] h1')) return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"], [data-testid="stAppSkeleton"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (!c.querySelector('.main-svg')) return false;
  }
  return true;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _topictrends() -> list[str]:
    exe = Path(sys.executable).with_name("topictrends")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


def wait_healthy(proc: subprocess.Popen, base: str, timeout: float, what: str) -> None:
    """Poll ``base``'s health endpoint until it answers 200; raise if ``proc`` exits first or
    ``timeout`` seconds pass (``what`` names the server in the message)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become healthy in {timeout:.0f}s")
        time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (started with ``start_new_session``); SIGKILL it
    if it has not gone after ten seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def serve(
    cache_root: Path,
    log: Path | None = None,
    timeout: float = 90.0,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``topictrends serve`` on a free port (``env`` added to its environment); yield
    its base URL once healthy."""
    port = free_port()
    cmd = [
        *_topictrends(),
        "serve",
        "--cache-dir",
        str(cache_root),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    env = {
        **os.environ,
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(env or {}),
    }
    out = log.open("w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, timeout, "topictrends serve" + (f" (log: {log})" if log else ""))
        yield base
    finally:
        stop(proc)
        if log and out is not subprocess.DEVNULL:
            out.close()


def launch(playwright):  # noqa: ANN001, ANN201 - playwright types
    return playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)


def wait_idle(page, timeout_ms: int = 60_000) -> None:  # noqa: ANN001
    page.wait_for_function(IDLE_JS, timeout=timeout_ms, polling=100)


def page_url(base: str, name: str, **params: str) -> str:
    path = "" if name == "overview" else name
    query = urlencode(params)
    return f"{base}/{path}" + (f"?{query}" if query else "")


def open_page(page, base: str, name: str, **params: str) -> float:  # noqa: ANN001
    """Load one dashboard page and wait until it has fully rendered; returns the seconds taken."""
    t0 = time.perf_counter()
    page.goto(page_url(base, name, **params))
    wait_idle(page)
    return time.perf_counter() - t0


def navigate(page, name: str) -> float:  # noqa: ANN001
    """Open a page through the sidebar navigation (same session); returns the seconds taken."""
    import re

    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a').filter(
        has_text=re.compile(f"{re.escape(NAV_TITLES[name])}$")
    ).click()
    page.wait_for_url(re.compile(f"[?&]page={re.escape(name)}(&|$)"), timeout=60_000)
    wait_idle(page)
    return time.perf_counter() - t0


def exceptions(page) -> list[str]:  # noqa: ANN001
    boxes = page.locator('[data-testid="stException"]')
    return [boxes.nth(i).inner_text() for i in range(boxes.count())]
