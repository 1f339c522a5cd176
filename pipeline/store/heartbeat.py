"""The build progress file and its heartbeat: how a reader tells a running build from a dead one.

A build writes ``<root>/.progress/<run>.json`` (``StatusFileReporter`` in the runner). A
process id alone cannot say whether that build still runs: the dashboard may sit in
another container (the compose layout), where the builder's pid means nothing. So the
file also carries ``host`` (which process namespace wrote it) and ``heartbeat_at``, which a
background thread refreshes every ``HEARTBEAT_SECONDS`` even while one long step (a UMAP
fit) holds the main thread. The rule readers apply (``is_alive``; docs/artifacts.md,
"Builds in progress"):

* a heartbeat older than ``STALE_SECONDS`` means the build is gone;
* a fresh heartbeat from this same host is checked against the pid as well, so a build
  killed here shows as interrupted at once rather than after the staleness window;
* a file without ``heartbeat_at`` (written by an older topictrends) falls back to the pid.

This module imports nothing from the pipeline, so the cache, the artifacts readers and
the runner can all use it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

HEARTBEAT_SECONDS = 10.0  # how often a running build refreshes heartbeat_at
STALE_SECONDS = 120.0  # a heartbeat older than this: the build is gone


def host_id() -> str:
    """Hostname, boot id and pid namespace: equal only where a pid means the same process."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return "/".join(parts)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO timestamp from a progress file, as aware UTC; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True  # exists, owned by another user
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return int(pid) > 0


def is_alive(entry: dict[str, Any], now: dt.datetime | None = None) -> bool:
    """Whether the build that wrote this ``running`` progress entry still runs (rule above)."""
    beat = parse_time(entry.get("heartbeat_at"))
    if beat is None:
        return _pid_alive(entry.get("pid"))
    if ((now or utc_now()) - beat).total_seconds() > STALE_SECONDS:
        return False
    if entry.get("host") == host_id():
        return _pid_alive(entry.get("pid"))
    return True


class ProgressFile:
    """``state`` written atomically as JSON to ``path``, with a heartbeat thread.

    ``write`` stamps ``heartbeat_at`` and replaces the file; ``start_heartbeat`` starts a
    daemon thread that calls it every ``HEARTBEAT_SECONDS``; ``stop`` ends the thread and
    waits for it, so nothing writes the file after the caller removes it. Writing is best
    effort: a build must never fail because its progress display could not be written.
    """

    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.state = state
        state.setdefault("host", host_id())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self) -> None:
        with self._lock:
            self.state["heartbeat_at"] = utc_now().isoformat(timespec="milliseconds")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(json.dumps(self.state))
                os.replace(tmp, self.path)
            except (OSError, TypeError, ValueError):
                pass  # progress display is best effort

    def start_heartbeat(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(HEARTBEAT_SECONDS,), name="topictrends-heartbeat", daemon=True
        )
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.write()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def running_since(entries: list[dict[str, Any]]) -> list[dt.datetime]:
    """Start times of the entries still running (``started_at``; now when unreadable)."""
    return [
        parse_time(e.get("started_at")) or utc_now() for e in entries if e.get("state") == "running"
    ]


def build_progress(cache_root: Path) -> list[dict[str, Any]]:
    """Builds in progress (or failed) under a cache root, from ``.progress/*.json``.

    Each entry: run, state ('running' | 'failed'), stage, done, total, started_at, pid,
    host, heartbeat_at, stages_done, and error when failed. A running entry whose build is
    gone by the heartbeat rule (``pipeline.store.heartbeat.is_alive``: stale heartbeat, or a dead
    pid on this same host) is reported as 'interrupted'.
    """
    out = []
    for path in sorted((cache_root / ".progress").glob("*.json")):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("state") == "running" and not is_alive(entry):
            entry["state"] = "interrupted"
        out.append(entry)
    return out
