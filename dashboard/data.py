"""One run's artifacts in memory, and the aggregations the pages show. No Streamlit here.

``RunData`` reads each artifact once, through ``pipeline.store.artifacts.open_run`` (which checks
the schema version and every checksum), and keeps it; one instance is shared by every
session looking at that run (``loaders.run_data`` caches it), so nothing in here may be
mutated by a caller. Everything else is a pure function of those frames.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import CacheError
from pipeline.periods import (
    OFFERED_PERIOD_MAX_BINS,
    PERIODS,
    PRECISION_FLOOR,
    period_grid,
    period_start,
)
from pipeline.stages.over_time import topics_over_time
from pipeline.stages.trends import partial_periods
from pipeline.store.artifacts import RunHandle, open_run
from pipeline.store.cache import Store
from pipeline.store.contract import HISTORY_FILE, LINEAGE_FILE, RELATIONS

OUTLIER = -1
OUTLIER_LABEL = "Outliers"
MISSING = "(missing)"
TRENDS_FILE = "trends.parquet"
KEYWORDS_FILE = "topic_keywords_over_time.parquet"
RISING = ("new", "emerging", "rising")
FADING = ("fading", "declining")
_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunEntry:
    """A run under the cache root: its name (the directory name) and its path."""

    name: str
    path: Path


def list_runs(root: Path) -> list[RunEntry]:
    """Every run under ``root/runs``, by name; the only runs a URL may ask for."""
    return [RunEntry(p.name, p) for p in Store(root).list_runs()]


def safe_url(value: object) -> str | None:
    """Only plain http(s) links are shown as links; ``javascript:`` and the like are dropped."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _URL.match(value) else None


