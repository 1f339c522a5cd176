"""Ingest: read a corpus file into one normalised documents table.

Pure with respect to the cache: it reads the input file and returns a ``Corpus``; it
writes nothing. Every way a file can be wrong ends in a ``UserError`` that names the file,
the line or column, and the fix, so the CLI can print one line and exit 2.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import IngestConfig
from pipeline.errors import UserError
from pipeline.stages.dates import parse_column

MIN_DOCUMENTS = 20
SUPPORTED = (
    ".txt (trending-papers page), .csv, .tsv, .jsonl/.ndjson, .json (array of objects), .parquet"
)

BUNDLED: dict[str, str] = {
    "hf-trending-papers": "hf-trending-papers.txt",
    "arxiv-sample": "arxiv-sample.parquet",
}
DEFAULT_CORPUS = "hf-trending-papers"

TEXT_NAMES = (
    "abstract",
    "text",
    "body",
    "content",
    "summary",
    "description",
    "paragraph",
    "document",
    "doc",
)
TITLE_NAMES = ("title", "name", "headline", "subject")
DATE_NAMES = (
    "date",
    "published",
    "published_at",
    "publication_date",
    "created",
    "created_at",
    "timestamp",
    "time",
    "year",
)
ID_NAMES = ("id", "doc_id", "document_id", "arxiv_id", "uid", "key")
URL_NAMES = ("url", "link", "source_url", "href", "pdf_url")

# Columns the pipeline writes into documents.parquet; metadata with these names is prefixed.
RESERVED = {
    "doc_id",
    "title",
    "text",
    "date",
    "date_precision",
    "url",
    "topic",
    "topic_prob",
    "x",
    "y",
}
NONE = "none"  # a column flag set to "none" switches auto-detection of that column off


@dataclass
class Corpus:
    """A normalised corpus: one row per kept document, plus what ingest dropped."""

    name: str
    source: str
    docs: pd.DataFrame  # doc_id, title, text, date, date_precision, url, metadata...
    metadata_columns: list[str]
    columns: dict[str, str | None]  # role -> source column used
    n_input: int
    n_empty: int
    n_duplicate: int
    notes: list[str] = field(default_factory=list)

    @property
    def dated(self) -> bool:
        return bool(self.docs["date"].notna().any())

    @property
    def texts(self) -> list[str]:
        """The text each document is modelled by: title and abstract together."""
        return modelled_texts(self.docs)

    def content_hash(self) -> str:
        """Hash of everything ingest produced, so any change to the input changes it."""
        h = hashlib.sha256("\x1f".join(self.docs.columns).encode())
        as_text = self.docs.map(
            lambda v: json.dumps(_jsonable(v), default=str) if not isinstance(v, str) else v
        )
        h.update(pd.util.hash_pandas_object(as_text, index=False).values.tobytes())
        return h.hexdigest()


def modelled_texts(docs: pd.DataFrame) -> list[str]:
    out = []
    for title, text in zip(docs["title"].tolist(), docs["text"].tolist(), strict=True):
        title = title or ""
        text = text or ""
        out.append(f"{title}. {text}" if title and text else title or text)
    return out


def text_hash(text: str) -> str:
    """Content key of one modelled text; embeddings are cached under it."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _jsonable(v: object) -> object:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, float) and v != v:
        return None
    if v is pd.NaT:
        return None
    return v


