"""Errors the user can fix (pipeline.errors): one line and exit status 2."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from pipeline.errors import BuildLockedError, CacheError, UserError


def test_every_user_error_exits_2() -> None:
    for cls in (UserError, CacheError, BuildLockedError):
        assert issubclass(cls, UserError) and cls("x").exit_code == 2


def test_the_cli_prints_a_user_error_as_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["build", "/nonexistent/corpus.csv", "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert err.startswith("error: ") and "/nonexistent/corpus.csv" in err
    assert "Traceback" not in err
