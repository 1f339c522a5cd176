"""Progress reporters (pipeline.progress): the dashboard's progress file follows a flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import BuildLockedError, UserError
from pipeline.progress import Reporter, SilentReporter, StatusFileReporter, tracked


def test_the_progress_file_follows_the_stages_and_goes_on_success(tmp_path: Path) -> None:
    path = tmp_path / ".progress" / "r.json"
    seen: list[dict] = []

    def flow(reporter: Reporter) -> str:
        with reporter.stage("embed", total=3) as tick:
            tick(3)
            seen.append(json.loads(path.read_text()))
        return "done"

    assert tracked(tmp_path, "r", None, flow) == "done"
    assert seen[0]["run"] == "r" and seen[0]["stage"] == "embed" and seen[0]["total"] == 3
    assert not path.exists()


def test_a_failed_flow_leaves_the_error_for_the_dashboard(tmp_path: Path) -> None:
    def flow(reporter: Reporter) -> None:
        with reporter.stage("embed"):
            pass
        raise OSError("disk full")

    with pytest.raises(OSError):
        tracked(tmp_path, "r", None, flow)
    entry = json.loads((tmp_path / ".progress" / "r.json").read_text())
    assert entry["state"] == "failed" and entry["error"] == "disk full"
    assert entry["stages_done"] == ["embed"]


def test_bad_input_before_any_stage_and_a_locked_run_leave_no_failed_file(tmp_path: Path) -> None:
    def bad_input(reporter: Reporter) -> None:
        raise UserError("corpus.csv: no rows")

    with pytest.raises(UserError):
        tracked(tmp_path, "r", None, bad_input)
    assert not (tmp_path / ".progress" / "r.json").exists()
    other = tmp_path / ".progress" / "s.json"
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_text('{"state": "running"}')  # the build holding the lock owns it
    status = StatusFileReporter(SilentReporter(), other, "s")
    status.finish(BuildLockedError("locked"))
    assert json.loads(other.read_text()) == {"state": "running"}