def normalise_ws(value: object) -> str:
    """NFC-normalise and collapse runs of whitespace; missing values become ''."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


# --------------------------------------------------------------------------- readers


def resolve_input(spec: str) -> tuple[Path, str]:
    """Map INPUT (a path or a bundled corpus name) to a file and a default run name."""
    if spec in BUNDLED:
        path = Path(str(resources.files("pipeline") / "corpora" / BUNDLED[spec]))
        return path, spec
    path = Path(spec)
    if not path.exists():
        raise UserError(
            f"{spec}: no such file, and not a bundled corpus. Give a path to a corpus file "
            f"or one of: {', '.join(BUNDLED)}."
        )
    if path.is_dir():
        raise UserError(f"{spec}: is a directory. Give one corpus file ({SUPPORTED}).")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "corpus"
    return path, stem


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
    data = path.read_bytes()
    fmt = sniff_format(path, data[:4096])
    if fmt == "parquet":
        return _read_parquet(path, data)
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


def _read_parquet(path: Path, data: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(
            f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}). Re-export it, or use CSV or JSON Lines."
        ) from None
    return table.to_pandas()


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
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        raise UserError(
            f"{path}: line {reader.line_num}: malformed {kind} ({exc}). Close the quote or escape it by doubling it."
        ) from None


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path}: line {lineno}, column {exc.colno}: invalid JSON ({exc.msg}). Each line must be one JSON object."
            ) from None
        if not isinstance(obj, dict):
            raise UserError(
                f'{path}: line {lineno}: expected a JSON object, got {type(obj).__name__}. Each line must be one object like {{"title": ..., "abstract": ...}}.'
            )
        rows.append(obj)
    return _records_frame(path, rows)


def _read_json(path: Path, text: str) -> pd.DataFrame:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}). Fix the syntax there."
        ) from None
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


# --------------------------------------------------------------------------- columns


def _find(
    columns: list[str], wanted: str | None, names: tuple[str, ...], role: str, path: Path, flag: str
) -> str | None:
    if wanted is not None:
        if wanted.lower() == NONE:
            return None
        if wanted not in columns:
            raise UserError(
                f"{path}: {flag} '{wanted}' is not a column. Columns seen: {', '.join(map(str, columns))}."
            )
        return wanted
    lower = {str(c).lower().strip(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def detect_columns(df: pd.DataFrame, cfg: IngestConfig, path: Path) -> dict[str, str | None]:
    cols = [str(c) for c in df.columns]
    df.columns = cols
    found = {
        "text": _find(cols, cfg.text_col, TEXT_NAMES, "text", path, "--text-col"),
        "title": _find(cols, cfg.title_col, TITLE_NAMES, "title", path, "--title-col"),
        "date": _find(cols, cfg.date_col, DATE_NAMES, "date", path, "--date-col"),
        "id": _find(cols, cfg.id_col, ID_NAMES, "id", path, "--id-col"),
        "url": _find(cols, cfg.url_col, URL_NAMES, "url", path, "--url-col"),
    }
    # "year" is only a fallback when a finer date column is absent.
    if found["date"] and found["date"].lower() == "year" and cfg.date_col is None:
        for name in DATE_NAMES[:-1]:
            if name in {c.lower() for c in cols}:
                found["date"] = next(c for c in cols if c.lower() == name)
                break
    if found["text"] is None and found["title"] is None:
        raise UserError(
            f"{path}: no text column found. Columns seen: {', '.join(cols) or '(none)'}. "
            "Name one with --text-col (and optionally --title-col)."
        )
    return found


# --------------------------------------------------------------------------- main entry


def ingest(path: Path, name: str, cfg: IngestConfig, min_documents: int = MIN_DOCUMENTS) -> Corpus:
    """Read and normalise a corpus file; ``min_documents`` is 1 for an update's new batch."""
    raw = read_table(path)
    n_input = len(raw)
    if n_input == 0:
        raise UserError(f"{path}: the corpus has no rows. Add at least {MIN_DOCUMENTS} documents.")
    roles = detect_columns(raw, cfg, path)

    title = raw[roles["title"]].map(normalise_ws) if roles["title"] else pd.Series([""] * n_input)
    text = raw[roles["text"]].map(normalise_ws) if roles["text"] else pd.Series([""] * n_input)
    docs = pd.DataFrame({"title": title.astype(object).values, "text": text.astype(object).values})

    if roles["date"]:
        values = raw[roles["date"]].tolist()
        dates, precs, bad = parse_column(values, cfg.date_format)
        if bad is not None:
            raise UserError(
                f"{path}: column '{roles['date']}', row {bad + 1}: cannot parse date {values[bad]!r}. "
                "Use ISO dates (2024-03-05, 2024-03, 2024), pass --date-format (e.g. '%d/%m/%Y'), "
                "or --date-col none to ignore dates."
            )
        docs["date"] = pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce").astype(
            "datetime64[ns]"
        )
        docs["date_precision"] = pd.Series(precs, dtype=object)
    else:
        docs["date"] = pd.Series([pd.NaT] * n_input, dtype="datetime64[ns]")
        docs["date_precision"] = pd.Series([None] * n_input, dtype=object)

    docs["url"] = (
        raw[roles["url"]].map(lambda v: normalise_ws(v) or None).values if roles["url"] else None
    )
    if roles["id"]:
        docs["doc_id"] = raw[roles["id"]].map(normalise_ws).values
    else:
        docs["doc_id"] = ""

    used = {c for c in roles.values() if c}
    meta_cols: list[str] = []
    for col in raw.columns:
        if col in used:
            continue
        out = f"meta_{col}" if col in RESERVED else col
        docs[out] = raw[col].values
        meta_cols.append(out)

    # Drop empties, then exact duplicates (same title and text), keeping the first.
    empty = (docs["title"] == "") & (docs["text"] == "")
    n_empty = int(empty.sum())
    docs = docs[~empty]
    dup = docs.duplicated(subset=["title", "text"], keep="first")
    if roles["id"]:
        dup |= (docs["doc_id"] != "") & docs.duplicated(subset=["doc_id"], keep="first")
    n_duplicate = int(dup.sum())
    docs = docs[~dup].reset_index(drop=True)

    if len(docs) == 0:
        raise UserError(
            f"{path}: all {n_input} documents have empty text. Check the text column ({roles['text'] or roles['title']}) or pick another with --text-col."
        )
    if len(docs) < min_documents:
        raise UserError(
            f"{path}: only {len(docs)} usable documents; topic modelling needs at least {min_documents}. Add more documents."
        )

    missing_id = docs["doc_id"] == ""
    if missing_id.any():
        docs.loc[missing_id, "doc_id"] = [
            text_hash(t)[:16] for t in modelled_texts(docs[missing_id])
        ]

    ordered = ["doc_id", "title", "text", "date", "date_precision", "url"] + meta_cols
    docs = docs[ordered]
    notes = []
    if not roles["date"]:
        notes.append(
            "no date column found: trend artifacts are not computed (pass --date-col to name one)"
        )
    elif docs["date"].isna().all():
        notes.append(f"date column '{roles['date']}' is empty: trend artifacts are not computed")
    return Corpus(
        name=name,
        source=str(path),
        docs=docs,
        metadata_columns=meta_cols,
        columns=roles,
        n_input=n_input,
        n_empty=n_empty,
        n_duplicate=n_duplicate,
        notes=notes,
    )
