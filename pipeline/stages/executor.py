"""Where per-document work runs: the seam a distributed executor plugs into.

A flow never loops over documents itself: a stage that works document by document
(embedding; the topic assignment and map placement of the documents outside the fit
sample) hands its batches to an ``Executor``, which may run them anywhere, but returns
the results in item order. Each embedding batch's function saves its own output (a shard
written by whichever worker ran it), so an interrupted run resumes from the shards
already written.

The batch functions are picklable objects (``embed.EmbedBatch``, ``base.ShardBatch``,
``assign.AssignBatch``, ``assign.PlaceBatch``) rather than closures, so the same function
runs here (``InProcessExecutor``) or in a Ray actor (``pipeline.stages.ray_executor``), which
keeps it, and the model it loads, for all the batches it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from pipeline.settings.engine import EngineConfig

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs a function over consecutive batches of items."""

    # True when batches run in other processes: progress is then counted per batch
    # returned, since a remote function cannot tick this process's progress bar.
    remote: bool

    def map_batches(
        self, fn: Callable[[Sequence[T]], R], items: Sequence[T], batch_size: int
    ) -> Iterator[R]:
        """``fn`` over consecutive batches of at most ``batch_size`` items.

        Results come back in item order, one per batch, each as soon as it is ready.
        """
        ...


class InProcessExecutor:
    """Runs every batch in this process, one after the other ([engine] kind = "local")."""

    remote = False

    def map_batches(
        self, fn: Callable[[Sequence[T]], R], items: Sequence[T], batch_size: int
    ) -> Iterator[R]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        for start in range(0, len(items), batch_size):
            yield fn(items[start : start + batch_size])


def gather(
    executor: Executor,
    fn: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    items: np.ndarray,
    batch_size: int,
) -> tuple[np.ndarray, ...]:
    """``fn`` over the rows of ``items`` through ``executor``, its outputs concatenated.

    ``fn`` maps a block of rows to a tuple of arrays with one row per input row, so the
    result does not depend on where the batches ran or how they were cut.
    """
    parts = list(executor.map_batches(fn, items, batch_size)) if len(items) else []
    if not parts:
        return tuple(np.asarray(x)[:0] for x in fn(items[:0]))
    return tuple(np.concatenate(cols) for cols in zip(*parts, strict=True))


def make_executor(cfg: EngineConfig) -> Executor:
    """The executor ``[engine]`` asks for; Ray is imported only for kind = "ray"."""
    if cfg.kind == "ray":
        from pipeline.stages.ray_executor import RayExecutor

        return RayExecutor(cfg)
    return InProcessExecutor()
