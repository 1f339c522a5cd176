"""How the dashboard is started (pipeline.serve): the deployed Streamlit settings become flags."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline.errors import UserError
from pipeline.serve import streamlit_flags

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "deploy" / "streamlit" / "config.toml"


def test_production_settings_are_what_streamlit_runs_with():
    """The flags ``topictrends serve --streamlit-config`` builds, read back by Streamlit."""
    want = tomllib.loads(CONFIG.read_text())
    assert want["server"]["headless"] is True
    assert want["server"]["enableXsrfProtection"] is True
    assert want["server"]["fileWatcherType"] == "none"
    assert want["client"]["showErrorDetails"] == "none"
    # The grid's own CSV export bypasses the spreadsheet-safe download (issue 14).
    assert want["client"]["disableDataExport"] is True
    assert want["server"]["maxUploadSize"] >= 1 and want["server"]["maxMessageSize"] >= 1
    flags = streamlit_flags(CONFIG)
    streamlit = Path(sys.executable).with_name("streamlit")
    shown = subprocess.run(
        [str(streamlit), "config", "show", *flags],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")},
    ).stdout
    effective: dict[str, str] = {}
    section = None
    for line in shown.splitlines():
        if m := re.fullmatch(r"\[(\w+)\]", line.strip()):
            section = m.group(1)
        elif section and (m := re.fullmatch(r"(\w+) = (.+)", line.strip())):
            effective[f"{section}.{m.group(1)}"] = m.group(2)
    for section, options in want.items():
        for name, value in options.items():
            expected = str(value).lower() if isinstance(value, bool) else value
            expected = f'"{expected}"' if isinstance(value, str) else str(expected)
            assert effective[f"{section}.{name}"] == expected, f"{section}.{name}"


def test_streamlit_config_with_unknown_or_sensitive_options_is_refused(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[server]\nenableXsrfProtecton = true\n")  # a typo is not silently ignored
    with pytest.raises(UserError, match="enableXsrfProtecton is not a Streamlit option"):
        streamlit_flags(bad)
    bad.write_text('[server]\ncookieSecret = "x"\n')
    with pytest.raises(UserError, match="STREAMLIT_SERVER_COOKIE_SECRET"):
        streamlit_flags(bad)
