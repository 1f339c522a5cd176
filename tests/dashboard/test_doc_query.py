"""dashboard.doc_query: sort, page, look up and export documents over Parquet with DuckDB;
dashboard.export: the tickets of the streamed CSV export."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard import export
from dashboard.doc_query import DocQuery, QueryError

N = 23  # odd, so the last page is short


@pytest.fixture
def docs() -> pd.DataFrame:
    titles = [f"Doc {i:02d}" for i in range(N)]
    titles[3] = "=HYPERLINK(evil)"
    titles[4] = "Graph NEURAL networks"
    texts = [f"body {i}" for i in range(N)]
    texts[7] = "message passing on graphs, with a c++ kernel (fast)"
    texts[9] = "@SUM(A1) and neural nets"
    dates = pd.to_datetime([f"2020-01-{1 + i % 28:02d}" for i in range(N)])
    dates = dates.where(np.arange(N) % 5 != 0)  # some undated
    return pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(N)],
            "title": titles,
            "text": texts,
            "date": dates,
            "date_precision": ["day"] * N,
            "url": ["javascript:alert(1)" if i == 2 else f"https://x.org/{i}" for i in range(N)],
            "topic": np.arange(N) % 3 - 1,
            "topic_prob": np.linspace(0, 1, N).astype(np.float32),
            "x": np.linspace(-1, 1, N).astype(np.float32),
            "y": np.zeros(N, dtype=np.float32),
            "venue": ["-minus" if i % 2 else "ok" for i in range(N)],
        }
    )


@pytest.fixture
def query(tmp_path: Path, docs: pd.DataFrame) -> DocQuery:
    docs.to_parquet(tmp_path / "documents.parquet", row_group_size=8)
    return DocQuery(tmp_path / "documents.parquet", "arxiv", {-1: "Outliers", 0: "zero", 1: "one"})


def test_pages_cover_every_row_once_in_order(query):
    seen = []
    for offset in range(0, N, 10):
        seen += query.page(None, offset=offset, limit=10)["_row"].tolist()
    assert seen == list(range(N))
    assert len(query.page(None, offset=20, limit=10)) == 3


def test_sort_on_the_server_with_missing_values_last(query, docs):
    page = query.page(None, "date", descending=True, limit=N)
    dated = docs["date"].notna()
    expected = docs[dated].sort_values("date", ascending=False, kind="stable")
    assert page["_row"].tolist()[: dated.sum()] == sorted(
        expected.index, key=lambda i: (-docs["date"][i].value, i)
    )
    assert page["date"].iloc[dated.sum() :].isna().all()  # NULLS LAST
    by_label = query.page(None, "topic_label", limit=N)["topic_label"].tolist()
    assert by_label == sorted(by_label)


def test_a_selection_is_paged_and_sorted_within_itself(query):
    rows = np.array([20, 3, 11, 5, 17])
    page = query.page(rows, "topic_prob", descending=True, offset=1, limit=2)
    assert page["_row"].tolist() == [17, 11]
    assert query.count(rows) == 5 and query.count(None) == N
    assert query.page(np.array([], dtype=np.int64)).empty


def test_an_unknown_sort_column_is_file_order_never_sql(query):
    assert "text" not in query.sortable() and "x" not in query.sortable()
    for bad in ('title"; DROP TABLE labels; --', "text", "x", "nope"):
        assert query.page(None, bad, limit=3)["_row"].tolist() == [0, 1, 2]
    assert query.page(None, "topic", limit=1)["topic_label"].tolist() == ["Outliers"]


def test_rows_come_back_in_the_order_asked_with_labels_and_safe_links(query):
    got = query.at([9, 2, 4], text=True)
    assert got["_row"].tolist() == [9, 2, 4]
    assert got["text"].iloc[0] == "@SUM(A1) and neural nets"
    assert got["url"].iloc[1] is None  # javascript: is not a link
    assert got["topic_label"].tolist() == ["Outliers", "one", "zero"]
    assert "text" not in query.at([1]).columns


@pytest.mark.parametrize(
    ("words", "rows"),
    [
        ("neural", [4, 9]),
        ("NEURAL graph", [4]),
        ("c++ (fast)", [7]),  # regex characters are literal
        ("graphs, kernel", [7]),
        ("absent", []),
        ("", list(range(N))),
    ],
)
def test_keyword_search_needs_every_word_in_title_or_text(query, docs, words, rows):
    assert query.keyword_rows(words).tolist() == rows
    blob = (docs["title"] + "\n" + docs["text"]).str.lower()
    expected = np.ones(N, dtype=bool)
    for w in words.lower().split():
        expected &= blob.str.contains(w, regex=False).to_numpy()
    assert np.flatnonzero(expected).tolist() == rows  # the in-memory rule it replaces


def test_csv_export_streams_every_row_in_small_chunks_spreadsheet_safe(query, docs):
    chunks = list(query.csv_chunks(None, batch_rows=4))
    assert len(chunks) >= N // 4  # streamed, not one block
    back = pd.read_csv(io.BytesIO(b"".join(chunks)), dtype={"doc_id": str})
    assert back["doc_id"].tolist() == docs["doc_id"].tolist()
    assert back["title"].iloc[3] == "'=HYPERLINK(evil)"
    assert back["text"].iloc[9] == "'@SUM(A1) and neural nets"
    assert back["venue"].iloc[1] == "'-minus"
    assert pd.isna(back["url"].iloc[2]) and back["url"].iloc[1] == "https://x.org/1"
    assert back["x"].tolist() == pytest.approx(docs["x"].tolist())  # numbers stay numbers
    assert {"text", "topic_label"} <= set(back.columns)


def test_csv_of_a_selection_and_of_a_ranked_search(query):
    back = pd.read_csv(io.BytesIO(b"".join(query.csv_chunks(np.array([5, 1]), batch_rows=1))))
    assert back["doc_id"].tolist() == ["d1", "d5"]
    empty = pd.read_csv(io.BytesIO(b"".join(query.csv_chunks(np.array([], dtype=np.int64)))))
    assert empty.empty and "title" in empty.columns
    ranked = b"".join(query.csv_chunks(np.array([7, 2]), {"similarity": np.array([0.9, 0.5])}))
    back = pd.read_csv(io.BytesIO(ranked))
    assert back["doc_id"].tolist() == ["d7", "d2"] and back["similarity"].tolist() == [0.9, 0.5]


def test_scratch_space_is_outside_the_cache(query, tmp_path):
    assert query.scratch.is_dir()
    assert tmp_path not in query.scratch.parents
    assert Path(tempfile.gettempdir()) in query.scratch.parents


def test_query_errors_name_the_run_never_a_server_path(tmp_path, docs):
    run_dir = tmp_path / "srv" / "cache" / ".store" / "runs" / "arxiv" / "b1"
    run_dir.mkdir(parents=True)
    (run_dir / "documents.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(QueryError) as err:
        DocQuery(run_dir / "documents.parquet", "arxiv", {})
    message = str(err.value)
    assert "arxiv" in message and str(tmp_path) not in message and "/srv/" not in message
    docs.to_parquet(run_dir / "documents.parquet")
    query = DocQuery(run_dir / "documents.parquet", "arxiv", {})
    (run_dir / "documents.parquet").write_bytes(b"gone")
    with pytest.raises(QueryError) as err:
        query.page(None)
    assert str(tmp_path) not in str(err.value) and "arxiv" in str(err.value)


def test_export_tickets_are_bound_to_the_user_and_expire(query):
    token = export.issue(query, np.array([1, 2]), "a.csv", user="ann@x.org", now=1000.0)
    assert export.redeem(token, "ann@x.org", now=1001.0) is not None
    assert export.redeem(token, "bob@x.org", now=1001.0) is None  # not yours
    assert export.redeem(token, "", now=1001.0) is None  # signed out
    assert export.redeem("guess", "ann@x.org", now=1001.0) is None
    assert export.alive(token, now=1001.0) and not export.alive(token, now=1000.0 + export.TTL)
    assert export.redeem(token, "ann@x.org", now=1000.0 + export.TTL) is None  # expired
    ticket = export.redeem(export.issue(query, None, "all.csv", now=0.0), "", now=1.0)
    assert ticket is not None and ticket.rows is None
    assert b"".join(ticket.chunks()).count(b"\n") == N + 1  # header + every row


def test_export_keeps_only_the_newest_tickets(query):
    tokens = [export.issue(query, None, "a.csv", now=0.0) for _ in range(export.MAX_TICKETS + 3)]
    assert export.redeem(tokens[0], "", now=1.0) is None
    assert export.redeem(tokens[-1], "", now=1.0) is not None


def test_curated_topics_replace_the_files_own(tmp_path, docs):
    docs.to_parquet(tmp_path / "documents.parquet", row_group_size=8)
    curated = np.where(docs["topic"].to_numpy() == 1, 0, docs["topic"].to_numpy())  # 1 -> 0
    query = DocQuery(tmp_path / "documents.parquet", "arxiv", {-1: "O", 0: "zero"}, curated)
    page = query.page(None, limit=N)
    assert page["topic"].tolist() == curated.tolist()
    assert set(page["topic_label"]) == {"O", "zero"}
    back = pd.read_csv(io.BytesIO(b"".join(query.csv_chunks(None, batch_rows=5))))
    assert back["topic"].tolist() == curated.tolist() and len(back) == N
