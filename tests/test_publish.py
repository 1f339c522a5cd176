"""Publishing a flow's results (pipeline.flows.publish): documents table and manifest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.flows.publish import Outcome, assemble_manifest, documents_table, update_section
from pipeline.stages.ingest import Corpus


def _outcome(labels: list[int]) -> Outcome:
    n = len(labels)
    return Outcome(
        labels=np.array(labels),
        probs=np.ones(n),
        xy=np.arange(2 * n, dtype=float).reshape(n, 2),
        embeddings=np.zeros((n, 4)),
        topics=pd.DataFrame({"topic": [0]}),
        topic_embeddings=np.zeros((1, 4)),
        hierarchy=None,
        tables={},
        trends_info=None,
        extra={},
    )


def _docs(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(n)],
            "title": "t",
            "text": "x",
            "date": pd.to_datetime(["2024-01-01"] * (n - 1) + [None]),
            "date_precision": "day",
            "url": None,
            "venue": "A",
        }
    )


def test_model_columns_go_between_the_core_columns_and_the_metadata() -> None:
    out = documents_table(_docs(3), _outcome([0, -1, 0]), np.array([0, 0, 1]))
    assert list(out.columns) == [
        "doc_id", "title", "text", "date", "date_precision", "url",
        "topic", "topic_prob", "x", "y", "added_step", "venue",
    ]  # fmt: skip
    assert out["topic"].dtype == np.int64 and out["x"].dtype == np.float32


def test_the_manifest_counts_and_sections_come_from_one_place() -> None:
    docs = _docs(3)
    corpus = Corpus(
        name="c", source="c.csv", docs=docs, metadata_columns=["venue"], columns={},
        n_input=3, n_empty=0, n_duplicate=0, notes=[],
    )  # fmt: skip
    out = _outcome([0, -1, 0])
    sections = {"update": update_section("build", 0, None, 3, [0], 0, 0), "run_key": "k"}
    m = assemble_manifest({"run": "c"}, corpus, docs, out, sections, {"reassigned_outliers": 1})
    assert m["counts"] == {
        "documents": 3,
        "topics": 1,
        "outliers": 1,
        "outlier_share": 0.3333,
        "reassigned_outliers": 1,
        "dated_documents": 2,
    }
    assert m["date_span"] == ["2024-01-01", "2024-01-01"] and m["run"] == "c"
    assert m["trends_absent_reason"] is None and m["update"]["new_topics"] == [0]
