"""What the dashboard may hand out: text without server paths, CSV a spreadsheet will not run.

No Streamlit here, so every rule is tested directly (tests/dashboard/test_safety.py).

- ``redact``: a hosted dashboard shows no path of its server (docs/deploy.md). Messages from
  the pipeline name files by path (``/srv/cache/.store/…/documents.parquet: missing``) and a
  manifest records the corpus's input path; ``redact`` turns a run's directory into the
  run's name, a known input path into its file name, and any other absolute path into its
  last component, so an error still says which file of which run is wrong.
- ``safe_url``: only plain http(s) links are shown or exported as links.
- ``spreadsheet_safe``: a CSV cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is a formula to Excel, LibreOffice and Google Sheets (CSV injection);
  such text cells get a leading ``'`` (the OWASP rule). Numeric columns, and text that is
  just a number (``-1.5``), are left alone, so a negative coordinate stays a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

# An absolute POSIX path (or ~/…) that starts a word: not the second half of "and/or",
# "1/2" or a URL's "//host/path", and not inside a relative path.
_ABS_PATH = re.compile(r"(?<![\w.:/\\~-])~?/[^\s'\"`<>()\[\]{},;|:]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")  # "-1.5" runs nothing
_FILE_NAME = re.compile(r"[^\w.-]+")
_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def known_paths(
    name: str, run_dirs: list[Path], manifest: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Path -> what to show instead, for one run: its directories (as listed, and resolved)
    become its name; the corpus paths its manifest records become their file names."""
    out: dict[str, str] = {}
    for d in run_dirs:
        for p in {str(d), str(_resolved(d))}:
            if p not in ("", ".", "/"):
                out[p] = name
    corpus = (manifest or {}).get("corpus") or {}
    update = (manifest or {}).get("update") or {}
    for value in (corpus.get("input"), corpus.get("path"), update.get("input")):
        if isinstance(value, str) and ("/" in value or "\\" in value):
            out[value] = PurePath(value).name or "<INPUT>"
    return out


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p


def redact(value: Any, known: Mapping[str, str] | None = None) -> Any:
    """``value`` (text, or JSON-like lists and dicts of it) with server paths replaced."""
    if isinstance(value, str):
        return _redact_text(value, known or {})
    if isinstance(value, Mapping):
        return {redact(k, known): redact(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, known) for v in value]
    return value


def _redact_text(text: str, known: Mapping[str, str]) -> str:
    for path in sorted(known, key=len, reverse=True):  # longest first: a run dir inside root
        text = text.replace(path, known[path])
    return _ABS_PATH.sub(lambda m: PurePath(m.group(0)).name or "…", text)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula quoted."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        out[col] = values.map(_safe_cell)
    return out


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_url(value: object) -> str | None:
    """Only plain http(s) links are shown as links; ``javascript:`` and the like are dropped."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _URL.match(value) else None


def file_name(*parts: object) -> str:
    """A download's file name from ``parts``: letters, digits, ``.``, ``_`` and ``-`` only."""
    stem = "-".join(_FILE_NAME.sub("_", str(p)).strip("._") for p in parts if str(p))
    return stem[:120] or "download"
