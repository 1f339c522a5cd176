"""Where per-document work runs: the seam a distributed executor plugs into.

A flow never loops over documents itself: a stage that works document by document
(embedding today; topic assignment and map placement next) hands its batches to an
``Executor``, which may run them anywhere and in any order, but returns the results in
batch order. Each batch's function saves its own output (a shard written by whichever
worker ran it), so an interrupted run resumes from the shards already written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs a function over consecutive batches of items."""

    def map_batches(
        self, fn: Callable[[Sequence[T]], R], items: Sequence[T], batch_size: int
    ) -> Iterator[R]:
        """``fn`` over ``items[0:batch_size]``, ``items[batch_size:2*batch_size]``, ...

        Results come back in batch order, one per batch, each as soon as it is ready.
        """
        ...


class InProcessExecutor:
    """Runs every batch in this process, one after the other (today's only executor)."""

    def map_batches(
        self, fn: Callable[[Sequence[T]], R], items: Sequence[T], batch_size: int
    ) -> Iterator[R]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        for start in range(0, len(items), batch_size):
            yield fn(items[start : start + batch_size])
