"""Parquet in row groups (pipeline.store.parquet) and the row-group reader of corpora."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline.stages.readers import read_parquet
from pipeline.store.parquet import read_columns, write_frame


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(n)],
            "text": [f"words {i} " * 3 for i in range(n)],
            "topic": rng.integers(-1, 5, n).astype(np.int64),
            # null in the first row groups, text later: the column keeps the type of its values
            "url": [None] * (n - 3) + ["https://a", "https://b", "https://c"],
            "date": pd.to_datetime("2020-01-01") + pd.to_timedelta(np.arange(n), unit="D"),
        }
    )


def test_large_frame_is_written_in_row_groups_and_reads_back_equal(tmp_path: Path) -> None:
    df = _frame(250)
    write_frame(tmp_path / "d.parquet", df, row_group=100)
    meta = pq.ParquetFile(tmp_path / "d.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [100, 100, 50]
    back = pd.read_parquet(tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(back, df)
    # a reader that needs two columns decodes only those
    assert list(read_columns(tmp_path / "d.parquet", ["doc_id", "topic"]).columns) == [
        "doc_id",
        "topic",
    ]


def test_small_frame_bytes_are_what_they_always_were(tmp_path: Path) -> None:
    """At most one row group of rows: the very bytes ``to_parquet`` writes, so the
    checksums of existing artifacts (and the runs that record them) do not change."""
    df = _frame(100)
    write_frame(tmp_path / "new.parquet", df, row_group=100)
    df.to_parquet(tmp_path / "old.parquet", index=False)
    assert (tmp_path / "new.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()


def test_corpus_in_many_row_groups_reads_as_one_frame(tmp_path: Path) -> None:
    df = _frame(250)
    write_frame(tmp_path / "c.parquet", df, row_group=60)
    pd.testing.assert_frame_equal(
        read_parquet(tmp_path / "c.parquet"), pd.read_parquet(tmp_path / "c.parquet")
    )
