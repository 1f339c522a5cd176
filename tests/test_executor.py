"""The executor seam (pipeline.stages.executor)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.stages.executor import Executor, InProcessExecutor
from pipeline.store.cache import Store


def test_in_process_executor_maps_batches_in_order() -> None:
    ex: Executor = InProcessExecutor()
    got = list(ex.map_batches(lambda b: list(b), list(range(7)), 3))
    assert got == [[0, 1, 2], [3, 4, 5], [6]]


def test_results_come_back_as_each_batch_finishes() -> None:
    """A consumer sees a batch's result before the next batch starts (shards are saved early)."""
    seen: list[str] = []

    def work(batch: Sequence[int]) -> int:
        seen.append(f"run {batch[0]}")
        return batch[0]

    for first in InProcessExecutor().map_batches(work, [0, 1, 2, 3], 2):
        seen.append(f"got {first}")
    assert seen == ["run 0", "got 0", "run 2", "got 2"]


def test_no_items_no_batches_and_a_bad_batch_size_is_refused() -> None:
    assert list(InProcessExecutor().map_batches(len, [], 4)) == []
    with pytest.raises(ValueError, match="batch_size"):
        list(InProcessExecutor().map_batches(len, [1], 0))


def test_a_flow_hands_its_per_document_batches_to_the_executor_it_is_given(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    """The seam a distributed executor plugs into: the flow itself does not change."""
    batches: list[int] = []

    class Counting(InProcessExecutor):
        def map_batches(self, fn, items, batch_size):  # noqa: ANN001, ANN201
            batches.append(len(items))
            return super().map_batches(fn, items, batch_size)

    result = build(str(planted_csv), fast_config, Store(tmp_path / "c"), executor=Counting())
    assert batches and batches[0] == result.manifest["counts"]["documents"]
