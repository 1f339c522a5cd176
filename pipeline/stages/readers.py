"""Readers: one corpus file of any supported format into a raw DataFrame.

Split from ``pipeline.stages.ingest``, which maps the raw columns to documents. Each reader turns
every way its format can be wrong into a ``UserError`` naming the file, the line or column,
and the fix; nothing here writes anything.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from pipeline.errors import UserError, os_error_line

MIN_DOCUMENTS = 20
SUPPORTED = (
    ".txt (trending-papers page), .csv, .tsv, .jsonl/.ndjson, .json (array of objects), .parquet"
)


def unreadable(path: Path, exc: OSError | ValueError) -> UserError:
    if isinstance(exc, ValueError):  # an embedded NUL byte
        return UserError(f"{path!r}: not a usable file name ({exc}). Give a plain path.")
    fix = "copy the corpus somewhere readable and pass that path"
    return UserError(os_error_line(exc, path, "cannot read the corpus file", fix))


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{path}: line {line}: byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid UTF-8. "
            "Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)."
        ) from None


def sniff_format(path: Path, head: bytes) -> str:
    ext = path.suffix.lower()
    by_ext = {
        ".txt": "trending",
        ".csv": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "json",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if ext in by_ext:
        fmt = by_ext[ext]
        if fmt == "json" and head.lstrip()[:1] == b"{":
            return "jsonl"  # many ".json" exports are really JSON Lines
        return fmt
    if head[:4] == b"PAR1":
        return "parquet"
    stripped = head.lstrip()
    if ext in ("", ".dat", ".data", ".out"):
        if stripped[:1] == b"[":
            return "json"
        if stripped[:1] == b"{":
            return "jsonl"
        first = stripped.split(b"\n", 1)[0]
        if b"\t" in first:
            return "tsv"
        if b"," in first:
            return "csv"
    raise UserError(
        f"{path}: unsupported format '{ext or 'no extension'}'. Supported: {SUPPORTED}."
    )


def read_table(path: Path) -> pd.DataFrame:
    """Read any supported file into a raw DataFrame of strings/values."""
    if not path.is_file():
        raise UserError(f"{path}: not a regular file. Give one corpus file ({SUPPORTED}).")
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise unreadable(path, exc) from None
    fmt = sniff_format(path, head)
    if fmt == "parquet":
        return read_parquet(path)  # by row group: the file's bytes are never held whole
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from None
    text = _decode(path, data)
    if not text.strip():
        raise UserError(f"{path}: the file is empty. Add documents to it.")
    if fmt == "trending":
        return _read_trending(path, text)
    if fmt in ("csv", "tsv"):
        return _read_delimited(path, text, "," if fmt == "csv" else "\t")
    if fmt == "jsonl":
        return _read_jsonl(path, text)
    return _read_json(path, text)


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet corpus read one row group at a time, each checked as it is read.

    The file is opened, not slurped: only the decoded columns are held, and each row
    group's Arrow buffers are released as it is converted (``self_destruct``), so the
    peak is about one copy of the documents. Page checksums, when the writer stored them,
    are verified. A damaged row group is one line naming it and its rows, before
    anything is written, not a pyarrow traceback halfway through a build.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(
            f"{path}: not a readable Parquet file ({_first_line(exc)}). Re-export it, or use CSV or JSON Lines."
        ) from None
    groups, first = [], 0
    n_groups = pf.metadata.num_row_groups
    for i in range(n_groups):
        rows = pf.metadata.row_group(i).num_rows
        try:
            groups.append(pf.read_row_group(i))
        except (pa.ArrowException, OSError) as exc:
            raise UserError(
                f"{path}: row group {i} (counting from 0) of {n_groups}, rows {first + 1}-"
                f"{first + rows}, is damaged ({_first_line(exc)}). Re-export the file, or "
                "drop that row group, and build again."
            ) from None
        first += rows
    table = pa.concat_tables(groups) if groups else pf.schema_arrow.empty_table()
    del groups
    return table.to_pandas(self_destruct=True, split_blocks=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


_BOILERPLATE = re.compile(r"^(get trending papers|subscribe$)", re.IGNORECASE)


def _read_trending(path: Path, text: str) -> pd.DataFrame:
    """The trending-papers page scrape: boilerplate, then title and abstract lines alternating."""
    lines = [(i + 1, ln.strip()) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    while lines and _BOILERPLATE.match(lines[0][1]):
        lines.pop(0)
    if (
        lines
        and lines[0][1].startswith("Subscribe")
        and len(lines[0][1]) > 9
        and not lines[0][1][9].islower()
    ):
        lines[0] = (lines[0][0], lines[0][1][len("Subscribe") :].strip())
    if len(lines) % 2:
        lineno, title = lines[-1]
        raise UserError(
            f"{path}: line {lineno}: title '{title[:60]}' has no abstract line after it. "
            "The .txt format alternates a title line and an abstract line; add the abstract or remove the title."
        )
    rows = [{"title": lines[i][1], "abstract": lines[i + 1][1]} for i in range(0, len(lines), 2)]
    return pd.DataFrame(rows, columns=["title", "abstract"])


def _read_delimited(path: Path, text: str, sep: str) -> pd.DataFrame:
    kind = "CSV" if sep == "," else "TSV"
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            on_bad_lines="error",
            engine="c",
        )
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise UserError(
                f"{path}: line {m[2]}: malformed {kind} row, expected {m[1]} fields but saw {m[3]}. "
                "Quote fields that contain the delimiter or fix the row."
            ) from None
        m = re.search(r"line (\d+)", msg)
        where = f"line {m[1]}: " if m else ""
        raise UserError(
            f"{path}: {where}malformed {kind} ({msg.strip().splitlines()[-1]}). Check quoting near that line."
        ) from None
    except pd.errors.EmptyDataError:
        raise UserError(
            f"{path}: the file has no {kind} header or rows. Add a header line and documents."
        ) from None
    # An unclosed quote makes the C parser swallow the rest of the file into one field.
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed and len(unnamed) == len(df.columns):
        raise UserError(
            f"{path}: line 1: the {kind} header is empty. Add column names such as title,abstract,date."
        )
    if len(df.columns) == 1 and sep == "," and "\t" in text.split("\n", 1)[0]:
        raise UserError(
            f"{path}: line 1: looks tab-separated but is named .csv. Rename it to .tsv."
        )
    _check_unbalanced_quotes(path, text, sep, kind)
    return df


def _check_unbalanced_quotes(path: Path, text: str, sep: str, kind: str) -> None:
    """Re-read with ``csv``'s strict mode, which pandas lacks, to catch a stray quote.

    ``csv`` refuses fields over its process-wide limit (128 KiB by default); no field can
    be longer than the file, so the limit is raised to that for this check and restored.
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=True)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        raise UserError(
            f"{path}: line {reader.line_num}: malformed {kind} ({exc}). Close the quote or escape it by doubling it."
        ) from None
    finally:
        csv.field_size_limit(limit)


