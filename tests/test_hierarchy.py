"""Hierarchy (pipeline.stages.hierarchy): merge nodes in one id space with the topics."""

from __future__ import annotations

from pipeline.config import HierarchyConfig
from pipeline.stages.hierarchy import COLUMNS, empty, hierarchy


class _TwoTopics:
    """The one method hierarchy() asks of a model before deciding there is nothing to merge."""

    def get_topics(self) -> dict[int, list]:
        return {-1: [], 0: [], 1: []}


def test_disabled_or_too_few_topics_give_an_empty_table_with_the_columns() -> None:
    out = hierarchy(_TwoTopics(), ["a", "b"], HierarchyConfig(enabled=False), {0: 0, 1: 1})
    assert out.empty and list(out.columns) == COLUMNS
    assert dict(empty().dtypes.astype(str)) == {
        "node": "int64",
        "parent": "int64",
        "left": "int64",
        "right": "int64",
        "distance": "float64",
        "label": "object",
        "topics": "object",
    }
