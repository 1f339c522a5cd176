"""Streamlit caches over the pure functions: every artifact is read once per run and shared.

Each loader takes plain arguments (the run's resolved build directory as a string, and its
manifest run_key) so Streamlit hashes them cheaply; a rebuild swaps the run's symlink to a
new directory with a new key, so a stale entry is never served. Entries are bounded
(``max_entries``, and ``max_size`` in bytes for ``cache_data``; the production config adds
a global ``server.maxCacheDataSize``) so a long-lived server does not grow without limit.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import editing, lineage_figures, map_data, map_figures
from dashboard.facet_data import facet_bins, facet_counts
from dashboard.filters import Filters, filter_mask, filters_to_params, parse_filters
from dashboard.lineage_data import lineage_rows, sizes_at_step
from dashboard.map_data import Extent, MapPoints
from dashboard.run_data import OUTLIER, RunData, RunEntry
from dashboard.time_data import over_time_at
from pipeline.curation.log import version as log_version
from pipeline.store.artifacts import open_run
from pipeline.store.cache import cache_root

RUNS = 4  # runs kept in memory at once
# Map figures kept (cache_resource has no byte limit): one for a 23k-document run holds about
# 16 MiB in the server (measured on the 22,910-paragraph SOTU run), so at most ~130 MiB,
# and a view nobody opened for an hour is dropped.
MAPS = 8


def run_key_of(entry: RunEntry) -> tuple[str, str]:
    """(resolved build dir, key) for a listed run; raises CacheError for a broken manifest.

    The key is the build's run_key plus the version of the run's curation log, so an edit
    (from this dashboard, another replica or the CLI) is read on the next rerun.
    """
    handle = open_run(entry.path)
    curated = log_version(editing.place(cache_root(None)).directory, handle.name)
    return str(entry.path.resolve()), f"{handle.manifest.get('run_key', '')}#{curated}"


def manifest_or_none(entry: RunEntry) -> dict[str, Any] | None:
    """The run's manifest as far as it can be read (for a broken run's error message: the
    corpus path it names is shown as a file name in hosted mode), else None."""
    try:
        manifest = json.loads((entry.path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


@st.cache_resource(max_entries=RUNS, show_spinner="Reading the run…")
def run_data(path: str, run_key: str) -> RunData:
    """The run's artifacts, verified and read once, shared by every session (read-only)."""
    run = RunData.open(Path(path), editing.place(cache_root(None)).directory, run_key)
    _ = run.docs, run.topics, run.query  # read the core tables now, under the spinner
    return run


def filter_key(f: Filters) -> str:
    return json.dumps(filters_to_params(f), sort_keys=True)


@st.cache_data(max_entries=64, max_size="64MB", show_spinner=False)
def filtered_rows(path: str, run_key: str, key: str) -> np.ndarray:
    """Row positions of the documents matching the filters ``key`` (``filter_key``)."""
    run = run_data(path, run_key)
    f = _filters_from_key(run, key)
    mask = filter_mask(run.docs, replace(f, query=""), run.facet_kinds())
    if f.query.strip():  # over the Parquet file: the text is not held in memory
        keep = np.zeros(len(mask), dtype=bool)
        keep[run.keyword_rows(f.query)] = True
        mask &= keep
    return np.flatnonzero(mask)


def mask_for(run: RunData, f: Filters) -> np.ndarray:
    mask = np.zeros(len(run.docs), dtype=bool)
    if not f.active:
        mask[:] = True
        return mask
    mask[filtered_rows(str(run.path.resolve()), run.run_key, filter_key(f))] = True
    return mask


@st.cache_data(max_entries=32, max_size="32MB", show_spinner=False)
def over_time(path: str, run_key: str, period: str) -> pd.DataFrame:
    """Topics over time at ``period``, re-aggregated from the document dates when needed."""
    run = run_data(path, run_key)
    return over_time_at(run.docs, period, run.over_time, run.manifest.get("period"))


