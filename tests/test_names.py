"""Run names (pipeline.store.names): one directory under the cache root each."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import UserError


@pytest.mark.parametrize(
    ("stem", "name"),
    [("my corpus (2024)", "my-corpus-2024"), ("..hidden", "hidden"), ("-x-", "x"), ("é", "corpus"),
     ("a" * 300, "a" * 100)],
)  # fmt: skip
def test_default_run_names_follow_the_rule(tmp_path: Path, stem: str, name: str) -> None:
    from pipeline.store.names import check_run_name, default_run_name

    assert default_run_name(tmp_path / f"{stem}.csv") == name
    assert check_run_name(name) == name


@pytest.mark.parametrize(
    "bad", ["", ".", "..", "../x", "a/b", ".hidden", "-flag", "a b", "a\nb", "x" * 101, "é"]
)
def test_bad_run_names_are_refused_naming_the_rule(bad: str) -> None:
    from pipeline.store.names import check_run_name

    with pytest.raises(UserError, match=r"--name .*: a run name is 1-100 letters, digits"):
        check_run_name(bad)
