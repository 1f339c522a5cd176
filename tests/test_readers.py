"""Reading corpus files (pipeline.stages.readers): every format, sniffed from the content."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.stages.ingest import ingest, resolve_input
from tests.conftest import planted_corpus
from tests.test_ingest import _write


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
    corpus = ingest(bare, "c", IngestConfig())
    # Read as JSON lines (not as one text column of lines): the same columns and documents.
    assert corpus.columns["text"] == "abstract" and corpus.columns["id"] == "id"
    assert corpus.docs["doc_id"].tolist() == df["id"].tolist()


def test_trending_page_format_strips_boilerplate() -> None:
    path, name = resolve_input("hf-trending-papers")
    corpus = ingest(path, name, IngestConfig())
    assert len(corpus.docs) == 265
    assert corpus.docs["title"].iloc[0] == "Model-based Reinforcement Learning: A Survey"
    assert not corpus.docs["title"].str.startswith("Subscribe").any()
    assert not corpus.dated
    assert "no date column" in corpus.notes[0]