class RunData:
    """A verified run; each artifact is read on first use and kept (thread-safe, read-only)."""

    def __init__(self, handle: RunHandle) -> None:
        self.handle = handle
        self.path = handle.path
        self.manifest = handle.manifest
        self._lock = threading.RLock()
        self._memo: dict[str, Any] = {}

    @classmethod
    def open(cls, path: Path) -> RunData:
        return cls(open_run(path))

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._memo:
                self._memo[name] = load()
            return self._memo[name]

    # ---------------------------------------------------------------- manifest
    @property
    def name(self) -> str:
        return self.handle.name

    @property
    def run_key(self) -> str:
        return str(self.manifest.get("run_key", ""))

    @property
    def dated(self) -> bool:
        return bool(self.manifest.get("dated")) and self.handle.has("topics_over_time.parquet")

    @property
    def metadata_columns(self) -> list[str]:
        cols = self.manifest.get("corpus", {}).get("metadata_columns") or []
        return [c for c in cols if c in self.docs.columns]

    # ---------------------------------------------------------------- artifacts
    @property
    def topics(self) -> pd.DataFrame:
        return self._once(
            "topics",
            lambda: (
                self.handle.read_table("topics.parquet").sort_values("topic").reset_index(drop=True)
            ),
        )

    @property
    def labels(self) -> dict[int, str]:
        """Topic id -> label, with the outlier pseudo-topic."""
        return self._once(
            "labels",
            lambda: {
                OUTLIER: OUTLIER_LABEL,
                **dict(
                    zip(
                        self.topics["topic"].astype(int),
                        self.topics["label"].astype(str),
                        strict=True,
                    )
                ),
            },
        )

    @property
    def docs(self) -> pd.DataFrame:
        return self._once("docs", self._load_docs)

    def _load_docs(self) -> pd.DataFrame:
        docs = self.handle.read_table("documents.parquet")
        labels = self.labels
        docs["topic"] = docs["topic"].astype(np.int64)
        docs["topic_label"] = docs["topic"].map(labels).fillna(OUTLIER_LABEL).astype(str)
        docs["url"] = pd.Series([safe_url(v) for v in docs["url"]], index=docs.index, dtype=object)
        docs["title"] = docs["title"].fillna("").astype(str)
        docs["text"] = docs["text"].fillna("").astype(str)
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

    @property
    def search_blob(self) -> np.ndarray:
        """Lower-cased title + text per document, built on the first keyword search."""
        return self._once(
            "blob", lambda: (self.docs["title"] + "\n" + self.docs["text"]).str.lower().to_numpy()
        )

    @property
    def hover(self) -> np.ndarray:
        """Map hover text per document (see ``figures.hover_texts``)."""
        from dashboard.figures import hover_texts

        return self._once("hover", lambda: hover_texts(self.docs))

    @property
    def over_time(self) -> pd.DataFrame | None:
        if not self.dated:
            return None
        return self._once("over_time", lambda: self.handle.read_table("topics_over_time.parquet"))

    @property
    def hierarchy(self) -> pd.DataFrame:
        return self._once("hierarchy", lambda: self.handle.read_table("hierarchy.parquet"))

    @property
    def trends(self) -> pd.DataFrame | None:
        """``trends.parquet`` (per-topic trend scores) when the run has it, else None."""
        if not self.handle.has(TRENDS_FILE):
            return None
        return self._once("trends", lambda: self.handle.read_table(TRENDS_FILE))

    @property
    def keywords_over_time(self) -> pd.DataFrame | None:
        """``topic_keywords_over_time.parquet`` (a topic's keywords per period) when present."""
        if not self.handle.has(KEYWORDS_FILE):
            return None
        return self._once("keywords_over_time", lambda: self.handle.read_table(KEYWORDS_FILE))

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
        if not self.handle.has(LINEAGE_FILE):
            return None
        return self._once("lineage", lambda: self.handle.read_table(LINEAGE_FILE))

    @property
    def topic_history(self) -> pd.DataFrame | None:
        """``topic_history.parquet`` (every topic at every step) when the run has one."""
        if not self.handle.has(HISTORY_FILE):
            return None
        return self._once("topic_history", lambda: self.handle.read_table(HISTORY_FILE))

    @property
    def topic_embeddings(self) -> np.ndarray:
        return self._once(
            "topic_embeddings", lambda: self.handle.read_array("topic_embeddings.npy")
        )

    @property
    def embeddings(self) -> np.ndarray:
        """Document embeddings (float16), read on the first semantic search only."""
        return self._once("embeddings", self._load_embeddings)

    def _load_embeddings(self) -> np.ndarray:
        emb = self.handle.read_array("embeddings.npy")
        if emb.shape[0] != len(self.docs):
            raise CacheError(
                f"{self.path / 'embeddings.npy'}: {emb.shape[0]} rows for {len(self.docs)} documents. "
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


# --------------------------------------------------------------------------- overview


def counts_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    counts = manifest.get("counts", {})
    span = manifest.get("date_span")
    return {
        "documents": int(counts.get("documents") or 0),
        "topics": int(counts.get("topics") or 0),
        "outlier_share": float(counts.get("outlier_share") or 0.0),
        "date_span": f"{span[0]} .. {span[1]}" if span else "undated",
        "period": manifest.get("period"),
    }


def largest_topics(topics: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    cols = ["topic", "label", "size", "share", "keywords"]
    out = topics.sort_values(["size", "topic"], ascending=[False, True]).head(n)[cols].copy()
    out["keywords"] = out["keywords"].map(lambda k: ", ".join(list(k)[:6]))
    return out.reset_index(drop=True)


def share_change(over_time: pd.DataFrame, window: int | None = None) -> pd.DataFrame:
    """Each topic's share of the last ``window`` periods vs the ``window`` before them.

    The fallback when a run has no trends.parquet: shares are of all documents in the
    window, so a growing corpus does not lift every topic. ``window`` defaults to a third
    of the periods, between 1 and 4.
    """
    cols = ["topic", "recent_share", "previous_share", "change"]
    tot = over_time[over_time["topic"] != OUTLIER]
    periods = np.sort(over_time["period_start"].unique())
    if len(periods) < 2:
        return pd.DataFrame(columns=cols)
    w = window or max(1, min(4, len(periods) // 3))
    recent, previous = periods[-w:], periods[-2 * w : -w]
    totals = over_time.drop_duplicates("period_start").set_index("period_start")["period_total"]

    def window_share(ps: np.ndarray) -> pd.Series:
        denom = float(totals.reindex(ps).sum())
        got = tot[tot["period_start"].isin(ps)].groupby("topic")["count"].sum()
        return got / denom if denom else got * 0.0

    out = pd.DataFrame(
        {"recent_share": window_share(recent), "previous_share": window_share(previous)}
    ).fillna(0.0)
    out["change"] = out["recent_share"] - out["previous_share"]
    return out.rename_axis("topic").reset_index()[cols]


@dataclass
class Movers:
    rising: pd.DataFrame
    fading: pd.DataFrame
    source: str  # "trends" (trends.parquet) or "share change" (computed here)


def movers(
    topics: pd.DataFrame, trends: pd.DataFrame | None, over_time: pd.DataFrame | None, n: int = 5
) -> Movers:
    """Topics rising and fading most: trend scores when the run has them, else share change."""
    labels = topics.set_index("topic")["label"]
    if trends is not None and len(trends):
        t = trends.copy()
        t["label"] = t["topic"].map(labels)
        t = t[t["topic"] != OUTLIER]
        keep = [
            c
            for c in (
                "topic",
                "label",
                "category",
                "recent_share",
                "previous_share",
                "growth",
                "q_value",
            )
            if c in t.columns
        ]
        t = t[np.isfinite(t["growth"].astype(float))]
        # Significant movers (by their category) first, then the rest by the size of the change.
        t = t.assign(_up=~t["category"].isin(RISING), _down=~t["category"].isin(FADING))
        rising = t[t["growth"] > 0].sort_values(["_up", "growth"], ascending=[True, False])
        fading = t[t["growth"] < 0].sort_values(["_down", "growth"], ascending=[True, True])
        rising, fading = rising.head(n)[keep], fading.head(n)[keep]
        return Movers(rising.reset_index(drop=True), fading.reset_index(drop=True), "trends")
    if over_time is None or over_time.empty:
        empty = pd.DataFrame(columns=["topic", "label", "recent_share", "previous_share", "change"])
        return Movers(empty, empty.copy(), "share change")
    ch = share_change(over_time)
    ch["label"] = ch["topic"].map(labels)
    ch = ch[["topic", "label", "recent_share", "previous_share", "change"]]
    rising = ch[ch["change"] > 0].sort_values("change", ascending=False).head(n)
    fading = ch[ch["change"] < 0].sort_values("change", ascending=True).head(n)
    return Movers(rising.reset_index(drop=True), fading.reset_index(drop=True), "share change")


def movers_brief(frame: pd.DataFrame) -> pd.DataFrame:
    """A compact movers table: topic, label, trend category (if scored), and 'before → recent' share."""
    out = pd.DataFrame({"topic": frame["topic"].astype(int), "label": frame["label"].astype(str)})
    if "category" in frame.columns:
        out["trend"] = frame["category"].astype(str)
    out["share"] = [
        f"{p:.1%}→{r:.1%}"
        for p, r in zip(frame["previous_share"], frame["recent_share"], strict=True)
    ]
    return out.reset_index(drop=True)


def mover_notes(brief: pd.DataFrame) -> list[str]:
    """One short note per mover for a topic list: its trend category (if scored) and share change."""
    cats = brief["trend"] if "trend" in brief.columns else [None] * len(brief)
    return [f"{c}, {s}" if c else s for c, s in zip(cats, brief["share"], strict=True)]


def biggest_movers(
    topics: pd.DataFrame, trends: pd.DataFrame | None, over_time: pd.DataFrame | None, n: int = 5
) -> list[int]:
    """Default topics for the trend lines: the strongest risers and faders, else the largest."""
    m = movers(topics, trends, over_time, n=n)
    picked: list[int] = []
    for a, b in zip(
        list(m.rising["topic"]) + [None] * n, list(m.fading["topic"]) + [None] * n, strict=False
    ):
        for t in (a, b):
            if t is not None and int(t) not in picked and len(picked) < n:
                picked.append(int(t))
    for t in largest_topics(topics, n)["topic"]:
        if len(picked) >= n:
            break
        if int(t) not in picked:
            picked.append(int(t))
    return picked


# --------------------------------------------------------------------------- topics


def nearest_topics(topic_embeddings: np.ndarray, topic: int, k: int = 5) -> list[tuple[int, float]]:
    """The ``k`` topics whose centroids are closest (cosine) to ``topic``'s.

    Rows of zeros are ids no topic holds (after an update, ids of gone topics stay unused)
    and are never offered as neighbours.
    """
    if topic < 0 or topic >= len(topic_embeddings) or len(topic_embeddings) < 2:
        return []
    emb = topic_embeddings.astype(np.float32)
    norms = np.linalg.norm(emb, axis=1)
    unused = norms == 0
    norms[unused] = 1.0
    emb = emb / norms[:, None]
    sims = emb @ emb[topic]
    sims[topic] = -np.inf
    sims[unused] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(int(i), float(sims[i])) for i in order if np.isfinite(sims[i])]


def representative_docs(docs: pd.DataFrame, topics: pd.DataFrame, topic: int) -> pd.DataFrame:
    row = topics[topics["topic"] == topic]
    if row.empty:
        return docs.iloc[0:0]
    ids = [str(i) for i in row.iloc[0]["representative_doc_ids"]]
    by_id = docs[docs["doc_id"].astype(str).isin(ids)]
    order = {d: i for i, d in enumerate(ids)}
    return by_id.iloc[np.argsort([order[d] for d in by_id["doc_id"].astype(str)], kind="stable")]


def keyword_table(topics: pd.DataFrame, topic: int) -> pd.DataFrame:
    row = topics[topics["topic"] == topic]
    if row.empty:
        return pd.DataFrame(columns=["keyword", "weight"])
    r = row.iloc[0]
    return pd.DataFrame(
        {
            "keyword": [str(k) for k in r["keywords"]],
            "weight": [float(w) for w in r["keyword_weights"]],
        }
    )


def topics_table(
    topics: pd.DataFrame,
    over_time: pd.DataFrame | None,
    trends: pd.DataFrame | None,
    query: str = "",
) -> pd.DataFrame:
    """The Topics page table: one row per topic, optionally searched by label or keyword."""
    t = topics[["topic", "label", "size", "share"]].copy()
    t["keywords"] = topics["keywords"].map(lambda k: ", ".join(list(k)[:8]))
    if over_time is not None and not over_time.empty:
        m = share_matrix(over_time)
        t["share_over_time"] = [
            m.loc[i].fillna(0.0).round(5).tolist() if i in m.index else [] for i in t["topic"]
        ]
    if trends is not None and len(trends):
        cols = [c for c in ("category", "growth", "q_value") if c in trends.columns]
        t = t.merge(trends[["topic", *cols]], on="topic", how="left")
    if query.strip():
        words = query.lower().split()
        hay = (t["label"].astype(str) + " " + t["keywords"]).str.lower()
        t = t[np.logical_and.reduce([hay.str.contains(w, regex=False) for w in words])]
    return t.reset_index(drop=True)


# --------------------------------------------------------------------------- time


def allowed_periods(docs: pd.DataFrame) -> list[str]:
    """Granularities the dates support: never finer than their precision, not absurdly many bins.

    The floor is set by the coarsest precision held by at least 10% of dated documents,
    the same rule the pipeline uses to choose its period.
    """
    dates = docs["date"].dropna()
    if dates.empty:
        return []
    counts = docs.loc[docs["date"].notna(), "date_precision"].dropna().value_counts(normalize=True)
    floor = "week"
    for prec in ("year", "month", "day"):
        if counts.get(prec, 0) >= 0.10:
            floor = PRECISION_FLOOR[prec]
            break
    candidates = list(PERIODS[PERIODS.index(floor) :])
    lo, hi = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    out = [p for p in candidates if len(period_range(lo, hi, p)) <= OFFERED_PERIOD_MAX_BINS]
    return out or candidates[-1:]


def period_range(lo: pd.Timestamp, hi: pd.Timestamp, period: str) -> pd.DatetimeIndex:
    """Every period start from the one holding ``lo`` to the one holding ``hi``."""
    starts = period_start(pd.Series([lo, hi]), period)
    return period_grid(starts.iloc[0], starts.iloc[1], period)


@dataclass
class OverTime:
    """Topics over time at one granularity, with its partial first/last periods."""

    period: str
    table: pd.DataFrame  # topic, period_start, count, share, period_total
    partial: dict[pd.Timestamp, str]  # period start -> why it is partial


def over_time_at(
    docs: pd.DataFrame,
    period: str,
    stored: pd.DataFrame | None = None,
    stored_period: str | None = None,
) -> OverTime:
    """Topics over time at ``period``: the stored table when it matches, else re-aggregated
    from the document dates; partial periods by the pipeline's rule (pipeline.stages.trends)."""
    dated = docs["date"].notna()
    partial = (
        partial_periods(docs.loc[dated, "date"], docs.loc[dated, "date_precision"], period)
        if dated.any()
        else {}
    )
    cols = ["topic", "period_start", "count", "share", "period_total"]
    if stored is not None and period == stored_period:
        table = stored[cols]
    elif not dated.any():
        table = pd.DataFrame(columns=cols)
    else:
        table = topics_over_time(docs.loc[dated, "date"], docs.loc[dated, "topic"], period)
    return OverTime(period, table, {pd.Timestamp(k): v for k, v in partial.items()})


def share_matrix(
    over_time: pd.DataFrame, period: str | None = None, value: str = "share"
) -> pd.DataFrame:
    """Topic x period table of ``value`` (share or count); periods without documents are NaN.

    With ``period`` given, every period between the first and last is a column, so gaps in
    the data show as gaps, not as a line drawn across them.
    """
    if over_time.empty:
        return pd.DataFrame()
    m = over_time.pivot_table(index="topic", columns="period_start", values=value, aggfunc="sum")
    totals = over_time.drop_duplicates("period_start").set_index("period_start")["period_total"]
    if period is not None:
        cols = period_range(pd.Timestamp(m.columns.min()), pd.Timestamp(m.columns.max()), period)
        m = m.reindex(columns=cols)
        totals = totals.reindex(cols)
    m = m.fillna(0.0)
    empty = totals.reindex(m.columns).fillna(0).to_numpy() == 0
    m.loc[:, empty] = np.nan
    m.columns = pd.DatetimeIndex(m.columns)
    return m


def top_topics_by_size(topics: pd.DataFrame, n: int) -> list[int]:
    return [
        int(t)
        for t in topics.sort_values(["size", "topic"], ascending=[False, True])["topic"].head(n)
    ]


# --------------------------------------------------------------------------- hierarchy


def hierarchy_tree(hierarchy: pd.DataFrame, topics: pd.DataFrame) -> pd.DataFrame:
    """Nodes of the topic tree: id, parent (None at the root), label, size, topics, leaf.

    Leaves are the topics; merge nodes come from hierarchy.parquet. A run without merges
    (hierarchy off, or one topic) gets a synthetic root over its topics.

    ``topictrends update`` keeps the hierarchy of the last full build, so topics found by
    later updates are in no merge: they are left out of the tree and listed in
    ``attrs["not_in_tree"]``. Their ids may equal merge node ids of that older hierarchy
    (numbered from its topic count); the merge nodes are then moved above every topic id.
    """
    size = topics.set_index("topic")["size"].astype(int)
    label = topics.set_index("topic")["label"].astype(str)
    topic_ids = {int(t) for t in size.index}
    merge_ids = {int(n) for n in hierarchy["node"]}
    shift = 0
    if merge_ids & topic_ids:
        shift = max(topic_ids) + 1 - min(merge_ids)

    def nid(n: int) -> int:
        return n + shift if n in merge_ids else n

    in_tree: set[int] = set()
    parent_of: dict[int, int] = {}
    rows = []
    for r in hierarchy.itertuples(index=False):
        node_topics = [int(t) for t in r.topics]
        in_tree.update(node_topics)
        parent_of[nid(int(r.left))] = nid(int(r.node))
        parent_of[nid(int(r.right))] = nid(int(r.node))
        rows.append(
            {
                "node": nid(int(r.node)),
                "parent": nid(int(r.parent)) if int(r.parent) >= 0 else -1,
                "label": str(r.label),
                "topics": node_topics,
                "leaf": False,
                "distance": float(r.distance),
            }
        )
    root = -1
    if not rows:
        root = int(size.index.max()) + 1 if len(size) else 0
        rows.append(
            {
                "node": root,
                "parent": -1,
                "label": "All topics",
                "topics": [int(t) for t in size.index],
                "leaf": False,
                "distance": 0.0,
            }
        )
    outside = sorted(topic_ids - in_tree) if len(hierarchy) else []
    for t in size.index:
        if int(t) in outside:
            continue
        rows.append(
            {
                "node": int(t),
                "parent": parent_of.get(int(t), root),
                "label": label[t],
                "topics": [int(t)],
                "leaf": True,
                "distance": 0.0,
            }
        )
    tree = pd.DataFrame(rows)
    tree["size"] = tree["topics"].map(lambda ts: int(size.reindex(ts).fillna(0).sum()))
    tree["n_topics"] = tree["topics"].map(len)
    tree["parent"] = tree["parent"].where(tree["parent"] >= 0, other=-1)
    tree.attrs["not_in_tree"] = outside
    return tree


# --------------------------------------------------------------------------- updates

# The order the lineage and history tables are shown in (the files' columns are in
# pipeline.store.contract).
LINEAGE_TABLE_COLUMNS: tuple[str, ...] = (
    "relation",
    "previous_topic",
    "previous_label",
    "topic",
    "label",
    "shared_documents",
    "document_overlap",
    "similarity",
)
HISTORY_TABLE_COLUMNS: tuple[str, ...] = ("step", "date", "build", "label", "size", "relation")
NO_HISTORY = "This run has no update history yet"


def update_command(run_name: str) -> str:
    """The command that adds documents to a run (shown where a run has no updates yet)."""
    return f"topictrends update {run_name} NEW_INPUT"


@dataclass
class UpdateInfo:
    """What the latest update of a run changed: for the Overview's "New since the last update"."""

    kind: str  # "update" or "refit"
    step: int
    previous_build: str | None
    created_at: str | None
    new_documents: int
    new_topics: pd.DataFrame  # topic, label, size (current topics with no predecessor)
    ids_kept: int | None
    ids_previous: int | None


def update_info(
    manifest: dict[str, Any],
    docs: pd.DataFrame,
    topics: pd.DataFrame,
    lineage: pd.DataFrame | None,
) -> UpdateInfo | None:
    """The latest update of a run, or None when it has none (a first build, an older run).

    New documents are those with ``added_step`` equal to this step (the manifest's count
    for a run without the column); new topics are the manifest's ``new_topics`` plus the
    ``new`` rows of the lineage, as far as they are topics of this build.
    """
    u = manifest.get("update")
    if not isinstance(u, dict):
        return None
    try:
        step = int(u.get("step") or 0)
    except (TypeError, ValueError):
        return None
    if step <= 0:
        return None
    if "added_step" in docs.columns:
        n_new = int((pd.to_numeric(docs["added_step"], errors="coerce") == step).sum())
    else:
        n_new = int(u.get("new_documents") or 0)
    ids: set[int] = set()
    for t in u.get("new_topics") or []:
        try:
            ids.add(int(t))
        except (TypeError, ValueError):
            continue
    if lineage is not None and len(lineage):
        new_rows = lineage[(lineage["relation"] == "new") & lineage["topic"].notna()]
        ids |= {int(t) for t in new_rows["topic"]}
    new = topics[topics["topic"].isin(sorted(ids))][["topic", "label", "size"]]
    new = new.sort_values(["size", "topic"], ascending=[False, True]).reset_index(drop=True)

    def opt_int(key: str) -> int | None:
        v = u.get(key)
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    return UpdateInfo(
        kind=str(u.get("kind") or "update"),
        step=step,
        previous_build=u.get("previous_build"),
        created_at=manifest.get("created_at"),
        new_documents=n_new,
        new_topics=new,
        ids_kept=opt_int("ids_kept"),
        ids_previous=opt_int("ids_previous"),
    )


def lineage_rows(lineage: pd.DataFrame, relations: list[str] | None = None) -> pd.DataFrame:
    """The lineage as a table: every contract column (missing ones empty), rows of the chosen
    ``relations`` only, ordered by relation (same .. gone) then topic ids."""
    out = pd.DataFrame(index=lineage.index)
    for col in LINEAGE_TABLE_COLUMNS:
        if col in lineage.columns:
            out[col] = lineage[col]
        else:
            out[col] = pd.NA
    for col in ("previous_topic", "topic", "shared_documents"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for col in ("document_overlap", "similarity"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("relation", "previous_label", "label"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    if relations is not None:
        out = out[out["relation"].isin(relations)]
    rank = {r: i for i, r in enumerate(RELATIONS)}
    order = out.assign(_r=out["relation"].map(rank).fillna(len(RELATIONS)))
    order = order.sort_values(
        ["_r", "previous_topic", "topic"], na_position="last", kind="stable"
    ).drop(columns="_r")
    return order.reset_index(drop=True)


def relation_counts(lineage: pd.DataFrame) -> dict[str, int]:
    """Rows per relation, in the order of ``RELATIONS`` (unknown relations after them)."""
    vc = lineage["relation"].astype(str).value_counts()
    out = {r: int(vc[r]) for r in RELATIONS if r in vc.index}
    out.update({str(r): int(n) for r, n in vc.items() if r not in out})
    return out


def topic_lineage(lineage: pd.DataFrame, topic: int) -> pd.DataFrame:
    """Where ``topic`` came from: its own lineage rows (its predecessors, with every partner of
    a merge) and the other current topics its predecessors split into."""
    rows = lineage_rows(lineage)
    mine = rows["topic"] == topic
    parents = rows.loc[mine, "previous_topic"].dropna()
    siblings = rows["previous_topic"].isin(list(parents)) & (rows["topic"] != topic).fillna(True)
    return rows[mine | siblings].reset_index(drop=True)


def topic_history_rows(history: pd.DataFrame, topic: int) -> pd.DataFrame:
    """One topic's rows of ``topic_history.parquet``: step, date (of the build), build, label,
    size, relation; oldest first."""
    h = history[history["topic"] == topic].sort_values("step", kind="stable")
    date = h["created_at"] if "created_at" in h.columns else pd.Series("", index=h.index)
    out = pd.DataFrame(
        {
            "step": h["step"].astype("int64"),
            "date": [str(d)[:10] if isinstance(d, str) else "" for d in date],
            "build": h["build"].astype(str) if "build" in h.columns else "",
            "label": h["label"].astype(str),
            "size": h["size"].astype("int64"),
            "relation": h["relation"].astype(str),
        }
    )
    return out[list(HISTORY_TABLE_COLUMNS)].reset_index(drop=True)


def sizes_at_step(history: pd.DataFrame | None, step: int) -> dict[int, int]:
    """Topic id -> size at ``step`` of the history (empty when there is none)."""
    if history is None or history.empty:
        return {}
    h = history[history["step"] == step]
    return dict(zip(h["topic"].astype(int), h["size"].astype(int), strict=True))


# --------------------------------------------------------------------------- facets


def as_strings(s: pd.Series) -> pd.Series:
    """Metadata values as display strings; missing values become '(missing)'."""
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        return s.fillna(MISSING).astype(str)  # already strings (pandas' str dtype): vectorised

    def one(v: object) -> str:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            return MISSING
        if isinstance(v, list | tuple | np.ndarray):
            return ", ".join(str(x) for x in v)
        return str(v)

    return s.map(one).astype(str)


def facet_kind(s: pd.Series) -> str | None:
    """How a metadata column is faceted: 'categorical' (bars), 'numeric' or 'date' (histogram)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date" if s.notna().any() else None
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s):
        n = s.nunique(dropna=True)
        if n == 0:
            return None
        return "categorical" if n <= 15 else "numeric"
    return "categorical"


def facet_counts(values: pd.Series, top: int = 20) -> pd.DataFrame:
    """The ``top`` most frequent values (as strings) with counts; numbers are listed in order.

    ``attrs`` holds ``others`` (documents with a value not listed) and ``n_values``.
    """
    vc = as_strings(values).value_counts().sort_index().sort_values(ascending=False, kind="stable")
    out = pd.DataFrame({"value": vc.index.astype(str), "count": vc.to_numpy()}).head(top)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(out["value"], errors="coerce")
        out = out.assign(_n=num).sort_values("_n", na_position="last").drop(columns="_n")
    out = out.reset_index(drop=True)
    out.attrs["others"] = int(vc.iloc[top:].sum()) if len(vc) > top else 0
    out.attrs["n_values"] = int(len(vc))
    return out


def facet_bins(values: pd.Series, kind: str, nbins: int = 30) -> pd.DataFrame:
    """Histogram of a numeric or date column: lo, hi (bin edges, numbers or timestamps), count."""
    v = values.dropna()
    if v.empty:
        return pd.DataFrame(columns=["lo", "hi", "count"])
    if kind == "date":
        num = (
            pd.to_datetime(v).astype("datetime64[ns]").astype("int64").to_numpy().astype(np.float64)
        )
    else:
        num = v.astype(float).to_numpy()
    lo, hi = float(num.min()), float(num.max())
    if lo == hi:
        edges = np.array([lo, hi + 1.0])
    else:
        all_int = kind != "date" and np.all(np.equal(np.mod(num, 1), 0))
        if all_int and hi - lo + 1 <= nbins:
            edges = np.arange(lo, hi + 2, 1.0)
        else:
            edges = np.linspace(lo, hi, nbins + 1)
    counts, _ = np.histogram(num, bins=edges)
    out = pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts.astype(int)})
    if kind == "date":
        out["lo"] = pd.to_datetime(out["lo"].astype("int64"), unit="ns")
        out["hi"] = pd.to_datetime(out["hi"].astype("int64"), unit="ns")
    return out


def facet_bounds(values: pd.Series, kind: str) -> tuple[Any, Any] | None:
    v = values.dropna()
    if v.empty:
        return None
    if kind == "date":
        return pd.Timestamp(v.min()).date(), pd.Timestamp(v.max()).date()
    lo, hi = v.min(), v.max()
    if pd.api.types.is_integer_dtype(v):
        return int(lo), int(hi)
    return float(lo), float(hi)
