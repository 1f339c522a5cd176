"""Document tables on the server: sort, page, look up and export over a run's Parquet file.

No Streamlit here. One ``DocQuery`` per run, shared by every session (``RunData.query``).

DuckDB rather than pyarrow compute, because:

- ``ORDER BY … LIMIT n OFFSET k`` is a top-N: a page of a million matching rows is found
  without sorting or holding them (``pyarrow.compute.sort_indices`` sorts every row);
- the rows the sidebar filters chose join as an Arrow table, without a copy;
- the keyword search (every word in the title or text) scans the Parquet file column by
  column, so the server keeps no lower-cased copy of every document's text in memory;
- a result streams in record batches (the CSV export of every matching row) and a sort
  larger than ``memory_limit`` spills to a scratch directory, which lives in the
  dashboard's scratch directory (``mapped.scratch_dir``), never in the (read-only) cache.

Row numbers (``_row``) are positions in ``documents.parquet``, the same positions as
``RunData.docs`` and the embeddings, so filters computed elsewhere select rows here. A
curated run (``pipeline.curation``: merges move documents) passes each row's curated
topic, which replaces the file's ``topic`` column here.
Identifiers in SQL come only from the file's own schema (``sortable``); values are bound
parameters. A DuckDB error becomes a ``QueryError`` whose message names the run, never a
server path.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from dashboard import mapped, safety

PAGE_COLUMNS = ("doc_id", "title", "date", "date_precision", "url", "topic", "topic_prob")
HIDDEN = ("x", "y")  # map coordinates: in the export, not sortable in the tables
OUTLIER_LABEL = "Outliers"  # the label of topic -1, and of a topic the run does not list
BATCH_ROWS = 8192  # rows per CSV chunk: bounds the export's memory whatever the run's size


class QueryError(Exception):
    """A query failed; the message names the run and says nothing of the server's paths."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DocQuery:
    """SQL over one run's ``documents.parquet`` (read-only), with topic labels joined."""

    def __init__(
        self,
        parquet: Path,
        name: str,
        labels: Mapping[int, str],
        topics: np.ndarray | None = None,
        *,
        memory_limit: str = "256MB",
        threads: int = 2,
        scratch: Path | None = None,
    ) -> None:
        self.name = name
        self._known = {str(parquet.parent): name, str(parquet.parent.resolve()): name}
        self._lock = threading.Lock()
        config = {
            "temp_directory": self._temp_directory(scratch or mapped.scratch_dir()),
            "memory_limit": memory_limit,
            "threads": threads,
        }
        self._con = duckdb.connect(":memory:", config=config)
        source = f"read_parquet({_literal(str(parquet))}, file_row_number = true)"
        if topics is None:
            sql = f"SELECT * EXCLUDE (file_row_number), file_row_number AS _row FROM {source}"
        else:  # the curated topic of each row, in file order, instead of the file's own
            self._con.register("_topics_in", pa.table({"topic": np.asarray(topics, np.int64)}))
            self._run(self._con, "CREATE TABLE curated AS SELECT * FROM _topics_in")
            self._con.unregister("_topics_in")
            sql = (
                "SELECT p.* EXCLUDE (file_row_number, topic), c.topic, "
                f"p.file_row_number AS _row FROM {source} p POSITIONAL JOIN curated c"
            )
        self._run(self._con, f"CREATE VIEW docs AS {sql}")
        topics = pa.table(
            {
                "topic": pa.array([int(t) for t in labels], pa.int64()),
                "topic_label": pa.array([str(v) for v in labels.values()], pa.string()),
            }
        )
        self._con.register("_labels_in", topics)
        self._run(self._con, "CREATE TABLE labels AS SELECT * FROM _labels_in")
        self._con.unregister("_labels_in")
        schema = self._run(self._con, "DESCRIBE docs").fetchall()
        self.columns = [str(r[0]) for r in schema if r[0] != "_row"]
        self.rows = int(self._run(self._con, "SELECT count(*) FROM docs").fetchone()[0])

    # ------------------------------------------------------------------ plumbing
    def _temp_directory(self, scratch: Path) -> str:
        """A directory of its own under the dashboard's scratch directory, removed with this
        object; '' (nothing spills: a sort larger than ``memory_limit`` fails with a
        ``QueryError``) when the scratch directory cannot be used, said once in the log."""
        try:
            temp = Path(tempfile.mkdtemp(prefix="duckdb-", dir=mapped.private_dir(scratch)))
        except OSError as exc:
            mapped.LOG.warning(
                "DuckDB spills nothing to disk (%s); set %s to a writable directory",
                str(exc).splitlines()[0],
                mapped.ENV_SCRATCH,
            )
            return ""
        weakref.finalize(self, shutil.rmtree, temp, True)
        return str(temp)

    def _cursor(self, rows: np.ndarray | None = None) -> duckdb.DuckDBPyConnection:
        with self._lock:
            cur = self._con.cursor()
        if rows is not None:
            cur.register("sel", pa.table({"row": np.asarray(rows, dtype=np.int64)}))
        return cur

    def _run(self, cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return cur.execute(sql, list(params))
        except duckdb.Error as exc:
            raise QueryError(self.public(f"{self.name}: query failed ({exc})")) from None

    def public(self, text: str) -> str:
        """``text`` with the run's directory named by the run, any other path by its last part."""
        return safety.redact(text, self._known)

    @property
    def scratch(self) -> Path | None:
        """DuckDB's temp directory (spilled sorts), as DuckDB has it: under the dashboard's
        scratch directory (``mapped.scratch_dir``), not the cache; None when there is none."""
        sql = "SELECT current_setting('temp_directory')"
        value = self._run(self._cursor(), sql).fetchone()[0]
        return Path(value) if value else None

    def sortable(self) -> list[str]:
        """Columns a table may be sorted by: every column of the file but text and map
        coordinates, plus the topic's label."""
        return [c for c in self.columns if c not in ("text", *HIDDEN)] + ["topic_label"]

    @staticmethod
    def _where(rows: np.ndarray | None) -> str:
        return "" if rows is None else " WHERE _row IN (SELECT row FROM sel)"

    # ------------------------------------------------------------------ queries
    def keyword_rows(self, query: str) -> np.ndarray:
        """Rows whose lower-cased title + newline + text contain every word of ``query``."""
        words = query.lower().split()
        if not words:
            return np.arange(self.rows, dtype=np.int64)
        # a word has no whitespace, so it matches within the title or within the text; RE2's
        # case-insensitive match is several times faster than lower() over the whole text
        one = "(regexp_matches(title, ?, 'i') OR regexp_matches(text, ?, 'i'))"
        where = " AND ".join(one for _ in words)
        params = [p for w in words for p in (re.escape(w),) * 2]
        cur = self._cursor()
        out = self._run(cur, f"SELECT _row FROM docs WHERE {where} ORDER BY _row", params)
        return out.fetchnumpy()["_row"].astype(np.int64)

    def page(
        self,
        rows: np.ndarray | None,
        sort: str = "_row",
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> pd.DataFrame:
        """One page of documents: those in ``rows`` (None: every document), ordered by
        ``sort`` (a ``sortable`` column, else file order) then row, ``limit`` from ``offset``."""
        key = sort if sort in self.sortable() else "_row"
        direction = "DESC" if descending else "ASC"
        order = f"{_ident(key)} {direction} NULLS LAST, _row" if key != "_row" else "_row"
        if descending and key == "_row":
            order = "_row DESC"
        cols = ", ".join(_ident(c) for c in PAGE_COLUMNS if c in self.columns)
        sql = (
            f"SELECT {cols}, topic_label, _row FROM docs LEFT JOIN labels USING (topic)"
            f"{self._where(rows)} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        cur = self._cursor(rows)
        frame = self._run(cur, sql, [max(0, int(limit)), max(0, int(offset))]).df()
        return _tidy(frame)

    def at(self, rows: Sequence[int] | np.ndarray, *, text: bool = False) -> pd.DataFrame:
        """The documents at ``rows``, in that order (page columns, and ``text`` if asked)."""
        order = np.asarray(rows, dtype=np.int64)
        names = [*PAGE_COLUMNS, "text"] if text else list(PAGE_COLUMNS)
        cols = ", ".join(_ident(c) for c in names if c in self.columns)
        cur = self._cursor(order)
        sql = (
            f"SELECT {cols}, topic_label, _row FROM docs LEFT JOIN labels USING (topic)"
            f"{self._where(order)}"
        )
        frame = _tidy(self._run(cur, sql).df())
        if not len(order):
            return frame
        frame = frame.set_index("_row", drop=False).reindex(order)
        return frame.dropna(subset=["_row"]).reset_index(drop=True)

    def count(self, rows: np.ndarray | None) -> int:
        return self.rows if rows is None else int(len(rows))

    def csv_chunks(
        self,
        rows: np.ndarray | None,
        extra: Mapping[str, np.ndarray] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> Iterator[bytes]:
        """The CSV of every document in ``rows`` (None: all), every column, in file order,
        ``batch_rows`` at a time: the header, then one chunk per batch. Text a spreadsheet
        would run is quoted (``safety.spreadsheet_safe``); links other than http(s) are
        dropped. ``extra`` (a search's similarity) puts those rows first, in their order."""
        if extra:
            yield from self._csv_ranked(np.asarray(rows, dtype=np.int64), extra)
            return
        cols = [c for c in self.columns]
        select = ", ".join(_ident(c) for c in cols)
        sql = (
            f"SELECT {select}, topic_label FROM docs LEFT JOIN labels USING (topic)"
            f"{self._where(rows)} ORDER BY _row"
        )
        cur = self._cursor(rows)
        first = True
        try:
            for batch in cur.sql(sql).to_arrow_reader(batch_rows):
                yield _csv(batch.to_pandas(), header=first)
                first = False
        except duckdb.Error as exc:
            raise QueryError(self.public(f"{self.name}: export failed ({exc})")) from None
        if first:
            yield _csv(pd.DataFrame(columns=[*cols, "topic_label"]), header=True)

    def _csv_ranked(self, rows: np.ndarray, extra: Mapping[str, np.ndarray]) -> Iterator[bytes]:
        cols = ", ".join(_ident(c) for c in self.columns)
        sql = (
            f"SELECT {cols}, topic_label, _row FROM docs LEFT JOIN labels USING (topic)"
            f"{self._where(rows)}"
        )
        frame = self._run(self._cursor(rows), sql).df().set_index("_row").reindex(rows)
        frame = frame.reset_index(drop=True).assign(**{k: np.asarray(v) for k, v in extra.items()})
        yield _csv(frame, header=True)


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Page rows as the tables show them: text never missing, only http(s) links."""
    for col in ("title", "text"):
        if col in frame.columns:
            frame[col] = frame[col].fillna("").astype(str)
    if "url" in frame.columns:
        frame["url"] = pd.Series(
            [safety.safe_url(v) for v in frame["url"]], index=frame.index, dtype=object
        )
    if "topic_label" in frame.columns:
        frame["topic_label"] = frame["topic_label"].fillna(OUTLIER_LABEL).astype(str)
    return frame


def _csv(frame: pd.DataFrame, *, header: bool) -> bytes:
    frame = _tidy(frame)
    return safety.spreadsheet_safe(frame).to_csv(index=False, header=header).encode("utf-8")
