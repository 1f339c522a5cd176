"""Ingest: every supported format, column detection, dates with precision, clean-up counts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.config import IngestConfig
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
