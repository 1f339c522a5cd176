"""Writing and reading Parquet frames in row groups, so a large table is never whole twice.

``pandas.to_parquet`` converts the whole frame to one Arrow table before it writes, which
holds a second copy of every string of a million documents. ``write_frame`` converts and
writes ``ROW_GROUP`` rows at a time instead; a frame of at most that many rows is written
exactly as before (one call, one row group), so the bytes, and the checksums of every
existing artifact, are unchanged. ``read_columns`` reads only the columns a reader needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

# Rows per row group: 64Ki rows of abstracts is some tens of MB, small enough to convert
# one at a time, large enough that a reader's per-group overhead does not show.
ROW_GROUP = 65_536


def write_frame(path: Path, df: pd.DataFrame, row_group: int = ROW_GROUP) -> None:
    """Write ``df`` to ``path`` without the index, ``row_group`` rows per row group."""
    if len(df) <= row_group:
        df.to_parquet(path, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    # The schema from the whole frame, so a slice whose object column is all null is
    # still written with the column's type.
    schema = pa.Schema.from_pandas(df, preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(df), row_group):
            part = df.iloc[start : start + row_group]
            table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
            writer.write_table(table, row_group_size=row_group)


def read_columns(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Only ``columns`` of a Parquet file (all when None): the others are never decoded."""
    return pd.read_parquet(path, columns=list(columns) if columns is not None else None)
