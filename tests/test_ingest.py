"""Ingest: every supported format, column detection, dates with precision, clean-up counts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import IngestConfig
from pipeline.errors import UserError
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
    iso = df["date"].tolist()
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%d/%m/%Y")
    assert (pd.to_datetime(df["date"]).dt.day <= 12).any()  # some read either way round
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig(date_format="%d/%m/%Y"))
    assert corpus.dated
    # Day first, as the flag says, for every row (not month first where both would parse).
    assert pd.to_datetime(corpus.docs["date"]).dt.strftime("%Y-%m-%d").tolist() == iso


def test_metadata_with_reserved_names_is_prefixed(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    df["topic"] = "user-topic"
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())
    assert corpus.docs["meta_topic"].tolist() == ["user-topic"] * len(df)
    assert "topic" not in corpus.docs.columns  # left for the pipeline's own topic


def test_every_model_column_name_is_reserved(tmp_path: Path) -> None:
    # added_step was written by the pipeline but missing from RESERVED: a corpus column of
    # that name failed the build after every stage had run.
    from pipeline.store.contract import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

    model = REQUIRED_COLUMNS["documents.parquet"] + OPTIONAL_COLUMNS["documents.parquet"]
    df = planted_corpus(n_per_topic=5)
    extra = [c for c in model if c not in df.columns]
    for col in extra:
        df[col] = f"user-{col}"
    df["meta_topic"] = "already prefixed"
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())
    cols = list(corpus.docs.columns)
    assert len(cols) == len(set(cols))
    assert "meta_added_step" in cols and (corpus.docs["meta_added_step"] == "user-added_step").all()
    assert (corpus.docs["meta_topic"] == "already prefixed").all()  # the user's own name
    assert (corpus.docs["meta_meta_topic"] == "user-topic").all()
    assert not set(corpus.metadata_columns) & set(model)


def test_csv_field_over_128_kib_is_not_malformed(tmp_path: Path) -> None:
    import csv

    df = planted_corpus(n_per_topic=5)
    df.loc[3, "abstract"] = 'galaxy, "quoted" ' * 20_000  # ~300 KiB, with quotes and commas
    limit = csv.field_size_limit()
    corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())
    assert len(corpus.docs) == len(df)
    assert max(corpus.docs["text"].str.len()) > 256 * 1024
    assert csv.field_size_limit() == limit, "the process-wide csv limit is restored"


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("2300-01-01", "outside the supported range"),
        ("1500-06-01", "outside the supported range"),
        ("2999", "outside the supported range"),
        ("1679-12", "outside the supported range"),
        ("2250-01-01", "outside the supported range"),
    ],
)
def test_dates_nanoseconds_cannot_hold_are_refused(tmp_path: Path, value: str, needle: str) -> None:
    df = planted_corpus(n_per_topic=5)
    df.loc[6, "date"] = value
    path = _write(df, tmp_path / "c.csv")
    with pytest.raises(UserError) as exc:
        ingest(path, "c", IngestConfig())
    msg = str(exc.value)
    for part in (str(path), "column 'date', row 7", value, needle, "--date-col none"):
        assert part in msg, (part, msg)


def test_date_range_edges_are_accepted(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    for first, rest, edge in [
        ("1680-01-01", "1700", "1680-01-01"),
        ("2249-12-31", "2249-12", "2249-12-31"),
    ]:
        df["date"] = rest
        df.loc[0, "date"] = first
        corpus = ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())
        assert edge in {str(d.date()) for d in corpus.docs["date"]}


def test_a_date_span_binning_cannot_measure_is_refused(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    df.loc[2, "date"] = "1700-01-01"
    df.loc[9, "date"] = "2024-01-01"
    with pytest.raises(UserError, match=r"rows 3 and 10: .* more than 250 years"):
        ingest(_write(df, tmp_path / "c.csv"), "c", IngestConfig())


def test_out_of_range_parquet_timestamp_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = planted_corpus(n_per_topic=5).drop(columns=["date"])
    dates = [dt.datetime(2023, 1, 1)] * len(df)
    dates[4] = dt.datetime(2300, 5, 1)
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(
        table.append_column("date", pa.array(dates, pa.timestamp("us"))), tmp_path / "c.parquet"
    )
    with pytest.raises(
        UserError, match=r"row 5: date 2300-05-01T00:00:00 is outside the supported range"
    ):
        ingest(tmp_path / "c.parquet", "c", IngestConfig())


def test_unreadable_corpus_names_the_errno_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    path = _write(planted_corpus(n_per_topic=5), tmp_path / "c.csv")

    def refuse(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(UserError) as exc:
        ingest(path, "c", IngestConfig())
    msg = str(exc.value)
    assert str(path) in msg and "Permission denied" in msg and "chmod" in msg
    assert "space" not in msg


def test_overlong_input_path_is_a_clean_error() -> None:
    with pytest.raises(UserError, match="too long"):
        resolve_input("x" * 5000 + ".csv")


def test_nested_json_metadata_is_kept_as_json_text(tmp_path: Path) -> None:
    df = planted_corpus(n_per_topic=5)
    records = df.to_dict(orient="records")
    for r in records:
        r["authors"] = {"first": "Ada", "n": 2}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(records))
    corpus = ingest(path, "c", IngestConfig())
    assert json.loads(corpus.docs["authors"].iloc[0]) == {"first": "Ada", "n": 2}


def reference_frame_hash(docs: pd.DataFrame) -> str:
    """The content hash as it was: every cell mapped to text one by one (run keys of
    existing caches were made so; ``frame_hash`` must give the same)."""
    import hashlib

    from pipeline.stages.ingest import _jsonable

    h = hashlib.sha256("\x1f".join(docs.columns).encode())
    as_text = docs.map(
        lambda v: json.dumps(_jsonable(v), default=str) if not isinstance(v, str) else v
    )
    h.update(pd.util.hash_pandas_object(as_text, index=False).values.tobytes())
    return h.hexdigest()


def every_kind_of_column(n: int = 12) -> pd.DataFrame:
    """Columns of every dtype ingest's metadata may carry, with the values that map apart
    though they compare equal (0.0 and -0.0; 1, 1.0 and True) and every kind of missing."""
    import numpy as np

    mixed = [1, 1.0, True, None, np.nan, pd.NA, pd.NaT, [1, 2], np.array([3]), "x", -0.0, 0.0]
    floats = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e20, 0.1, 1 / 3, 0.0, -0.0, 2.5, np.nan]
    stamps = ["2020-01-01", None, "2020-01-02 03:04:05.123456789", "1790-01-08"] * 3
    return pd.DataFrame(
        {
            "text": pd.array(["a", None, "b", "a"] * 3, dtype=pd.StringDtype(na_value=np.nan)),
            "text_na": pd.array(["a", None, "b", "c"] * 3, dtype="string[python]"),
            "mixed": pd.Series(mixed, dtype=object),
            "none": pd.Series([None] * n, dtype=object),
            "float": floats,
            "float32": np.array(floats, dtype=np.float32),
            "int": np.arange(n) % 5 - 2,
            "uint8": np.arange(n, dtype=np.uint8),
            "bool": np.arange(n) % 3 == 0,
            "date": pd.to_datetime(stamps, format="mixed"),
            "date_tz": pd.to_datetime(stamps, format="mixed").tz_localize("Europe/Paris"),
            "span": pd.to_timedelta(np.arange(n), unit="s"),
            "nullable": pd.array([1, None, 3, 1] * 3, dtype="Int64"),
            "category": pd.Categorical(["x", "y", None, "x"] * 3),
        }
    )


def test_the_content_hash_is_the_cell_by_cell_one_on_every_kind_of_column() -> None:
    """Faster, not different: a user's unchanged corpus stays "up to date" (run keys)."""
    from pipeline.stages.ingest import frame_hash

    frame = every_kind_of_column()
    assert frame_hash(frame) == reference_frame_hash(frame)
    for column in frame.columns:  # each kind alone, and a change in each is seen
        one = frame[[column]]
        assert frame_hash(one) == reference_frame_hash(one), column
        assert frame_hash(one.iloc[::-1]) != frame_hash(one) or one.nunique().iloc[0] <= 1
    assert frame_hash(frame.head(0)) == reference_frame_hash(frame.head(0))
    for name in BUNDLED:
        docs = ingest(resolve_input(name)[0], name, IngestConfig()).docs
        assert frame_hash(docs) == reference_frame_hash(docs), name
