"""lineage_data: the lineage, history and update tables, on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from frames import topics_frame

from dashboard.lineage_data import (
    lineage_rows,
    relation_counts,
    sizes_at_step,
    topic_history_rows,
    topic_lineage,
    update_info,
)
from pipeline.store.contract import RELATIONS


def test_lineage_rows_orders_by_relation_and_filters(lineage):
    rows = lineage_rows(lineage)
    assert list(rows["relation"]) == ["grew", "split", "split", "merged", "merged", "new", "gone"]
    assert list(rows.loc[rows["relation"] == "merged", "previous_topic"]) == [2, 3]
    only = lineage_rows(lineage, ["new", "gone"])
    assert list(only["relation"]) == ["new", "gone"]
    assert only["previous_topic"].isna().iloc[0] and only["topic"].isna().iloc[1]
    # A lineage written without the optional columns still makes the full table.
    bare = lineage_rows(lineage[["previous_topic", "topic", "relation"]])
    assert list(bare.columns) == list(lineage_rows(lineage).columns)
    assert len(bare) == len(rows) and bare["shared_documents"].isna().all()


def test_relation_counts_in_contract_order(lineage):
    assert relation_counts(lineage) == {"grew": 1, "split": 2, "merged": 2, "new": 1, "gone": 1}
    assert list(relation_counts(lineage)) == [r for r in RELATIONS if r != "same"]


def test_topic_lineage_lists_merge_partners_and_split_siblings(lineage):
    merged = topic_lineage(lineage, 2)
    assert sorted(merged["previous_topic"]) == [2, 3] and set(merged["topic"]) == {2}
    split = topic_lineage(lineage, 5)  # 5 came from 1, which also became 1
    assert sorted(zip(split["previous_topic"], split["topic"], strict=True)) == [(1, 1), (1, 5)]
    new = topic_lineage(lineage, 6)
    assert list(new["relation"]) == ["new"]
    assert topic_lineage(lineage, 99).empty


def test_topic_history_rows(history):
    rows = topic_history_rows(history, 0)
    assert list(rows["step"]) == [0, 1, 2]
    assert list(rows["size"]) == [20, 30, 31]
    assert list(rows["relation"]) == ["new", "grew", "same"]
    assert list(rows["date"]) == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert list(rows.columns) == ["step", "date", "build", "label", "size", "relation"]
    assert topic_history_rows(history, 7).empty


def test_sizes_at_step(history):
    assert sizes_at_step(history, 1) == {0: 30, 1: 10}
    assert sizes_at_step(None, 0) == {}


def test_update_info_counts_added_documents_and_newtopics_frame(lineage):
    manifest = {
        "created_at": "2026-02-01T00:00:00+00:00",
        "update": {
            "kind": "update",
            "step": 2,
            "previous_build": "b1",
            "new_documents": 999,  # the documents table wins when it has added_step
            "new_topics": [7],
            "ids_kept": 4,
            "ids_previous": 5,
        },
    }
    docs = pd.DataFrame({"added_step": np.array([0, 1, 2, 2, 2], dtype=np.int64)})
    topics = topics_frame([0, 1, 2, 5, 6, 7], [30, 10, 19, 4, 3, 8])
    info = update_info(manifest, docs, topics, lineage)
    assert info is not None
    assert info.new_documents == 3 and info.step == 2 and info.kind == "update"
    assert list(info.new_topics["topic"]) == [7, 6]  # manifest + lineage, largest first
    assert (info.ids_kept, info.ids_previous, info.previous_build) == (4, 5, "b1")
    # Without added_step the manifest's count is used.
    info = update_info(manifest, docs.drop(columns="added_step"), topics, None)
    assert info.new_documents == 999 and list(info.new_topics["topic"]) == [7]


@pytest.mark.parametrize(
    "manifest",
    [{}, {"update": None}, {"update": {"kind": "build", "step": 0}}, {"update": {"step": "x"}}],
)
def test_update_info_is_none_without_an_update(manifest):
    docs = pd.DataFrame({"added_step": np.zeros(3, dtype=np.int64)})
    assert update_info(manifest, docs, topics_frame([0], [3]), None) is None
