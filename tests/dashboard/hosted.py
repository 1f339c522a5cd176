"""Run the container's entrypoint (deploy/entrypoint.sh) outside a container, for the tests.

There is no Docker engine on the test machines, so the tests start exactly the script the
image's ENTRYPOINT runs, with the environment the image and docker-compose.yml give it, and
drive the server it starts. Used by test_hosted.py, test_sso.py and test_load.py.
``serve_app`` starts the server without the entrypoint's secrets check (test_sso.py: the app
refuses a broken sign-in configuration by itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dashboard_browser as bt

REPO = bt.REPO
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"


@dataclass
class Server:
    base: str
    proc: subprocess.Popen

    def rss_kib(self) -> int:
        """Resident memory of the server process (the entrypoint execs into it)."""
        return self.memory_kib()["VmRSS"]

    def memory_kib(self) -> dict[str, int]:
        """The server's memory: resident (VmRSS) and its parts, anonymous (RssAnon: the
        heap), file-backed (RssFile: memory-mapped files) and tmpfs (RssShmem), and the
        peak resident (VmHWM), from ``/proc/<pid>/status``."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[name] = int(value.split()[0])
        if "VmRSS" not in out:
            raise RuntimeError("no VmRSS")
        return out


def entrypoint_env(cache: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of the dashboard container, pointed at ``cache`` and ``port``."""
    bindir = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STREAMLIT_", "TOPICTRENDS_"))  # only what the container sets
    }
    env.update(
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        TOPICTRENDS_CACHE=str(cache),
        PORT=str(port),
        HOST="127.0.0.1",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def serve(
    cache: Path,
    log: Path,
    port: int | None = None,
    timeout: float = 90.0,
    cwd: Path | None = None,
    **env: str,
) -> Iterator[Server]:
    """``deploy/entrypoint.sh serve`` on ``port`` (else a free one); yields it once healthy."""
    port = port or bt.free_port()
    with _running([str(ENTRYPOINT), "serve"], entrypoint_env(cache, port, **env), port, log,
                  timeout, cwd, "entrypoint") as srv:  # fmt: skip
        yield srv


@contextlib.contextmanager
def serve_app(
    cache: Path, log: Path, secrets: Path, timeout: float = 90.0, **env: str
) -> Iterator[Server]:
    """The server the entrypoint would exec (production settings, hosted mode, ``secrets``),
    started without the entrypoint's own check of the secrets: what the app does by itself
    with a configuration the entrypoint would have refused, or that broke after it started."""
    port = bt.free_port()
    cmd = [
        str(Path(sys.executable).with_name("topictrends")),
        "serve", "--cache-dir", str(cache), "--host", "127.0.0.1", "--port", str(port),
        "--streamlit-config", str(REPO / "deploy" / "streamlit" / "config.toml"),
        "--secrets", str(secrets),
    ]  # fmt: skip
    full_env = entrypoint_env(cache, port, TOPICTRENDS_READ_ONLY="1", **env)
    with _running(cmd, full_env, port, log, timeout, None, "topictrends serve") as srv:
        yield srv


@contextlib.contextmanager
def _running(
    cmd: list[str],
    env: dict[str, str],
    port: int,
    log: Path,
    timeout: float,
    cwd: Path | None,
    what: str,
) -> Iterator[Server]:
    out = log.open("w")
    proc = subprocess.Popen(
        cmd, cwd=cwd or REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            bt.wait_healthy(proc, base, timeout, what)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {log.read_text()}") from None
        yield Server(base, proc)
    finally:
        bt.stop(proc)
        out.close()


def tree_state(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` with its type, mode, size, mtime and content hash."""
    state: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                digest = os.readlink(p)
            elif p.is_file():
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                digest = ""
            state[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state


def set_writable(root: Path, writable: bool) -> None:
    """chmod -R u+w / a-w (directories keep their x bit)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames, ""]:
            p = Path(dirpath) / name if name else Path(dirpath)
            if p.is_symlink():
                continue
            mode = p.stat().st_mode
            p.chmod(mode | 0o200 if writable else mode & ~0o222)


def require_browser() -> None:
    """Debian's Chromium and Playwright, or the test stops: skipped locally, failed under CI."""
    import importlib.util

    from tests.prereq import require

    require(
        Path(bt.CHROMIUM).exists(),
        f"{bt.CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)",
    )
    require(
        importlib.util.find_spec("playwright") is not None,
        "playwright is not installed: pip install -e '.[test]'",
    )


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium through Playwright (``require_browser`` first)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = bt.launch(p)
        try:
            yield browser
        finally:
            browser.close()
