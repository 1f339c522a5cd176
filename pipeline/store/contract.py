"""The artifact contract: the names, columns and relations every reader of a run relies on.

``docs/artifacts.md`` describes each file and ``REQUIRED_COLUMNS`` is the machine version
of that description (a test checks the two agree). The pipeline writes by these names and
the dashboard reads by them, so neither keeps its own copy; the period rules the files
are binned by live in ``pipeline.periods``.
"""

from __future__ import annotations

MANIFEST_FILE = "manifest.json"
DOCUMENTS_FILE = "documents.parquet"
TOPICS_FILE = "topics.parquet"
OVER_TIME_FILE = "topics_over_time.parquet"
TRENDS_FILE = "trends.parquet"
KEYWORDS_FILE = "topic_keywords_over_time.parquet"
HIERARCHY_FILE = "hierarchy.parquet"
LINEAGE_FILE = "lineage.parquet"
HISTORY_FILE = "topic_history.parquet"
EMBEDDINGS_FILE = "embeddings.npy"
TOPIC_EMBEDDINGS_FILE = "topic_embeddings.npy"
ARRAYS = (EMBEDDINGS_FILE, TOPIC_EMBEDDINGS_FILE)
MODEL_DIR = "model"
# What BERTopic's safetensors save writes (pipeline.stages.represent.save_model).
MODEL_FILES = (
    "config.json",
    "topics.json",
    "topic_embeddings.safetensors",
    "ctfidf.safetensors",
    "ctfidf_config.json",
)

# The topic id of documents in no topic (HDBSCAN's outliers; a curated hide joins them).
OUTLIER = -1

# Trend categories, in the order docs/trends.md explains them. TOO_FEW: a unit with fewer
# documents than the test needs to show a doubling or halving (neither trend nor stable).
TOO_FEW = "too few documents"
CATEGORIES = ("new", "emerging", "rising", "stable", TOO_FEW, "declining", "fading")
# The columns a topic and a hierarchy node are scored by (docs/trends.md).
SCORE_COLUMNS = (
    "recent_count",
    "previous_count",
    "recent_share",
    "previous_share",
    "growth",
    "growth_ci_low",
    "growth_ci_high",
    "p_value",
    "q_value",
    "slope",
    "first_seen",
    "category",
    "headline",  # this unit carries its call in the headline lists (docs/trends.md, Themes)
)
TREND_COLUMNS = ("topic", *SCORE_COLUMNS)
# hierarchy.parquet of a dated run: the trend scores of every merge node below the root.
THEME_COLUMNS = ("node", "topics", *SCORE_COLUMNS)
HIERARCHY_COLUMNS = ("node", "parent", "left", "right", "distance", "label", "topics")
KEYWORD_COLUMNS = ("topic", "period_start", "count", "keywords", "keyword_weights")

# How a topic of one build relates to the previous build's (docs/updates.md), in the
# order lineage rows are sorted.
RELATIONS = ("same", "grew", "split", "merged", "new", "gone")
RELATION_MEANING: dict[str, str] = {
    "same": "carried over with about the same documents",
    "grew": "carried over and gained documents",
    "split": "a previous topic whose documents went to several current topics (one row each)",
    "merged": "several previous topics that went into one current topic (one row each)",
    "new": "a current topic with no predecessor",
    "gone": "a previous topic with no successor",
}
LINEAGE_COLUMNS = (
    "previous_topic",
    "topic",
    "relation",
    "similarity",
    "document_overlap",
    "shared_documents",
    "previous_label",
    "label",
)
HISTORY_COLUMNS = ("step", "build", "created_at", "topic", "label", "size", "relation")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    DOCUMENTS_FILE: (
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
    ),
    TOPICS_FILE: (
        "topic",
        "label",
        "size",
        "share",
        "keywords",
        "keyword_weights",
        "representative_doc_ids",
        "x",
        "y",
        "ix",
        "iy",
    ),
    OVER_TIME_FILE: ("topic", "period_start", "count", "share", "period_total", "partial"),
    TRENDS_FILE: TREND_COLUMNS,
    KEYWORDS_FILE: KEYWORD_COLUMNS,
    HIERARCHY_FILE: HIERARCHY_COLUMNS,
    # Present in runs built since issue 7 (lineage only when the build has a predecessor);
    # runs from before open as they are: RunHandle.has() says whether a run holds them.
    LINEAGE_FILE: LINEAGE_COLUMNS,
    HISTORY_FILE: HISTORY_COLUMNS,
}
# Columns added after schema version 1 was published: documented and written by every
# build now, but not required, so older runs still open. Readers fall back when missing.
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    DOCUMENTS_FILE: ("added_step",),
    TOPICS_FILE: ("label_source",),  # only in runs labelled by an LLM ([represent] labels)
    # Dated runs: each merge node's trend scores (NaN/empty on the root, which is not tested).
    HIERARCHY_FILE: SCORE_COLUMNS,
}

# The completeness contract: every build publishes these (docs/artifacts.md lists them);
# dated runs add DATED_ARTIFACTS, updates and refits add LINEAGE_FILE. A test checks
# docs/artifacts.md names each one.
ALWAYS_ARTIFACTS = (
    DOCUMENTS_FILE,
    TOPICS_FILE,
    HIERARCHY_FILE,
    HISTORY_FILE,
    *ARRAYS,
    *(f"{MODEL_DIR}/{f}" for f in MODEL_FILES),
)
DATED_ARTIFACTS = (OVER_TIME_FILE, TRENDS_FILE, KEYWORDS_FILE)


def required_artifacts(manifest: dict) -> list[str]:
    """The files a new build described by ``manifest`` must hold to be published."""
    required = list(ALWAYS_ARTIFACTS)
    if manifest.get("dated"):
        required += DATED_ARTIFACTS
    if (manifest.get("update") or {}).get("kind") in ("update", "refit"):
        required.append(LINEAGE_FILE)
    return required


def is_preview(manifest: dict) -> bool:
    """A preview build (``topictrends build --preview``): static embeddings, with a refined
    build to follow as the run's next build. ``manifest.update.preview`` is true only then;
    absent (every other build, and builds from before it) reads as false."""
    return (manifest.get("update") or {}).get("preview") is True
