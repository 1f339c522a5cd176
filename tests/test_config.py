"""The config (pipeline.config): every setting documented, the reference current."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config, config_reference

REPO = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    text = (REPO / "docs" / "config.md").read_text()
    for section, field in Config.model_fields.items():
        assert f"## [{section}]" in text, section
        body = text.split(f"## [{section}]", 1)[1].split("\n## ", 1)[0]
        for name in field.annotation.model_fields:
            assert f"| `{name}` |" in body, f"[{section}] {name} is not in docs/config.md"


def test_config_reference_is_current() -> None:
    assert (REPO / "docs" / "config.md").read_text() == config_reference(), (
        "run: python -m pipeline.config > docs/config.md"
    )
