"""Preview then refine: a first view from the static backend, refined by the configured one.

``topictrends build --preview`` on a run with no build yet: the transformer embeds about 13
documents a second on a 2-core CPU, so the first view of a large corpus would wait hours
for it. The static backend (model2vec distilled from the same MiniLM, docs/performance.md)
embeds the corpus in a fraction of that, so the preview is built and published with it
first (``manifest.update.preview = true``); the dashboard shows it at once. Then the same
corpus is built with the configured backend as a refit of the preview
(``pipeline.flows.refit``): the refined build is published as the run's next build, its
topics keep the preview's ids where they are the same topic (matched by shared documents
and keywords: the two embedding spaces are never compared, ``lineage.comparable``), and
``lineage.parquet`` relates it to the preview.

The refine runs in the foreground of the same command, after the preview is published, so
that the dashboard already shows the preview while it runs. Each build publishes atomically,
so an interrupted or failed refine leaves the preview published and intact; running the
same command again reuses the preview (it is up to date) and refines it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.errors import CacheError, UserError
from pipeline.flows.build import build
from pipeline.flows.run import BuildResult, previous
from pipeline.progress import Reporter
from pipeline.stages.executor import Executor
from pipeline.stages.ingest import resolve_input
from pipeline.store.cache import Store
from pipeline.store.contract import is_preview

PREVIEW_BACKEND = "static"


@dataclass
class Previewed:
    """What ``build_with_preview`` did: the preview (None when it built normally) and the
    final build; ``skipped`` says why no preview was made."""

    preview: BuildResult | None
    result: BuildResult
    skipped: str | None = None


class RefineInterrupted(KeyboardInterrupt):
    """Ctrl-C during the refine: the message says the preview stays published."""


def why_no_preview(store: Store, name: str, cfg: Config) -> str | None:
    """Why ``--preview`` builds normally here, or None when a preview comes first.

    A preview only helps before the run's first build with a slower backend: a run that
    already has a refined (or any non-preview) build is shown from that one meanwhile.
    """
    if cfg.embed.backend == PREVIEW_BACKEND:
        return f"the configured backend is already '{PREVIEW_BACKEND}'"
    try:
        current = previous(store, name)
    except CacheError:  # an unreadable build shows nothing either: preview, then refine
        current = None
    if current is not None and not is_preview(current.manifest):
        return f"run '{name}' already has a build that is not a preview"
    return None


def preview_config(cfg: Config) -> Config:
    """The configured settings with the static backend (every other section unchanged)."""
    return cfg.with_overrides({"embed": {"backend": PREVIEW_BACKEND}})


def build_with_preview(
    spec: str,
    cfg: Config,
    store: Store,
    name: str | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
    on_preview: Callable[[BuildResult], None] | None = None,
) -> Previewed:
    """Build a preview with the static backend, publish it, then refine it with ``cfg``.

    ``on_preview`` is called once the preview is published (the CLI says it can be viewed).
    When ``why_no_preview`` gives a reason, this is a plain ``build``. ``force`` rebuilds the
    preview even when it is up to date; the refine always runs (it is a refit).
    """
    name = name or resolve_input(spec)[1]
    if reason := why_no_preview(store, name, cfg):
        result = build(spec, cfg, store, name, force, reporter, executor=executor)
        return Previewed(None, result, reason)
    first = build(
        spec, preview_config(cfg), store, name, force, reporter, executor=executor, preview=True
    )
    if on_preview is not None:
        on_preview(first)
    stays = (
        f"the preview build {first.run_dir.resolve().name} of run '{name}' stays published; "
        "run the same command again to refine it"
    )
    try:
        refined = build(spec, cfg, store, name, reporter=reporter, refit=True, executor=executor)
    except KeyboardInterrupt as exc:
        raise RefineInterrupted(f"interrupted while refining: {stays}") from exc
    except UserError as exc:
        raise UserError(f"{exc} The refine stopped: {stays}.") from exc
    except Exception as exc:  # a bug keeps its traceback; the note says what is left
        exc.add_note(f"The refine stopped: {stays}.")
        raise
    return Previewed(first, refined)
