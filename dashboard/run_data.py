"""One run's artifacts, read once and shared. No Streamlit here.

``RunData`` reads each artifact once, through ``pipeline.artifacts.open_run`` (which checks
the schema version and every checksum), and keeps it; one instance is shared by every
session looking at that run (``loaders.run_data`` caches it), so nothing in here may be
mutated by a caller. The per-document values derived from the documents alone (date
strings) live here too, next to the frame they read; the map's hover text is built for the
drawn points only (``map_figures.hover_texts``).

What grows with the corpus stays out of the server's heap: ``docs`` holds every column of
``documents.parquet`` but the text (the bulk of a run: about 0.6 GB at a million
abstracts), written once to an Arrow file in the scratch directory and read through a
memory map (``mapped``); the text is read through
``query`` (DuckDB over the Parquet file) for the tables, a document's preview, the keyword
search and the CSV export; the embeddings are a read-only memory map (``embeddings``)
searched through ``index``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from dashboard import mapped
from dashboard.doc_query import OUTLIER_LABEL, DocQuery
from dashboard.facet_data import as_strings, facet_kind
from dashboard.safety import safe_url
from dashboard.search_index import VectorIndex
from pipeline.curation.log import CurationError, read_log
from pipeline.curation.themes import curated_hierarchy
from pipeline.curation.view import Overlay
from pipeline.errors import CacheError
from pipeline.store.artifacts import RunHandle, open_run
from pipeline.store.cache import Store
from pipeline.store.contract import (
    DOCUMENTS_FILE,
    EMBEDDINGS_FILE,
    HIERARCHY_FILE,
    HISTORY_FILE,
    KEYWORDS_FILE,
    LINEAGE_FILE,
    OUTLIER,
    OVER_TIME_FILE,
    REQUIRED_COLUMNS,
    TOPIC_EMBEDDINGS_FILE,
    TOPICS_FILE,
    TRENDS_FILE,
)


@dataclass(frozen=True)
class RunEntry:
    """A run under the cache root: its name (the directory name) and its path."""

    name: str
    path: Path


def list_runs(root: Path) -> list[RunEntry]:
    """Every run under ``root/runs``, by name; the only runs a URL may ask for."""
    return [RunEntry(p.name, p) for p in Store(root).list_runs()]


class RunData:
    """A verified run; each artifact is read on first use and kept (thread-safe, read-only)."""

    def __init__(
        self,
        handle: RunHandle,
        curation: Path | None = None,
        key: str | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.handle = handle
        self.path = handle.path
        self.manifest = handle.manifest
        self.curation = curation  # the curation directory (docs/curation.md), if any
        self._key = key  # the loaders' key: the run_key plus the curation log's version
        self._scratch = scratch  # the scratch directory, else mapped.scratch_dir()
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}

    @classmethod
    def open(
        cls,
        path: Path,
        curation: Path | None = None,
        key: str | None = None,
        scratch: Path | None = None,
    ) -> RunData:
        return cls(open_run(path), curation, key, scratch)

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._memo:
                self._memo[name] = load()
            return self._memo[name]

    def _optional_table(self, name: str, file: str) -> pd.DataFrame | None:
        """A table only some runs hold (older runs, first builds): read once, else None."""
        if not self.handle.has(file):
            return None
        return self._once(name, lambda: self.handle.read_table(file))

    # ---------------------------------------------------------------- manifest
    @property
    def name(self) -> str:
        return self.handle.name

    @property
    def run_key(self) -> str:
        return self._key or str(self.manifest.get("run_key", ""))

    @property
    def dated(self) -> bool:
        return bool(self.manifest.get("dated")) and self.handle.has(OVER_TIME_FILE)

    @property
    def metadata_columns(self) -> list[str]:
        cols = self.manifest.get("corpus", {}).get("metadata_columns") or []
        return [c for c in cols if c in self.docs.columns]

    # ---------------------------------------------------------------- artifacts
    @property
    def build_topics(self) -> pd.DataFrame:
        """``topics.parquet`` as built, before curation (the write path checks edits on it)."""
        return self._once(
            "build_topics",
            lambda: self.handle.read_table(TOPICS_FILE).sort_values("topic").reset_index(drop=True),
        )

    @property
    def overlay(self) -> Overlay:
        """The team's curation of this build (``pipeline.curation``), applied on read."""

        def load() -> Overlay:
            try:
                entries = read_log(self.curation, self.name)
            except CurationError as exc:  # shown by the pages; the run as built meanwhile
                self._memo["curation_problem"] = str(exc)
                entries = []
            return Overlay.of(
                entries, self.manifest, self.build_topics, self.lineage, self.topic_history
            )

        return self._once("overlay", load)

    @property
    def curation_problem(self) -> str | None:
        _ = self.overlay
        return self._memo.get("curation_problem")

    @property
    def topics(self) -> pd.DataFrame:
        """The topic table as curated: curated labels, merged sizes, hidden topics left out."""
        return self._once("topics", lambda: self.overlay.topics(self.build_topics))

    @property
    def labels(self) -> dict[int, str]:
        """Topic id -> label (curated first), with the outlier pseudo-topic; topics merged
        away or hidden keep an entry, so older tables that name them still read."""

        def labels() -> dict[int, str]:
            state = self.overlay.state
            raw = self.build_topics
            out = {
                int(t): state.labels.get(int(t), str(lab))
                for t, lab in zip(raw["topic"], raw["label"], strict=True)
            }
            out.update(
                zip(self.topics["topic"].astype(int), self.topics["label"].astype(str), strict=True)
            )
            return {OUTLIER: OUTLIER_LABEL, **out}

        return self._once("labels", labels)

    @property
    def docs(self) -> pd.DataFrame:
        """Every column of ``documents.parquet`` but the text, as curated (topics, labels),
        with safe links and date strings: read through a memory map (``mapped``)."""
        return self._once("docs", self._load_docs)

    def _load_docs(self) -> pd.DataFrame:
        path = self.handle.verify(DOCUMENTS_FILE)
        built = self._read_topics(path)
        self._memo["build_doc_topics"] = built
        curated = self.overlay.doc_topics(built)
        meta = self.manifest.get("corpus", {}).get("metadata_columns") or []
        key = mapped.key_of(
            "documents",
            str(self.manifest["artifacts"][DOCUMENTS_FILE].get("sha256", "")),
            json.dumps(sorted(self.labels.items())),
            json.dumps(meta),
            curated.tobytes() if self.overlay.state.membership_changed else b"",
        )
        self._memo["docs_key"] = key
        return mapped.frame(self.scratch, key, lambda: self._prepare_docs(curated))

    def _read_topics(self, path: Path) -> np.ndarray:
        """The build's topic of each document (only that column is decoded)."""
        try:
            names = pq.read_schema(path, memory_map=True).names
            missing = [c for c in REQUIRED_COLUMNS[DOCUMENTS_FILE] if c not in names]
            if missing:
                raise self.handle._fail(f"{path}: missing columns {missing}")
            topic = pq.read_table(path, columns=["topic"], memory_map=True).column("topic")
            return np.asarray(topic.to_numpy(), dtype=np.int64)
        except CacheError:
            raise
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise self.handle._fail(
                f"{path}: unreadable Parquet ({str(exc).splitlines()[0]})"
            ) from None

    def _prepare_docs(self, topics: np.ndarray) -> pd.DataFrame:
        """The frame ``docs`` maps, built from the Parquet file (once per scratch file)."""
        docs = self.read_documents(text=False)
        labels = self.labels
        docs["topic"] = topics
        docs["topic_label"] = docs["topic"].map(labels).fillna(OUTLIER_LABEL).astype(str)
        docs["url"] = pd.Series([safe_url(v) for v in docs["url"]], index=docs.index, dtype=str)
        docs["title"] = docs["title"].fillna("").astype(str)
        docs["date_str"] = date_strings(docs["date"], docs["date_precision"])
        meta = self.manifest.get("corpus", {}).get("metadata_columns") or []
        for col in meta:
            if (
                col in docs.columns
                and facet_kind(docs[col]) == "categorical"
                and not pd.api.types.is_numeric_dtype(docs[col])
            ):
                docs[col] = as_strings(docs[col])
        return docs

    def read_documents(self, *, text: bool = True) -> pd.DataFrame:
        """``documents.parquet`` as a new frame (verified; memory-mapped while read), with
        or without the ``text`` column. ``docs`` is the shared one without it."""
        path = self.handle.verify(DOCUMENTS_FILE)
        try:
            names = pq.read_schema(path, memory_map=True).names
            cols = [c for c in names if text or c != "text"]
            docs = pq.read_table(path, columns=cols, memory_map=True).to_pandas()
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise self.handle._fail(
                f"{path}: unreadable Parquet ({str(exc).splitlines()[0]})"
            ) from None
        missing = [c for c in REQUIRED_COLUMNS[DOCUMENTS_FILE] if c not in names]
        if missing:
            raise self.handle._fail(f"{path}: missing columns {missing}")
        return docs

    @property
    def scratch(self) -> Path:
        """Where the memory-mapped files of this run go (``mapped.scratch_dir``)."""
        return self._scratch or mapped.scratch_dir()

    @property
    def query(self) -> DocQuery:
        """SQL over ``documents.parquet`` (``doc_query``): pages, texts, keyword search, export."""
        return self._once(
            "query",
            lambda: DocQuery(
                self.handle.verify(DOCUMENTS_FILE),
                self.name,
                self.labels,
                self._curated_topics(),
                scratch=self.scratch,
            ),
        )

    def _curated_topics(self) -> np.ndarray | None:
        """Each document's topic after curation (merges move documents), when it differs
        from the build's ``topic`` column; the query layer then uses it."""
        curated = self.docs["topic"].to_numpy(dtype=np.int64)
        built = self._memo.get("build_doc_topics")
        return None if built is not None and np.array_equal(curated, built) else curated

    def keyword_rows(self, query: str) -> np.ndarray:
        """Rows whose title or text contains every word of ``query`` (any case)."""
        return self.query.keyword_rows(query)

    @property
    def over_time(self) -> pd.DataFrame | None:
        if not self.dated:
            return None
        return self._once(
            "over_time", lambda: self.overlay.over_time(self.handle.read_table(OVER_TIME_FILE))
        )

    @property
    def hierarchy(self) -> pd.DataFrame:
        return self._once("hierarchy", lambda: self.handle.read_table(HIERARCHY_FILE))

    @property
    def curated_hierarchy(self) -> pd.DataFrame | None:
        """The hierarchy on curated topic ids (``pipeline.curation.themes``)."""
        return self._once(
            "curated_hierarchy",
            lambda: curated_hierarchy(
                self.hierarchy, self.overlay.topic_of, self.build_topics["topic"]
            ),
        )

    @property
    def trends(self) -> pd.DataFrame | None:
        """Per-topic trend scores when the run has them, else None: ``trends.parquet``, or
        recomputed for the curated view when merges or hides moved documents."""
        return self._scores[0]

    @property
    def themes(self) -> pd.DataFrame | None:
        """The hierarchy nodes' trend scores for the curated view (None without them)."""
        return self._scores[1]

    @property
    def _scores(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(topic scores, node scores): the run's own, or both recomputed together, as the
        trends stage scores them, when merges or hides moved documents."""

        def load() -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
            if not self.handle.has(TRENDS_FILE):
                return None, None
            raw = self.handle.read_table(TRENDS_FILE)
            built = None
            if self.overlay.state.membership_changed:
                docs = self.docs
                built = pd.DataFrame(
                    {
                        "topic": self._memo["build_doc_topics"],
                        "date": docs["date"],
                        "date_precision": docs["date_precision"],
                    }
                )
            return self.overlay.scores(raw, built, self.manifest, self.curated_hierarchy)

        return self._once("scores", load)

    @property
    def keywords_over_time(self) -> pd.DataFrame | None:
        """``topic_keywords_over_time.parquet`` (a topic's keywords per period) when present."""
        return self._optional_table("keywords_over_time", KEYWORDS_FILE)

    @property
    def update(self) -> dict[str, Any] | None:
        """``manifest["update"]`` (kind, step, previous build, new documents and topics), or
        None for a run built before updates existed."""
        u = self.manifest.get("update")
        return u if isinstance(u, dict) else None

    @property
    def update_step(self) -> int:
        """0 for a first build (or a run without update bookkeeping), else the update count."""
        try:
            return int((self.update or {}).get("step") or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def lineage(self) -> pd.DataFrame | None:
        """``lineage.parquet`` (previous topics -> current topics) when the run has one."""
        return self._optional_table("lineage", LINEAGE_FILE)

    @property
    def topic_history(self) -> pd.DataFrame | None:
        """``topic_history.parquet`` (every topic at every step) when the run has one."""
        return self._optional_table("topic_history", HISTORY_FILE)

    @property
    def topic_embeddings(self) -> np.ndarray:
        return self._once("topic_embeddings", lambda: self.handle.read_array(TOPIC_EMBEDDINGS_FILE))

    @property
    def embeddings(self) -> np.ndarray:
        """Document embeddings (float16), memory-mapped read-only on the first semantic search."""
        return self._once("embeddings", self._load_embeddings)

    @property
    def index(self) -> VectorIndex:
        """The semantic search over ``embeddings`` (``search_index``)."""
        return self._once("index", lambda: VectorIndex(self.embeddings))

    def _load_embeddings(self) -> np.ndarray:
        path = self.handle.verify(EMBEDDINGS_FILE)
        try:
            emb = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise CacheError(f"{path}: unreadable array ({exc}).") from None
        if emb.shape[0] != len(self.docs):
            raise CacheError(
                f"{self.path / EMBEDDINGS_FILE}: {emb.shape[0]} rows for {len(self.docs)} documents. "
                f"Rebuild it with: topictrends build {self.manifest.get('corpus', {}).get('input', '<INPUT>')} --name {self.name} --force"
            )
        return emb

    def facet_kinds(self) -> dict[str, str]:
        """Metadata column -> 'categorical' | 'numeric' | 'date' (columns that cannot be faceted are left out)."""

        def kinds() -> dict[str, str]:
            out = {}
            for col in self.metadata_columns:
                kind = facet_kind(self.docs[col])
                if kind:
                    out[col] = kind
            return out

        return self._once("facet_kinds", kinds)


def date_strings(dates: pd.Series, precision: pd.Series) -> pd.Series:
    """Dates written to their precision: 2024-03-05, 2024-03 or 2024; '' when undated."""
    d = pd.to_datetime(dates)
    out = d.dt.strftime("%Y-%m-%d")
    prec = precision.astype(object)
    out = out.where(prec.to_numpy() != "month", d.dt.strftime("%Y-%m"))
    out = out.where(prec.to_numpy() != "year", d.dt.strftime("%Y"))
    return out.fillna("").astype(str)
