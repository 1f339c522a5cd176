"""Every stage, declared once, in the order the flows run them.

A declaration names the stage, the stages and corpus inputs and config sections its cache
key is made of (in that order), the function that computes it and the files it keeps in
the stage cache (``pipeline.stages.base``). The key chain this gives::

    embed              content hash of every document x embedding key (backend, model, ...)
    reduce             embed key + [reduce] (+ fit sample and [scale], above its size)
    cluster            reduce key + [cluster] (+ the kNN consensus, ensembles above 6,000)
    represent          cluster key + texts + doc ids + [represent] + reduce seed
    hierarchy          represent key + [hierarchy]
    trends             cluster key + dates + period + [trends] + the hierarchy's nodes
    keywords_over_time trends key without the hierarchy part + texts + [represent]

(``label`` has no key: with LLM labels its answers are cached per topic instead.)

so changing a clustering knob reuses the embeddings and the UMAP layout. ``flows`` says
which flows run a stage: a build (and a refit) runs the ``build`` ones, an update the
``update`` ones, where ``assign`` and ``describe`` take the place of clustering and
representation. Adding a stage is one entry here plus its module and its test.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.stages import (
    assign,
    cluster,
    describe,
    embed,
    hierarchy,
    keywords,
    label,
    over_time,
    reduce,
    represent,
    sample,
    themes,
    trends,
)
from pipeline.stages.base import Context, Stage

BOTH = ("build", "update")


def _dated(ctx: Context) -> bool:
    return bool(ctx.inputs["dated"])


# The trends stage: its key ends with the hierarchy it scores (``themes.key_part``).
TRENDS = Stage(
    "trends",
    trends.run,
    after=("cluster",),
    data=("dates", "period"),
    config=("trends",),
    artifacts=("trends", "themes", "info"),
    flows=BOTH,
    when=_dated,
    extra=themes.key_part,
)


def _keywords_key(ctx: Context) -> str:
    """trends key + texts + [represent], with the trends key as it is made without the
    hierarchy part: the keywords per period do not depend on the hierarchy, so the theme
    calls added to the trends stage leave this key (and its cached results) as they were."""
    from pipeline.config import stable_hash
    from pipeline.stages.base import DATA_PARTS

    base = ctx.stage_key(replace(TRENDS, extra=None))
    return stable_hash([base, DATA_PARTS["texts"](ctx.inputs), ctx.config_part("represent")])


REGISTRY: tuple[Stage, ...] = (
    Stage(
        "embed",
        embed.run,
        key=embed.stage_key,
        flows=BOTH,
        total=lambda ctx: len(ctx.inputs["texts"]),
    ),
    Stage(
        "reduce",
        reduce.run,
        after=("embed",),
        config=("reduce",),
        artifacts=("spaces", "xy"),
        extra=sample.key_part,  # the fit sample, above [scale] fit_sample only
    ),
    Stage(
        "cluster",
        cluster.run,
        after=("reduce",),
        config=("cluster",),
        artifacts=("labels", "probs", "info"),
        extra=cluster.key_part,  # the kNN consensus, above DENSE_CONSENSUS_MAX only
    ),
    Stage(
        "represent",
        represent.run,
        after=("cluster",),
        data=("texts", "doc_ids"),
        config=("represent", "reduce.seed"),
        artifacts=("topics", "topic_embeddings"),
        transient=("model", "model_ids"),
        usable=represent.model_saved,
    ),
    Stage(
        "hierarchy",
        hierarchy.run,
        after=("represent",),
        config=("hierarchy",),
        artifacts=("hierarchy",),
        uses=("represent.model", "represent.model_ids"),
        # The model is saved after the hierarchy is read from it, as it always was; a build
        # killed in between leaves both results cached without model/ (``usable`` above).
        finish=represent.keep_model,
    ),
    Stage("assign", assign.run, flows=("update",)),
    Stage("describe", describe.run, flows=("update",), shown_as="represent"),
    # Never stage-cached: LLM answers are cached per topic (pipeline.stages.label).
    Stage("label", label.run, flows=BOTH),
    Stage("over_time", over_time.run, flows=BOTH, when=_dated),
    TRENDS,
    Stage(
        "keywords_over_time",
        keywords.run,
        after=("trends",),
        data=("texts",),
        config=("represent",),
        artifacts=("keywords",),
        flows=BOTH,
        shown_as="trends",
        when=_dated,
        key=_keywords_key,
    ),
)


def chain(flow: str, registry: tuple[Stage, ...] | None = None) -> tuple[Stage, ...]:
    """The stages ``flow`` runs, in order."""
    return tuple(s for s in (registry or REGISTRY) if flow in s.flows)


# The progress entries of a build, in order: what the dashboard's progress bar counts.
STAGES: tuple[str, ...] = (
    "ingest",
    *dict.fromkeys(s.progress for s in chain("build")),
    "publish",
)
