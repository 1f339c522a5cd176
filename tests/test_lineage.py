"""Lineage (pipeline.flows.lineage): how one build's topics relate to the previous build's."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_relations_on_a_hand_made_refit() -> None:
    """Every relation at once, with the overlaps and similarities chosen by hand.

    Previous topics A, B, C, D (10 papers each); the refit finds X = A, Y = half of B,
    Z = the other half of B plus all of C, nothing for D, and W from 10 new papers.
    """
    from pipeline.config import UpdateConfig
    from pipeline.flows.lineage import TopicSet, refit_lineage, relation_of_topics, renumber_tables

    eye = np.eye(5, dtype=np.float32)
    z = (eye[1] + eye[2]) / np.sqrt(2)
    prev = TopicSet(
        ids=np.array([0, 1, 2, 3]),
        labels=["a", "b", "c", "d"],
        sizes=np.array([10, 10, 10, 10]),
        keywords=[["a1", "a2"], ["b1", "b2"], ["c1", "c2"], ["d1", "d2"]],
        centroids=eye[:4],
    )
    new = TopicSet(
        ids=np.array([0, 1, 2, 3]),  # the refit's own ids, by size: Z, X, W, Y
        labels=["z", "x", "w", "y"],
        sizes=np.array([15, 10, 10, 5]),
        keywords=[["c1", "c2"], ["a1", "a2"], ["w1", "w2"], ["b1", "b2"]],
        centroids=np.stack([z, eye[0], eye[4], eye[1]]),
    )
    docs = {f"{p}{i}": t for t, p in enumerate("abcd") for i in range(10)}
    prev_docs = pd.Series(docs)
    refit = {f"a{i}": 1 for i in range(10)}
    refit |= {f"b{i}": 3 if i < 5 else 0 for i in range(10)}
    refit |= {f"c{i}": 0 for i in range(10)}
    refit |= {f"d{i}": -1 for i in range(10)}
    refit |= {f"w{i}": 2 for i in range(10)}
    fit = refit_lineage(prev, new, prev_docs, pd.Series(refit), UpdateConfig(), next_id=7)
    assert fit.id_map == {0: 2, 1: 0, 2: 7, 3: 1}, "Z keeps C's id, X A's, Y B's; W is fresh"
    got = {
        (
            None if pd.isna(r.previous_topic) else int(r.previous_topic),
            None if pd.isna(r.topic) else int(r.topic),
            r.relation,
        ): (r.document_overlap, r.shared_documents)
        for r in fit.lineage.itertuples()
    }
    assert set(got) == {
        (0, 0, "same"),
        (1, 1, "split"),
        (1, 2, "split"),
        (1, 2, "merged"),
        (2, 2, "merged"),
        (3, None, "gone"),
        (None, 7, "new"),
    }
    assert got[(1, 2, "split")] == (0.5, 5) and got[(2, 2, "merged")] == (1.0, 10)
    assert fit.ids_kept == 3 and fit.kept_labels == {0: "a"}
    assert relation_of_topics(fit.lineage) == {0: "same", 1: "split", 2: "merged", 7: "new"}

    hierarchy = pd.DataFrame(
        {
            "node": [4, 5, 6],
            "parent": [5, 6, -1],
            "left": [0, 4, 5],
            "right": [3, 1, 2],
            "distance": [0.1, 0.2, 0.3],
            "label": ["", "", ""],
            "topics": [[0, 3], [0, 1, 3], [0, 1, 2, 3]],
        }
    )
    topics = pd.DataFrame({"topic": [0, 1, 2, 3], "label": list("zxwy")})
    labels, topics, emb, hier, _ = renumber_tables(
        fit.id_map, np.array([0, 1, -1, 3]), topics, new.centroids, hierarchy, {}
    )
    assert labels.tolist() == [2, 0, -1, 1]
    assert topics["topic"].tolist() == [2, 0, 7, 1]
    assert emb.shape == (8, 5) and not emb[3:7].any() and np.allclose(emb[7], eye[4])
    assert hier["node"].tolist() == [8, 9, 10] and hier["parent"].tolist() == [9, 10, -1]
    assert hier["left"].tolist() == [2, 8, 9] and hier["right"].tolist() == [1, 0, 7]
    assert hier["topics"].tolist() == [[1, 2], [0, 1, 2], [0, 1, 2, 7]]


def test_centroids_from_two_embedding_spaces_are_never_compared() -> None:
    """A preview (static backend) refined by the transformer: both at 384 dimensions.

    The centroids are made to point the wrong way (refit topic 0 sits on previous topic 1's
    centroid and vice versa) while the documents say topic 0 is topic 0. Within one space
    the centroids decide; across spaces they must not count at all, and the documents both
    builds share take the cosine's place.
    """
    from pipeline.config import UpdateConfig
    from pipeline.flows.lineage import TopicSet, embedding_space, refit_lineage, topic_similarity

    eye = np.eye(384, dtype=np.float32)
    static = embedding_space("static", "all-MiniLM-L6-v2", 384)
    minilm = embedding_space("sentence-transformers", "all-MiniLM-L6-v2", 384)

    def topics(centroids: np.ndarray, space: str) -> TopicSet:
        return TopicSet(
            ids=np.array([0, 1]),
            labels=["p", "q"],
            sizes=np.array([10, 10]),
            keywords=[["k1"], ["k2"]],
            centroids=centroids,
            space=space,
        )

    prev = topics(eye[:2], static)
    docs = pd.Series({f"d{i}": i // 10 for i in range(20)})
    cfg = UpdateConfig()
    same_space = refit_lineage(prev, topics(eye[[1, 0]], static), docs, docs, cfg, next_id=2)
    assert same_space.id_map == {0: 1, 1: 0}, "one space: the centroids decide"
    across = refit_lineage(prev, topics(eye[[1, 0]], minilm), docs, docs, cfg, next_id=2)
    assert across.id_map == {0: 0, 1: 1}, "two spaces: the shared documents decide"
    assert set(across.lineage["relation"]) == {"same"}
    assert across.lineage["similarity"].tolist() == [1.0, 1.0]
    # Without documents to go by, the keywords alone: no cosine of two spaces leaks in.
    sim = topic_similarity(prev, topics(eye[[1, 0]], minilm), cfg)
    assert np.array_equal(sim, np.eye(2))
