"""Ingest: every supported format, column detection, dates with precision, clean-up counts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import IngestConfig
from pipeline.stages.dates import parse_one
from pipeline.stages.ingest import BUNDLED, ingest, resolve_input
from tests.conftest import planted_corpus


def _write(df: pd.DataFrame, path: Path) -> Path:
    ext = path.suffix
    if ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif ext == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    elif ext == ".json":
        df.to_json(path, orient="records")
    elif ext == ".parquet":
        df.to_parquet(path)
    return path


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_every_tabular_format_gives_the_same_corpus(tmp_path: Path, ext: str) -> None:
    df = planted_corpus(n_per_topic=6)
    corpus = ingest(_write(df, tmp_path / f"c{ext}"), "c", IngestConfig())
    assert len(corpus.docs) == len(df)
    assert corpus.columns["text"] == "abstract" and corpus.columns["title"] == "title"
    assert corpus.columns["id"] == "id" and corpus.columns["date"] == "date"
    assert set(corpus.metadata_columns) == {"planted", "venue"}
    assert corpus.docs["doc_id"].tolist() == df["id"].tolist()
    assert corpus.dated and (corpus.docs["date_precision"] == "day").all()


def test_format_is_sniffed_from_content_without_extension(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    src = _write(df, tmp_path / "c.jsonl")
    bare = tmp_path / "corpus"
    bare.write_bytes(src.read_bytes())
    assert len(ingest(bare, "c", IngestConfig()).docs) == len(df)


def test_trending_page_format_strips_boilerplate() -> None:
    path, name = resolve_input("hf-trending-papers")
    corpus = ingest(path, name, IngestConfig())
    assert len(corpus.docs) == 265
    assert corpus.docs["title"].iloc[0] == "Model-based Reinforcement Learning: A Survey"
    assert not corpus.docs["title"].str.startswith("Subscribe").any()
    assert not corpus.dated
    assert "no date column" in corpus.notes[0]


def test_bundled_corpora_ship_inside_the_package() -> None:
    for name in BUNDLED:
        path, _ = resolve_input(name)
        assert path.exists() and "pipeline" in path.parts


def test_whitespace_empties_and_duplicates(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=6)
    df.loc[0, "abstract"] = "  spaced \n\t out   text  "
    extra = pd.DataFrame(
        [
            {**df.iloc[1].to_dict(), "id": "dup"},
            {**df.iloc[2].to_dict(), "id": "empty", "title": " ", "abstract": ""},
        ]
    )
    corpus = ingest(_write(pd.concat([df, extra]), tmp_path / "c.csv"), "c", IngestConfig())
    assert corpus.n_input == len(df) + 2
    assert corpus.n_duplicate == 1 and corpus.n_empty == 1
    assert len(corpus.docs) == len(df)
    assert corpus.docs.set_index("doc_id").loc[df.loc[0, "id"], "text"] == "spaced out text"


def test_modelled_text_is_title_and_abstract(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())
    assert corpus.texts[0] == f"{corpus.docs['title'][0]}. {corpus.docs['text'][0]}"


def test_column_flags_override_detection(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5).rename(columns={"abstract": "blurb", "date": "when"})
    cfg = IngestConfig(text_col="blurb", date_col="when")
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", cfg)
    assert corpus.columns["text"] == "blurb" and corpus.dated
    undated = ingest(tmp_path / "c.csv", "c", IngestConfig(text_col="blurb", date_col="none"))
    assert not undated.dated and "when" in undated.metadata_columns


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", (dt.date(2024, 3, 5), "day")),
        ("2024-03-05T10:11:12Z", (dt.date(2024, 3, 5), "day")),
        ("2024-03", (dt.date(2024, 3, 1), "month")),
        ("2024", (dt.date(2024, 1, 1), "year")),
        (2024, (dt.date(2024, 1, 1), "year")),
        ("March 5, 2024", (dt.date(2024, 3, 5), "day")),
        ("5 Mar 2024", (dt.date(2024, 3, 5), "day")),
        ("Tue, 05 Mar 2024 10:00:00 +0000", (dt.date(2024, 3, 5), "day")),
        ("March 2024", (dt.date(2024, 3, 1), "month")),
        ("2024/03/05", (dt.date(2024, 3, 5), "day")),
    ],
)
def test_dates_keep_their_precision(value: object, expected: tuple[dt.date, str]) -> None:
    assert parse_one(value) == expected


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e300, 12.5, "not a date"])
def test_unreadable_date_values_are_none_not_crashes(value: object) -> None:
    # Found by the fuzzer: a JSON date of Infinity once raised OverflowError.
    assert parse_one(value) is None


def test_date_format_flag(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%d/%m/%Y")
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig(date_format="%d/%m/%Y"))
    assert corpus.dated and corpus.docs["date"].notna().all()


def test_metadata_with_reserved_names_is_prefixed(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    df["topic"] = "user-topic"
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())
    assert "meta_topic" in corpus.docs.columns


def test_nested_json_metadata_is_kept_as_json_text(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    records = df.to_dict(orient="records")
    for r in records:
        r["authors"] = {"first": "Ada", "n": 2}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(records))
    corpus = ingest(path, "c", IngestConfig())
    assert json.loads(corpus.docs["authors"].iloc[0]) == {"first": "Ada", "n": 2}
