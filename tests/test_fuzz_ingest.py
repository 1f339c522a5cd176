"""Hypothesis fuzzing of every ingest parser: a valid corpus or a clean UserError, nothing else."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.config import IngestConfig
from pipeline.errors import UserError
from pipeline.stages.ingest import Corpus, ingest

EXTENSIONS = [".txt", ".csv", ".tsv", ".jsonl", ".json", ".parquet", ""]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text_values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="ab <>\"',\t\n\r\\{}[]é漢🙂\x00", max_size=40),
    st.just("x" * 5000),  # giant field
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
)
keys = st.sampled_from(
    ["title", "abstract", "text", "date", "id", "url", "extra", "Year", "", "tópic"]
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
)


def check(path: Path) -> None:
    try:
        corpus = ingest(path, "fuzz", IngestConfig())
    except UserError as exc:
        event("clean error")
        msg = str(exc)
        assert msg and "\n" not in msg.strip(), msg
        assert str(path) in msg or path.name in msg, msg
        return
    event("valid corpus")
    assert isinstance(corpus, Corpus)
    assert len(corpus.docs) >= 20
    assert corpus.docs["doc_id"].notna().all()
    assert ((corpus.docs["title"] != "") | (corpus.docs["text"] != "")).all()


def _tmp(ext: str, data: bytes) -> Path:
    d = Path(tempfile.mkdtemp(prefix="fuzz-"))
    p = d / f"corpus{ext}"
    p.write_bytes(data)
    return p


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
    buf = io.StringIO()
    cols = sorted({k for r in rows for k in r})
    writer = csv.writer(buf, delimiter=sep)
    writer.writerow(cols)
    for r in rows:
        writer.writerow([r.get(c, "") for c in cols])
    check(_tmp(".csv" if sep == "," else ".tsv", buf.getvalue().encode(encoding, errors="replace")))


@FUZZ
@given(
    rows=records,
    as_lines=st.booleans(),
    garbage=st.sampled_from(["", "{", "]", "null", "[1,2]", '"str"']),
)
def test_random_json(rows: list[dict], as_lines: bool, garbage: str) -> None:
    if as_lines:
        body = "\n".join(json.dumps(r) for r in rows) + ("\n" + garbage if garbage else "")
        check(_tmp(".jsonl", body.encode()))
    else:
        body = json.dumps(rows) if not garbage else json.dumps(rows)[:-1] + garbage
        check(_tmp(".json", body.encode()))


@FUZZ
@given(rows=records)
def test_random_parquet(rows: list[dict]) -> None:
    df = pd.DataFrame.from_records(rows)
    df = df.astype({c: "string" for c in df.columns}) if len(df.columns) else df
    buf = io.BytesIO()
    try:
        df.to_parquet(buf)
    except Exception:  # pyarrow cannot store some frames at all; nothing to test then
        return
    check(_tmp(".parquet", buf.getvalue()))


@FUZZ
@given(lines=st.lists(st.text(max_size=80), max_size=80))
def test_random_trending_text(lines: list[str]) -> None:
    check(_tmp(".txt", ("\n".join(lines)).encode("utf-8", errors="replace")))