def _loads(path: Path, text: str, fix: str, lineno: int | None = None) -> object:
    """``json.loads``; a syntax error is one line naming the file, line, column and fix."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: line {lineno or exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}). {fix}"
        ) from None


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        obj = _loads(path, line, "Each line must be one JSON object.", lineno)
        if not isinstance(obj, dict):
            raise UserError(
                f'{path}: line {lineno}: expected a JSON object, got {type(obj).__name__}. Each line must be one object like {{"title": ..., "abstract": ...}}.'
            )
        rows.append(obj)
    return _records_frame(path, rows)


def _read_json(path: Path, text: str) -> pd.DataFrame:
    obj = _loads(path, text, "Fix the syntax there.")
    if isinstance(obj, dict):
        lists = [k for k, v in obj.items() if isinstance(v, list)]
        if len(lists) == 1:
            obj = obj[lists[0]]
    if not isinstance(obj, list):
        raise UserError(
            f"{path}: expected a JSON array of objects, got {type(obj).__name__}. Wrap the documents in [ ... ] or use JSON Lines."
        )
    for i, item in enumerate(obj):
        if not isinstance(item, dict):
            raise UserError(
                f'{path}: array item {i}: expected an object, got {type(item).__name__}. Each item must be like {{"title": ..., "abstract": ...}}.'
            )
    return _records_frame(path, obj)


def _records_frame(path: Path, rows: list[dict]) -> pd.DataFrame:
    if not rows:
        raise UserError(
            f"{path}: no documents in the file. Add at least {MIN_DOCUMENTS} documents."
        )
    df = pd.DataFrame.from_records(rows)
    for col in df.columns:
        if df[col].map(lambda v: isinstance(v, dict)).any():
            df[col] = df[col].map(
                lambda v: json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
            )
    return df
