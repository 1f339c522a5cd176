"""Every kind of bad input: exit 2, one clear line on stderr, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import planted_corpus


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args, "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _csv(tmp: Path, df: pd.DataFrame, name: str = "c.csv") -> Path:
    path = tmp / name
    df.to_csv(path, index=False)
    return path


def damaged_parquet(tmp: Path, df: pd.DataFrame, group: int, groups: int = 3) -> Path:
    """``df`` as Parquet in ``groups`` row groups, with bytes of row group ``group``'s text
    column overwritten (no page checksums: the reader must notice without them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp / "c.parquet"
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, row_group_size=len(df) // groups + 1)
    meta = pq.ParquetFile(path).metadata.row_group(group)
    names = [meta.column(k).path_in_schema for k in range(meta.num_columns)]
    col = meta.column(names.index("abstract"))
    middle = (col.dictionary_page_offset or col.data_page_offset) + col.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[middle : middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    return path


def _case(tmp: Path, kind: str) -> tuple[Path, list[str], list[str]]:
    """Return (input, extra args, substrings the message must contain)."""
    good = planted_corpus(n_per_topic=6)
    if kind == "missing":
        return tmp / "nope.csv", [], ["nope.csv", "no such file"]
    if kind == "directory":
        (tmp / "adir").mkdir()
        return tmp / "adir", [], ["adir", "is a directory"]
    if kind == "undecodable":
        p = _csv(tmp, good)
        data = p.read_bytes().split(b"\n")
        data[3] = data[3] + b"\xff\xfe caf\xe9"
        p.write_bytes(b"\n".join(data))
        return p, [], ["line 4", "UTF-8"]
    if kind == "empty-file":
        p = tmp / "empty.csv"
        p.write_text("")
        return p, [], ["empty.csv", "empty"]
    if kind == "only-empty-texts":
        df = good.assign(title="", abstract="   ")
        return _csv(tmp, df), [], ["empty text", "--text-col"]
    if kind == "no-text-column":
        df = pd.DataFrame({"foo": ["a"] * 30, "bar": ["b"] * 30})
        return _csv(tmp, df), [], ["no text column", "foo, bar", "--text-col"]
    if kind == "bad-dates":
        df = good.copy()
        df.loc[7, "date"] = "sometime in spring"
        return (
            _csv(tmp, df),
            [],
            ["column 'date'", "sometime in spring", "--date-format", "--date-col none"],
        )
    if kind == "malformed-csv":
        p = _csv(tmp, good)
        lines = p.read_text().splitlines()
        lines[5] = lines[5] + ',extra,"fields"'
        p.write_text("\n".join(lines) + "\n")
        return p, [], ["line 6", "expected", "fields"]
    if kind == "unclosed-quote":
        p = tmp / "q.csv"
        p.write_text('title,abstract\n"ok","fine"\n"broken,"no end\nx,y\n')
        return p, [], ["q.csv", "line"]
    if kind == "malformed-jsonl":
        p = tmp / "c.jsonl"
        good.to_json(p, orient="records", lines=True)
        lines = p.read_text().splitlines()
        lines[2] = lines[2][:-5]
        p.write_text("\n".join(lines) + "\n")
        return p, [], ["line 3", "invalid JSON"]
    if kind == "malformed-json":
        p = tmp / "c.json"
        p.write_text('[{"title": "a", "abstract": "b"},\n {"title": "c" "abstract": "d"}]')
        return p, [], ["line 2", "column", "invalid JSON"]
    if kind == "corrupt-row-group":  # a large file damaged in its middle
        p = damaged_parquet(tmp, planted_corpus(n_per_topic=30), group=1)
        return p, [], ["c.parquet", "row group 1 (counting from 0) of 3", "rows 52-102"]
    if kind == "unsupported":
        p = tmp / "c.xlsx"
        p.write_bytes(b"PK\x03\x04 not really")
        return p, [], ["unsupported format '.xlsx'", ".csv", ".parquet"]
    if kind == "too-small":
        return _csv(tmp, good.head(7)), [], ["only 7 usable documents", "at least 20"]
    if kind == "bad-column-flag":
        return (
            _csv(tmp, good),
            ["--text-col", "body"],
            ["--text-col 'body' is not a column", "abstract"],
        )
    if kind == "bad-config":
        cfg = tmp / "bad.toml"
        cfg.write_text("[cluster]\nmin_cluster_size = -3\n")
        return _csv(tmp, good), ["--config", str(cfg)], ["bad.toml", "cluster.min_cluster_size"]
    if kind == "date-out-of-range":  # nanosecond timestamps end in 2262: once a traceback
        df = good.copy()
        df.loc[4, "date"] = "2300-01-01"
        return _csv(tmp, df), [], ["column 'date', row 5", "2300-01-01", "supported range"]
    if kind == "config-directory":  # once an IsADirectoryError traceback
        (tmp / "conf").mkdir()
        return _csv(tmp, good), ["--config", str(tmp / "conf")], ["conf: is a directory"]
    if kind == "name-escapes-cache":  # once wrote lock files outside the cache root
        return _csv(tmp, good), ["--name", "../escape"], ["--name '../escape'", "a run name is"]
    raise AssertionError(kind)


CASES = [
    "missing", "directory", "undecodable", "empty-file", "only-empty-texts", "no-text-column", "bad-dates",
    "malformed-csv", "unclosed-quote", "malformed-jsonl", "malformed-json", "unsupported", "too-small", "corrupt-row-group",
    "bad-column-flag", "bad-config", "date-out-of-range", "config-directory", "name-escapes-cache",
]  # fmt: skip


@pytest.mark.parametrize("kind", CASES)
def test_bad_input_is_one_clean_line(tmp_path: Path, kind: str) -> None:
    path, extra, needles = _case(tmp_path, kind)
    cache = tmp_path / "cache"
    proc = run_cli("build", str(path), *extra, "--backend", "hashing", cache=cache)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr  # not even a blank line from the progress bars
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert proc.stdout == ""
    assert not (cache / "runs").exists(), "nothing may be written for bad input"
    named = [path, cache, *map(Path, extra)]
    expected = {p.name for p in named if p.parent == tmp_path and p.exists()}
    assert {p.name for p in tmp_path.iterdir()} == expected, "nothing written outside the cache"
