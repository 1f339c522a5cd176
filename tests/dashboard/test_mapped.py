"""A run's document columns are memory-mapped Arrow, not the server's heap (``mapped``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from prereq import require

from dashboard import mapped
from dashboard.run_data import RunData

MAPS = Path("/proc/self/maps")


def mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """The address ranges at which this process maps ``path`` (Linux's /proc; a file
    pruned since, by another test's run, is still mapped, as "(deleted)")."""
    out = []
    for line in MAPS.read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].removesuffix(" (deleted)") == str(path):
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            out.append((lo, hi))
    return out


def address(column: pd.Series) -> int:
    """Where a column's values are: the numpy data, or the Arrow string bytes."""
    if isinstance(column.dtype, np.dtype):
        return column.to_numpy().ctypes.data
    (chunk,) = column.array.__arrow_array__().chunks
    return chunk.buffers()[2].address


def small_frame(repeat: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": pd.Series(["a", "b", None] * repeat, dtype=str),
            "topic": np.array([1, -1, 2] * repeat, dtype=np.int64),
            "x": np.array([0.5, np.nan, 2.0] * repeat, dtype=np.float32),
            "date": pd.to_datetime(["2020-01-01", None, "2021-03-04"] * repeat),
            "flag": np.array([True, False, True] * repeat),
            "step": pd.array([1, None, 3] * repeat, dtype="Int64"),
        }
    )


def test_the_documents_columns_are_views_of_the_mapped_file(dated_run):
    require(MAPS.exists(), "needs Linux's /proc/self/maps")
    docs = dated_run.docs
    path = dated_run.scratch / f"{dated_run._memo['docs_key']}{mapped.MAPPED_SUFFIX}"
    ranges = mapped_ranges(path)
    assert ranges, f"{path} is not mapped"
    for col in ("doc_id", "title", "url", "topic_label", "date_str", "topic", "x", "y", "date"):
        at = address(docs[col])
        assert any(lo <= at < hi for lo, hi in ranges), f"{col} is a copy, not the map"
    assert not docs["topic"].to_numpy().flags.writeable  # shared by every session


def test_a_frame_comes_back_with_its_dtypes_and_values(tmp_path):
    mapped.frame(tmp_path / "scratch", "k", lambda: small_frame(10_000))  # written
    before = pa.total_allocated_bytes()
    back = mapped.frame(tmp_path / "scratch", "k", lambda: small_frame(10_000))  # mapped
    pd.testing.assert_frame_equal(back, small_frame(10_000))
    held = pa.total_allocated_bytes() - before
    assert held < 50_000, held  # the Int64 column's copy only: the rest are views of the map


def test_a_stored_frame_is_reused_and_old_files_are_pruned(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    mapped.frame(scratch, "first", small_frame)

    def never() -> pd.DataFrame:
        raise AssertionError("built again")

    assert len(mapped.frame(scratch, "first", never)) == 3
    monkeypatch.setattr(mapped, "FILES_KEPT", 2)
    for key in ("second", "third"):
        mapped.frame(scratch, key, small_frame)
    assert sorted(p.name for p in scratch.iterdir()) == ["second.arrow", "third.arrow"]
    assert (scratch.stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("how", ["a file", "writable by others"])
def test_an_unusable_scratch_directory_keeps_the_documents_in_memory(
    dashboard_runs, dated_run, tmp_path, caplog, how
):
    scratch = tmp_path / "scratch"
    if how == "a file":
        scratch.write_text("not a directory")
    else:
        scratch.mkdir(mode=0o777)
        scratch.chmod(0o777)  # a planted directory: its files could be anyone's
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.dated, scratch=scratch)
    with caplog.at_level(logging.WARNING, logger="topictrends.dashboard"):
        docs = run.docs
        page = run.query.page(None, "title", limit=5)
    pd.testing.assert_frame_equal(docs, dated_run.docs)
    assert len(page) == 5 and run.query.scratch is None  # DuckDB spills nothing
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all(mapped.ENV_SCRATCH in line for line in lines)
    if how == "writable by others":
        assert list(scratch.iterdir()) == []
