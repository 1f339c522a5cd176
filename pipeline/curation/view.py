"""The curated view of a run: the ONE place the curation log is applied on read.

The dashboard (``dashboard/run_data.py``), the CLI (``topictrends topics``) and the digest
all go through ``Overlay``; the run's artifacts are never rewritten. A curated label beats
the pipeline's (keyword or LLM) label; a merged topic's documents, counts and trend are
its target's; a hidden topic's documents read as outliers. When merges or hides move
documents, trends are recomputed for the curated view with the trends stage's own
statistics (``pipeline.stages.trends.compute_trends``) and the run's ``[trends]`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from pipeline.config import TrendsConfig
from pipeline.curation.overlay import State, TopicMap, state_of
from pipeline.curation.themes import curated_hierarchy, dense_hierarchy, run_themes
from pipeline.store.artifacts import RunHandle
from pipeline.store.contract import (
    DOCUMENTS_FILE,
    HIERARCHY_FILE,
    HISTORY_FILE,
    LINEAGE_FILE,
    OUTLIER,
    OVER_TIME_FILE,
    TOPICS_FILE,
    TRENDS_FILE,
)


def update_step(manifest: dict[str, Any]) -> int:
    try:
        return int((manifest.get("update") or {}).get("step") or 0)
    except (TypeError, ValueError, AttributeError):
        return 0


@dataclass
class Overlay:
    """The curation state of one build, and how it rewrites each table read from it."""

    state: State
    step: int

    @classmethod
    def of(
        cls,
        entries: list,
        manifest: dict[str, Any],
        topics: pd.DataFrame,
        lineage: pd.DataFrame | None = None,
        history: pd.DataFrame | None = None,
    ) -> Overlay:
        step = update_step(manifest)
        ids = frozenset(int(t) for t in topics["topic"])
        return cls(state_of(entries, TopicMap(ids, step, history, lineage)), step)

    @property
    def empty(self) -> bool:
        s = self.state
        return not (s.labels or s.merged or s.hidden or s.notes or s.review)

    def topic_of(self, topic: int) -> int:
        """A topic id of the build -> its id in the curated view (-1 when hidden)."""
        if topic < 0:
            return topic
        root = self.state.root(int(topic))
        return OUTLIER if root in self.state.hidden else root

    def doc_topics(self, topics: np.ndarray | pd.Series) -> np.ndarray:
        arr = np.asarray(topics, dtype=np.int64)
        if not self.state.membership_changed:
            return arr
        uniq = np.unique(arr)
        lut = {int(t): self.topic_of(int(t)) for t in uniq}
        return np.array([lut[int(t)] for t in arr], dtype=np.int64) if len(arr) else arr

    def topics(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The topic table as curated: labels, merged sizes, hidden rows dropped, plus
        ``pipeline_label``, ``curated``, ``note``, ``merged_from`` and ``review``."""
        s = self.state
        df = raw.copy()
        df["pipeline_label"] = df["label"].astype(str)
        ids = [int(t) for t in df["topic"]]
        df["label"] = [
            s.labels.get(t, lab) for t, lab in zip(ids, df["pipeline_label"], strict=True)
        ]
        df["note"] = [s.notes.get(t, "") for t in ids]
        df["review"] = [s.review.get(t, "") for t in ids]
        members: dict[int, list[int]] = {}
        for t in ids:
            members.setdefault(self.state.root(t), []).append(t)
        df["merged_from"] = [sorted(m for m in members.get(t, []) if m != t) for t in ids]
        if s.merged:
            size = df.set_index("topic")["size"]
            share = df.set_index("topic")["share"]
            df["size"] = [int(sum(size[m] for m in members.get(t, [t]))) for t in ids]
            df["share"] = [float(sum(share[m] for m in members.get(t, [t]))) for t in ids]
        df["curated"] = [
            t in s.labels or t in s.notes or bool(df["merged_from"].iloc[i])
            for i, t in enumerate(ids)
        ]
        keep = [s.visible(t) for t in ids]
        return df[keep].reset_index(drop=True)

    def over_time(self, ot: pd.DataFrame | None) -> pd.DataFrame | None:
        """Counts per topic and period, merged topics summed into their target."""
        if ot is None or not self.state.membership_changed:
            return ot
        df = ot.copy()
        df["topic"] = [self.topic_of(int(t)) for t in df["topic"]]
        df = df[df["topic"] >= 0]
        agg = df.groupby(["topic", "period_start"], as_index=False).agg(
            count=("count", "sum"),
            period_total=("period_total", "first"),
            partial=("partial", "first"),
        )
        agg["share"] = agg["count"] / agg["period_total"].where(agg["period_total"] > 0, np.nan)
        agg["share"] = agg["share"].fillna(0.0)
        return agg[list(ot.columns)].sort_values(["topic", "period_start"]).reset_index(drop=True)

    def trends(
        self,
        raw: pd.DataFrame | None,
        docs: pd.DataFrame,
        manifest: dict[str, Any],
        hierarchy: pd.DataFrame | None = None,
    ) -> pd.DataFrame | None:
        """The trend table of the curated view (``scores``, topics only)."""
        return self.scores(raw, docs, manifest, hierarchy)[0]

    def scores(
        self,
        raw: pd.DataFrame | None,
        docs: pd.DataFrame | None,
        manifest: dict[str, Any],
        hierarchy: pd.DataFrame | None = None,
    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(topic trend scores, theme scores) of the curated view: the run's own, or
        recomputed when merges or hides moved documents (``docs`` holds the build's own
        ``topic``, ``date``, ``date_precision``; ``hierarchy`` is ``curated_hierarchy``'s,
        whose nodes are scored with the topics)."""
        if raw is None or docs is None or not self.state.membership_changed:
            return raw, (run_themes(hierarchy) if raw is not None else None)
        curated = docs.assign(topic=self.doc_topics(docs["topic"]))
        period, cfg = str(manifest.get("period")), trends_config(manifest)
        return recompute_trends(curated, period, cfg, hierarchy=hierarchy)


def recompute_trends(
    docs: pd.DataFrame,
    period: str,
    cfg: TrendsConfig,
    info: dict[str, Any] | None = None,
    hierarchy: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(topic scores, node scores or None) for documents' (curated) ``topic`` ids, which
    need not be contiguous: the trends stage's ``compute_trends`` on dense ids, mapped
    back. ``hierarchy`` (``curated_hierarchy``) gives the nodes scored with the topics;
    ``info`` receives the windows and notes ``compute_trends`` reports."""
    from pipeline.stages.trends import compute_trends

    labels = np.asarray(docs["topic"], dtype=np.int64)
    visible = np.unique(labels[labels >= 0])
    dense = np.full(len(labels), OUTLIER, dtype=np.int64)
    pos = np.searchsorted(visible, labels)
    dense[labels >= 0] = pos[labels >= 0]
    tree, nodes = (None, None) if hierarchy is None else dense_hierarchy(hierarchy, visible)
    result = compute_trends(
        docs["date"], dense, period, cfg, precisions=docs.get("date_precision"), hierarchy=tree
    )
    if info is not None:
        info.update(result.info)
    table = result.table.copy()
    table["topic"] = visible[table["topic"].to_numpy(dtype=np.int64)]
    themes = None
    if nodes is not None and result.themes is not None:
        themes = result.themes.copy()
        themes["node"] = nodes[themes["node"].to_numpy(dtype=np.int64) - len(visible)]
        themes["topics"] = [[int(visible[t]) for t in ts] for ts in themes["topics"]]
        labels_of = dict(zip(hierarchy["node"], hierarchy["label"], strict=True))
        themes.insert(1, "label", themes["node"].map(labels_of))
    return table.reset_index(drop=True), themes


def trends_config(manifest: dict[str, Any]) -> TrendsConfig:
    """The run's own ``[trends]`` settings (defaults for a setting this version lacks)."""
    raw = (manifest.get("config") or {}).get("trends") or {}
    try:
        return TrendsConfig.model_validate(raw)
    except ValidationError:
        known = {k: v for k, v in raw.items() if k in TrendsConfig.model_fields}
        try:
            return TrendsConfig.model_validate(known)
        except ValidationError:
            return TrendsConfig()


@dataclass
class CuratedRun:
    """A run's tables as curated, for the CLI and the digest (the dashboard has RunData).

    ``hierarchy`` is on curated topic ids (``curated_hierarchy``); ``themes`` holds its
    nodes' trend scores for the curated view (None without node scores)."""

    handle: RunHandle
    overlay: Overlay
    topics: pd.DataFrame
    docs: pd.DataFrame
    over_time: pd.DataFrame | None
    trends: pd.DataFrame | None
    lineage: pd.DataFrame | None
    hierarchy: pd.DataFrame | None = None
    themes: pd.DataFrame | None = None


def curated_run(handle: RunHandle, entries: list) -> CuratedRun:
    """Read a run and apply ``entries`` (``read_log``) to every table the CLI and digest use."""
    raw_topics = handle.read_table(TOPICS_FILE).sort_values("topic").reset_index(drop=True)
    lineage = handle.read_table(LINEAGE_FILE) if handle.has(LINEAGE_FILE) else None
    history = handle.read_table(HISTORY_FILE) if handle.has(HISTORY_FILE) else None
    ov = Overlay.of(entries, handle.manifest, raw_topics, lineage, history)
    docs = handle.read_table(DOCUMENTS_FILE)
    ot = handle.read_table(OVER_TIME_FILE) if handle.has(OVER_TIME_FILE) else None
    tr = handle.read_table(TRENDS_FILE) if handle.has(TRENDS_FILE) else None
    raw_h = handle.read_table(HIERARCHY_FILE) if handle.has(HIERARCHY_FILE) else None
    h = curated_hierarchy(raw_h, ov.topic_of, raw_topics["topic"])
    trends, themes = ov.scores(tr, docs, handle.manifest, h)
    docs = docs.assign(topic=ov.doc_topics(docs["topic"]))
    topics, over_time = ov.topics(raw_topics), ov.over_time(ot)
    return CuratedRun(handle, ov, topics, docs, over_time, trends, lineage, h, themes)
