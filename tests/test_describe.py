"""Topics after an update (pipeline.stages.describe)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.stages.describe import updated_topics


def test_old_topics_keep_label_and_keywords_while_sizes_and_positions_are_recomputed() -> None:
    prev = pd.DataFrame(
        {
            "topic": [0, 1],
            "label": ["stars", "bread"],
            "size": [2, 1],
            "share": [2 / 3, 1 / 3],
            "keywords": [["star"], ["bread"]],
            "x": [0.0, 0.0],
            "y": [0.0, 0.0],
        }
    )
    labels = np.array([0, 0, 1, 1, 1, -1])
    xy = np.array([[0, 0], [2, 2], [5, 5], [7, 7], [9, 9], [0, 9]], dtype=np.float32)

    def no_encoder(texts: list[str]) -> np.ndarray:
        raise AssertionError("nothing new to describe")

    out = updated_topics(
        prev, labels, xy, np.zeros((6, 2)), ["t"] * 6, list("abcdef"), [], Config(), no_encoder
    )
    assert out["topic"].tolist() == [1, 0]  # by size now
    assert out["label"].tolist() == ["bread", "stars"]
    assert out["size"].tolist() == [3, 2]
    assert out["share"].tolist() == [0.5, 2 / 6]
    assert out.loc[out["topic"] == 0, "x"].item() == 1.0
