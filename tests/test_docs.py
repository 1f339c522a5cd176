"""Docs stay true: every setting and every artifact column is documented, README commands first."""

from __future__ import annotations

import re

from pipeline.config import Config
from pipeline.store.contract import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from tests.conftest import REPO


def test_every_artifact_column_is_documented() -> None:
    text = (REPO / "docs" / "artifacts.md").read_text()
    documented = {
        f: REQUIRED_COLUMNS.get(f, ()) + OPTIONAL_COLUMNS.get(f, ()) for f in REQUIRED_COLUMNS
    }
    for fname, cols in documented.items():
        assert f"`{fname}`" in text, fname
        body = text.split(f"`{fname}`", 1)[1]
        for col in cols:
            assert re.search(rf"^\|[^\n]*`{col}`", body, re.M), (
                f"{fname}: {col} is not in docs/artifacts.md"
            )


def test_readme_starts_with_the_two_commands() -> None:
    lines = [ln for ln in (REPO / "README.md").read_text().splitlines() if ln.strip()]
    code = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert code[0].startswith("make demo") and code[1].startswith("make test")
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci


def test_build_help_names_every_config_section() -> None:
    """Rich reads "[cluster]" as markup and drops it unless escaped; the help must show them."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["build", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    for section in Config.model_fields:
        assert f"[{section}]" in result.output, f"build --help does not name [{section}]"
