"""The heartbeat of a build in progress (pipeline.store.heartbeat): who is alive."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store import heartbeat
from pipeline.store.artifacts import build_progress
from pipeline.store.cache import Store
from tests.conftest import REPO
from tests.test_cache import _dead_pid, _iso, _progress


def test_liveness_follows_the_heartbeat(tmp_path: Path) -> None:
    dead, here = _dead_pid(), heartbeat.host_id()
    entries = {
        # the compose layout: the builder's pid means nothing in this container
        "elsewhere": {"pid": dead, "host": "builder-container", "heartbeat_at": _iso(5)},
        "elsewhere-stale": {"pid": dead, "host": "builder-container", "heartbeat_at": _iso(600)},
        "here-killed": {"pid": dead, "host": here, "heartbeat_at": _iso(5)},
        "here-live": {"pid": os.getpid(), "host": here, "heartbeat_at": _iso(5)},
        "legacy-live": {"pid": os.getpid()},
        "legacy-dead": {"pid": dead},
    }
    for run, entry in entries.items():
        _progress(tmp_path, run, state="running", started_at=_iso(900), **entry)
    _progress(tmp_path, "broken", state="failed", error="disk full")
    states = {e["run"]: e["state"] for e in build_progress(tmp_path)}
    assert states == {
        "elsewhere": "running",
        "elsewhere-stale": "interrupted",
        "here-killed": "interrupted",
        "here-live": "running",
        "legacy-live": "running",
        "legacy-dead": "interrupted",
        "broken": "failed",
    }


def test_the_heartbeat_beats_through_one_long_step(
    tmp_path: Path, planted_csv: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.stages.reduce as reduce_module

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    progress = tmp_path / "cache" / ".progress" / "planted.json"
    seen: list[dict] = []
    original = reduce_module.reduce

    def slow_reduce(*a: object, **k: object):  # noqa: ANN202 - stands in for a long UMAP fit
        first = json.loads(progress.read_text())
        for _ in range(1500):  # the step does not return until the file has changed
            entry = json.loads(progress.read_text())
            if entry.get("heartbeat_at") != first.get("heartbeat_at"):
                break
            time.sleep(0.02)
        seen.extend([first, entry])
        return original(*a, **k)

    monkeypatch.setattr(reduce_module, "reduce", slow_reduce)
    build(str(planted_csv), fast_config, Store(tmp_path / "cache"))
    first, later = seen
    assert first["stage"] == later["stage"] == "reduce"
    assert heartbeat.parse_time(later["heartbeat_at"]) > heartbeat.parse_time(first["heartbeat_at"])
    assert later["host"] == heartbeat.host_id()
    assert not progress.exists()
    assert not any(t.name == "topictrends-heartbeat" for t in threading.enumerate())


def test_staleness_rule_is_documented() -> None:
    text = (REPO / "docs" / "artifacts.md").read_text()
    for value in (heartbeat.HEARTBEAT_SECONDS, heartbeat.STALE_SECONDS):
        assert re.search(rf"\b{int(value)} s(econds)?\b", text), value
