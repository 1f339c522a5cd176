"""Hypothesis fuzzing of every ingest parser: a valid corpus or a clean UserError, nothing else.

Any other exception fails the test; so does a fuzzer that can only ever produce rejected files
(``test_the_fuzzers_writers_make_ingestible_files``).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from pipeline.config import IngestConfig
from pipeline.errors import UserError
from pipeline.stages.dates import EARLIEST, LATEST, MAX_SPAN_YEARS
from pipeline.stages.ingest import Corpus, ingest

EXTENSIONS = [".txt", ".csv", ".tsv", ".jsonl", ".json", ".parquet", ""]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text_values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="ab <>\"',\t\n\r\\{}[]é漢🙂\x00", max_size=40),
    st.just("x" * 5000),  # giant field
    st.just('y, "z" ' * 20_000),  # over csv's default 128 KiB field limit
    st.sampled_from(["2300-01-01", "1500", "1679-12-31", "1680-01-01", "2249-12-31", "2024-02"]),
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
)
date_values = st.one_of(
    st.none(),
    st.sampled_from(["2300-01-01", "1500", "1679-12-31", "1680-01-01", "2249-12-31", "2024-02"]),
    st.dates().map(str),
)
keys = st.sampled_from(
    [
        "title",
        "abstract",
        "text",
        "date",
        "id",
        "url",
        "extra",
        "Year",
        "",
        "tópic",
        "added_step",
        "topic",
        "meta_topic",
    ]
)
records = st.one_of(
    st.lists(st.dictionaries(keys, text_values, max_size=6), max_size=40),
    # Big enough to pass the size check, so the success path is fuzzed too.
    st.lists(
        st.fixed_dictionaries(
            {"title": st.text(min_size=1, max_size=50), "abstract": text_values},
            optional={"date": text_values, "id": text_values},
        ),
        min_size=22,
        max_size=50,
    ),
    # Every date readable, so the column reaches the range and span checks.
    st.lists(
        st.fixed_dictionaries(
            {"title": st.text(min_size=1, max_size=50), "abstract": st.text(), "date": date_values}
        ),
        min_size=22,
        max_size=30,
    ),
)


def _event(name: str) -> None:
    if currently_in_test_context():  # hypothesis counts outcomes only inside a @given test
        event(name)


def check(path: Path) -> str:
    """Ingest ``path``: a valid corpus, or the one documented error (a one-line ``UserError``
    naming the file). Any other exception, subclasses of ``UserError`` included, fails."""
    try:
        corpus = ingest(path, "fuzz", IngestConfig())
    except UserError as exc:
        assert type(exc) is UserError, repr(exc)
        _event("clean error")
        msg = str(exc)
        assert msg and "\n" not in msg.strip(), msg
        assert str(path) in msg or path.name in msg, msg
        return "error"
    _event("valid corpus")
    assert isinstance(corpus, Corpus)
    assert len(corpus.docs) >= 20
    assert corpus.docs["doc_id"].notna().all()
    assert ((corpus.docs["title"] != "") | (corpus.docs["text"] != "")).all()
    assert corpus.docs.columns.is_unique, list(corpus.docs.columns)
    dates = corpus.docs["date"].dropna()
    if len(dates):  # every date fits the range binning can handle
        assert dates.min().date() >= EARLIEST and dates.max().date() <= LATEST
        assert (dates.max() - dates.min()).days <= MAX_SPAN_YEARS * 366
    return "valid"


def _tmp(ext: str, data: bytes) -> Path:
    d = Path(tempfile.mkdtemp(prefix="fuzz-"))
    p = d / f"corpus{ext}"
    p.write_bytes(data)
    return p


def write_csv(rows: list[dict], sep: str = ",", encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    cols = sorted({k for r in rows for k in r})
    writer = csv.writer(buf, delimiter=sep)
    writer.writerow(cols)
    for r in rows:
        writer.writerow([r.get(c, "") for c in cols])
    ext = ".csv" if sep == "," else ".tsv"
    return _tmp(ext, buf.getvalue().encode(encoding, errors="replace"))


def write_json(rows: list[dict], as_lines: bool = False, garbage: str = "") -> Path:
    if as_lines:
        body = "\n".join(json.dumps(r) for r in rows) + ("\n" + garbage if garbage else "")
        return _tmp(".jsonl", body.encode())
    body = json.dumps(rows) if not garbage else json.dumps(rows)[:-1] + garbage
    return _tmp(".json", body.encode())


def write_parquet(rows: list[dict]) -> Path:
    df = pd.DataFrame.from_records(rows)
    df = df.astype({c: "string" for c in df.columns}) if len(df.columns) else df
    buf = io.BytesIO()
    df.to_parquet(buf)
    return _tmp(".parquet", buf.getvalue())


PAPERS = [
    {
        "title": f"Paper {i} on {topic}",
        "abstract": f"We study {topic} with method {i}.",
        "date": f"2023-{i % 12 + 1:02d}-01",
    }
    for i, topic in enumerate(["galaxies", "genomes", "bonds", "recipes"] * 6)
]


@pytest.mark.parametrize(
    "write",
    [
        write_csv,
        lambda rows: write_csv(rows, "\t", "utf-8-sig"),
        write_json,
        lambda rows: write_json(rows, as_lines=True),
        write_parquet,
    ],
    ids=["csv", "tsv-bom", "json", "jsonl", "parquet"],
)
def test_the_fuzzers_writers_make_ingestible_files(write: Callable[[list[dict]], Path]) -> None:
    """The success path is reachable: a fuzzer whose every file is rejected would pass on an
    ``ingest`` that rejects everything."""
    assert check(write(PAPERS)) == "valid"
    assert check(write(PAPERS[:5])) == "error"  # too few documents: the clean error


@FUZZ
@given(data=st.binary(max_size=3000), ext=st.sampled_from(EXTENSIONS))
def test_random_bytes(data: bytes, ext: str) -> None:
    check(_tmp(ext, data))


@FUZZ
@given(
    rows=records,
    sep=st.sampled_from([",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]),
)
def test_random_csv(rows: list[dict], sep: str, encoding: str) -> None:
    check(write_csv(rows, sep, encoding))


@FUZZ
@given(
    rows=records,
    as_lines=st.booleans(),
    garbage=st.sampled_from(["", "{", "]", "null", "[1,2]", '"str"']),
)
def test_random_json(rows: list[dict], as_lines: bool, garbage: str) -> None:
    check(write_json(rows, as_lines, garbage))


@FUZZ
@given(rows=records)
def test_random_parquet(rows: list[dict]) -> None:
    # Every column is a string column, which pyarrow always stores: a failure to write is a
    # failure of the test, not a case to skip.
    check(write_parquet(rows))


@FUZZ
@given(lines=st.lists(st.text(max_size=80), max_size=80))
def test_random_trending_text(lines: list[str]) -> None:
    check(_tmp(".txt", ("\n".join(lines)).encode("utf-8", errors="replace")))
