"""The command line (pipeline.cli)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.update_corpus import (
    LATE,
    PER_LABEL,
    monthly_corpus,
    write_csv,
)


def test_update_from_the_command_line(
    base_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    shutil.copytree(base_run[0], tmp_path / "cache", symlinks=True)
    corpus = monthly_corpus()
    batch = write_csv(corpus[corpus["label"] == LATE], tmp_path / "late.csv")
    main(["update", "base", str(batch), "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(tmp_path / "cache" / "runs" / "base")
    assert any(line.startswith(f"update step 1: {PER_LABEL} new documents, 6/6") for line in out)
    main(["update", "base", str(batch), "--cache-dir", str(tmp_path / "cache")])
    assert "up to date" in capsys.readouterr().err
