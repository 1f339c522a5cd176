"""The rules in dashboard/safety.py and the link parsing in filters.py, without Streamlit."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dashboard import safety
from dashboard.doc_query import DocQuery
from dashboard.filters import Filters, parse_filters, parse_int, unusable
from dashboard.ui import csv_bytes


def test_redact_names_the_run_and_its_files_never_the_server_path(tmp_path):
    root = tmp_path / "srv" / "cache"
    build = root / ".store" / "runs" / "arxiv" / "20260101-abc"
    build.mkdir(parents=True)
    (root / "runs").mkdir()
    (root / "runs" / "arxiv").symlink_to(build)
    manifest = {"corpus": {"input": "data/private/corpus.csv", "path": "/data/private/corpus.csv"}}
    known = safety.known_paths("arxiv", [root / "runs" / "arxiv"], manifest)
    msg = (
        f"{build}/documents.parquet: checksum mismatch. Rebuild it with: topictrends build "
        "data/private/corpus.csv --name arxiv --force (model at /opt/models/minilm/config.json)"
    )
    out = safety.redact(msg, known)
    assert out == (
        "arxiv/documents.parquet: checksum mismatch. Rebuild it with: topictrends build "
        "corpus.csv --name arxiv --force (model at config.json)"
    )
    nested = safety.redact({"a": [f"{root}/x.npy", 3, None], "input": manifest["corpus"]}, known)
    assert nested == {
        "a": ["x.npy", 3, None],
        "input": {"input": "corpus.csv", "path": "corpus.csv"},
    }


@pytest.mark.parametrize(
    "text",
    [
        "see https://example.org/a/b and http://x.y/z",
        "and/or 1/2 km/h",
        "--date-format '%d/%m/%Y'",
        "topictrends update arxiv NEW_INPUT",
    ],
)
def test_redact_leaves_what_is_not_a_path(text):
    assert safety.redact(text) == text


def test_spreadsheet_safe_quotes_formulas_and_keeps_numbers():
    frame = pd.DataFrame(
        {
            "title": ['=HYPERLINK("http://x")', "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"],
            "label": ["ok", "-1.5", "1e-3", "-", None, "a=b"],
            "x": [-1.5, 2.0, -3.0, 0.0, 1.0, -0.25],
            "topic": np.array([-1, 0, 1, 2, 3, -1]),
        }
    )
    out = safety.spreadsheet_safe(frame)
    assert out["title"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+1+cmd",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    assert out["label"].tolist()[:4] == ["ok", "-1.5", "1e-3", "'-"]
    assert out["label"].isna().tolist()[4] and out["label"].iloc[5] == "a=b"
    pd.testing.assert_series_equal(out["x"], frame["x"])
    pd.testing.assert_series_equal(out["topic"], frame["topic"])


def test_every_csv_download_is_spreadsheet_safe(tmp_path):
    docs = pd.DataFrame(
        {
            "doc_id": ["a", "b"],
            "title": ["=cmd|' /C calc'!A0", "fine"],
            "text": ["@x", "y"],
            "url": ["javascript:alert(1)", "https://example.org/b"],
            "topic": [0, 0],
            "x": [-1.25, 3.0],
        }
    )
    docs.to_parquet(tmp_path / "documents.parquet")
    query = DocQuery(tmp_path / "documents.parquet", "run", {0: "@label"})
    back = pd.read_csv(io.BytesIO(csv_bytes(SimpleNamespace(query=query), [0, 1])))
    assert back["title"].tolist() == ["'=cmd|' /C calc'!A0", "fine"]
    assert back["text"].tolist() == ["'@x", "y"]
    assert back["topic_label"].tolist() == ["'@label", "'@label"]
    assert back["x"].tolist() == [-1.25, 3.0]  # still numbers
    assert back["url"].isna().iloc[0] and back["url"].iloc[1] == "https://example.org/b"


def test_download_file_names_are_plain():
    assert safety.file_name("arxiv", "topic-3") == "arxiv-topic-3"
    assert safety.file_name("../../etc/passwd", "x y") == "etc_passwd-x_y"
    assert "/" not in safety.file_name("/srv/cache/runs/a", "documents")


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" -1 ", -1), ("²", None), ("١٢", None), ("1_000", None), ("9" * 5000, None)],
)
def test_parse_int_takes_ascii_ids_only(text, value):
    assert parse_int(text) == value


def test_unusable_names_what_a_link_could_not_use():
    params = {"topics": "1,²,999", "from": "2020-13-01", "to": "2021-01-01", "q": "x" * 300}
    f = parse_filters(params, {1, 2}, {})
    assert f.topics == (1,) and f.date_from is None and len(f.query) == 200
    assert unusable(params, f, dated=True) == ["topics", "from", "q"]
    assert unusable(params, f, dated=False) == ["topics", "from", "to", "q"]
    assert unusable({"topics": "1"}, Filters(topics=(1,)), dated=True) == []


def test_known_paths_skip_bundled_corpus_names():
    known = safety.known_paths(
        "t", [Path("/c/runs/t")], {"corpus": {"input": "hf-trending-papers"}}
    )
    assert "hf-trending-papers" not in known
