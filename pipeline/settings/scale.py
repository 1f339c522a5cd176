"""``[scale]``: fit on a sample, assign every document (docs/scale.md).

Moved here from ``pipeline/config.py`` unchanged (same fields, same ``key()``), so every
cache key stays as it was; ``pipeline.config.ScaleConfig`` still imports it.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from pipeline.settings.base import Section, stable_hash


class ScaleConfig(Section):
    """Fit on a sample, assign every document (docs/performance.md, "Millions of documents").

    Not part of any stage key, nor of the run key, while the corpus is no larger than the
    sample size: then nothing is sampled and the build is exactly what it was without this
    section. Above it, the sample (its size and documents) enters the reduce key.
    """

    fit_sample: int | None = Field(
        None,
        ge=100,
        description="Corpora with more documents than this are fitted (UMAP, clustering) on a sample of this many, stratified by period so that late and small periods are in it; every other document then joins its nearest topic and is placed on the map beside its nearest sampled documents. When unset, 50,000, or a tenth of the corpus above 500,000 documents, at most 200,000.",
    )
    assign_quantile: float = Field(
        0.05,
        gt=0.0,
        lt=1.0,
        description="With [cluster] outlier_reduction = 'none': a document outside the sample joins its nearest topic when at least as similar to its centroid as this share of the sample's topic members are to theirs (at least [cluster] outlier_threshold). With outlier reduction on, [cluster] outlier_threshold is the rule, as for the fit's own outliers.",
    )
    map_neighbors: int = Field(
        5,
        ge=1,
        description="A document outside the sample is placed on the 2-d map at the mean position of this many most similar sampled documents.",
    )
    max_memory: str | None = Field(
        None,
        description="Most memory a build may hold, e.g. '6GB' or '512MiB'. Before each heavy stage (embed, reduce, cluster, keywords) its memory is estimated from the corpus size; a stage that would go over stops the build with one line naming the setting that lowers it (exit 2), instead of the kernel killing it. When unset, 90% of the memory available (MemAvailable, or the cgroup's limit) when the stage starts. Not part of any key.",
    )

    @field_validator("max_memory")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        from pipeline.stages.memory import parse_size

        if value is not None:
            parse_size(value)  # ValueError: pydantic reports the field and the fix
        return value

    def key(self) -> str:
        """``max_memory`` only says when to stop, never what is computed: left out."""
        return stable_hash(self.model_dump(mode="json", exclude={"max_memory"}))
