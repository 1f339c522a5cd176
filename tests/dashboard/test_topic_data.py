"""topic_data: the topic table, neighbours, representative documents."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard import topic_data


def test_nearest_topics_by_cosine():
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    near = topic_data.nearest_topics(emb, 0, k=2)
    assert [t for t, _ in near] == [1, 2]
    assert near[0][1] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    assert topic_data.nearest_topics(emb, 9) == []


def test_representative_docs_keep_the_stored_order(dated_run):
    t = int(dated_run.topics["topic"].iloc[0])
    rep = topic_data.representative_docs(dated_run.docs, dated_run.topics, t)
    ids = [str(i) for i in dated_run.topics.iloc[0]["representative_doc_ids"]]
    assert rep["doc_id"].astype(str).tolist() == ids


def test_topics_table_search_and_sparklines(dated_run):
    full = topic_data.topics_table(dated_run.topics, dated_run.over_time, dated_run.trends)
    assert len(full) == len(dated_run.topics)
    assert {"share_over_time", "category", "growth"} <= set(full.columns)
    n_periods = dated_run.over_time["period_start"].nunique()
    assert all(len(s) == n_periods for s in full["share_over_time"])
    word = str(dated_run.topics["keywords"].iloc[0][0])
    hits = topic_data.topics_table(dated_run.topics, None, None, query=word.upper())
    assert 0 < len(hits) <= len(full) and "share_over_time" not in hits.columns
    assert topic_data.topics_table(dated_run.topics, None, None, query="zzzz-nothing").empty


def test_nearest_topics_skip_unused_ids():
    emb = np.array([[1.0, 0.0], [0.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    assert [t for t, _ in topic_data.nearest_topics(emb, 0, k=5)] == [2, 3]


def test_label_note_names_the_llm_only_for_its_labels():
    import pandas as pd

    topics = pd.DataFrame({"topic": [0, 1], "label_source": ["llm", "keywords"]})
    manifest = {"config": {"llm": {"model": "qwen2.5"}}}
    assert "LLM (qwen2.5)" in topic_data.label_note(topics, 0, manifest)
    assert topic_data.label_note(topics, 1, manifest) is None
    assert topic_data.label_note(topics.drop(columns="label_source"), 0, manifest) is None
    assert topic_data.label_note(topics, 7, manifest) is None
