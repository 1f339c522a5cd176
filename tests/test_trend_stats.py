"""Where a topic really starts (pipeline.stages.trend_stats.real_start); the other statistics
are tested through compute_trends in test_trends.py."""

from __future__ import annotations

import numpy as np

from pipeline.stages.trend_stats import real_start


def _start(row: list[int], totals: list[int]) -> tuple[int, int]:
    start, skipped = real_start(np.array([row]), np.array(totals, dtype=float))
    return int(start[0]), int(skipped[0])


def test_an_isolated_document_far_before_a_dense_start_is_skipped() -> None:
    totals = [100] * 20
    row = [1] + [0] * 14 + [10] * 5  # 1 then 14 empty periods of 100 (10% expected: 140)
    assert _start(row, totals) == (15, 1)


def test_an_early_document_in_a_sparse_era_is_kept() -> None:
    # The same topic, but the gap held 2 documents a period: 2.8 expected, not telling.
    totals = [2] * 15 + [100] * 5
    row = [1] + [0] * 14 + [10] * 5
    assert _start(row, totals) == (0, 0)


def test_a_short_gap_next_to_a_long_life_is_kept() -> None:
    # 1 document, 5 empty periods of 100, then 30 periods of the topic: near, not isolated.
    totals = [100] * 36
    row = [1] + [0] * 5 + [10] * 30
    assert _start(row, totals) == (0, 0)


def test_more_than_a_few_leading_documents_are_a_real_start() -> None:
    totals = [100] * 20
    row = [3] + [0] * 14 + [10] * 5  # 3 of 53 documents: over 5%
    assert _start(row, totals) == (0, 0)
    assert _start([0] * 20, totals) == (-1, 0)