@st.cache_resource(max_entries=MAPS, ttl="1h", show_spinner=False)
def map_view(
    path: str,
    run_key: str,
    color_by: str,
    show_outliers: bool,
    key: str,
    zoom: str | None,
    budget: int,
) -> tuple[MapPoints, go.Figure]:
    """The document map for one view (colouring, outliers, filters, zoom box ``zoom`` as
    ``Extent.to_param`` text, point budget): the documents in view with their drawn
    coordinates (for selections) and the figure; built once, then reused."""
    run = run_data(path, run_key)
    kinds = run.facet_kinds()
    keep = mask_for(run, _filters_from_key(run, key))
    topic = run.docs["topic"].to_numpy()
    if not show_outliers:
        keep = keep & (topic != OUTLIER)
    points = map_data.map_points(
        run.docs["x"].to_numpy(), run.docs["y"].to_numpy(), keep, Extent.from_param(zoom)
    )
    scheme = "branch" if color_by == map_figures.BRANCH_COLORS else "distinct"
    fig = map_figures.doc_map(
        run.docs,
        run.topics,
        color_by="topic" if scheme == "branch" else color_by,
        color_kind=kinds.get(color_by),
        show_outliers=show_outliers,
        mask=keep,
        budget=budget,
        points=points,
        colors=topic_colors(path, run_key, scheme),
    )
    return points, fig


@st.cache_data(max_entries=16, show_spinner=False)
def topic_colors(path: str, run_key: str, scheme: str) -> dict[int, str]:
    """Topic -> map colour: ``distinct`` (map neighbours apart) or ``branch`` (hierarchy)."""
    run = run_data(path, run_key)
    return map_figures.topic_colors(run.topics, run.hierarchy, scheme)


def _filters_from_key(run: RunData, key: str) -> Filters:
    return parse_filters(json.loads(key), set(run.labels), run.facet_kinds())


@st.cache_data(max_entries=128, max_size="32MB", show_spinner=False)
def facet_summary(
    path: str, run_key: str, column: str, kind: str, key: str
) -> tuple[pd.DataFrame, int, int]:
    """Bars (top values, documents with other values, number of values) or histogram bins
    of one metadata column over the documents matching the filters ``key``."""
    run = run_data(path, run_key)
    values = run.docs[column][mask_for(run, _filters_from_key(run, key))]
    if kind == "categorical":
        counts = facet_counts(values, top=20)
        return counts, int(counts.attrs["others"]), int(counts.attrs["n_values"])
    return facet_bins(values, kind), 0, 0


@st.cache_resource(max_entries=4, show_spinner="Loading the embedding model…")
def query_embedder(embed_config: str, cache_root: str) -> Any:
    """The run's own embedder (backend, model and settings of its build), loaded on the first
    search and kept: all-MiniLM-L6-v2 via ``load_sentence_transformer`` for
    sentence-transformers runs, ``HashingEmbedder(dim)`` for hashing runs, the distilled
    static model (kept under the cache root) for static runs."""
    from dashboard.access import read_only
    from pipeline.config import EmbedConfig
    from pipeline.stages.embed import get_embedder

    return get_embedder(
        EmbedConfig.model_validate_json(embed_config), Path(cache_root), read_only=read_only()
    )


def embed_query(manifest: dict[str, Any], query: str, cache_root: Path) -> np.ndarray:
    """``query`` as a vector in the run's embedding space."""
    from pydantic import ValidationError

    from pipeline.config import EmbedConfig

    emb = manifest.get("embedding", {})
    cfg = manifest.get("config", {}).get("embed") or {}
    try:
        EmbedConfig.model_validate(cfg)
    except ValidationError:  # a manifest from another version: backend and size are enough
        cfg = {
            "backend": emb.get("backend", "sentence-transformers"),
            "dim": int(emb.get("dim") or 384),
        }
    embedder = query_embedder(json.dumps(cfg, sort_keys=True), str(cache_root))
    return np.asarray(embedder.encode([query]), dtype=np.float32)[0]


@st.cache_data(max_entries=64, max_size="32MB", show_spinner="Searching…")
def semantic(
    path: str, run_key: str, query: str, k: int, key: str, cache_root: str
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` documents by cosine to ``query`` among those matching the filters ``key``."""
    run = run_data(path, run_key)
    qvec = embed_query(run.manifest, query, Path(cache_root))
    f = _filters_from_key(run, key)
    return run.index.top(qvec, mask_for(run, f) if f.active else None, k)


@st.cache_resource(max_entries=8, show_spinner=False)
def lineage_figure(path: str, run_key: str, relations: tuple[str, ...]) -> go.Figure:
    """The run's lineage Sankey for the chosen ``relations``, built once: shared read-only."""
    run = run_data(path, run_key)
    lineage = run.lineage if run.lineage is not None else pd.DataFrame()
    return lineage_figures.lineage_sankey(
        lineage_rows(lineage, list(relations)),
        current_sizes=dict(
            zip(run.topics["topic"].astype(int), run.topics["size"].astype(int), strict=True)
        ),
        previous_sizes=sizes_at_step(run.topic_history, run.update_step - 1),
    )
