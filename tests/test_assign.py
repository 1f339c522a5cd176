"""Folding new documents into frozen topics (pipeline.stages.assign)."""

from __future__ import annotations

import numpy as np

from pipeline.stages.assign import assign, fold, interpolate_position, nearest, place


def _unit(*rows: list[float]) -> np.ndarray:
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_a_document_joins_the_nearest_topic_only_when_similar_enough() -> None:
    cents = _unit([1, 0, 0], [0, 1, 0])
    docs = _unit([0.9, 0.1, 0], [0, 0, 1])
    labels, probs = assign(docs, cents, np.array([3, 7]), threshold=0.5)
    assert labels.tolist() == [3, -1]
    assert probs[0] > 0.9 and probs[1] == 0


def test_new_documents_are_placed_among_their_most_similar_placed_ones() -> None:
    placed = _unit([1, 0], [0.9, 0.1], [0, 1])
    xy = np.array([[0, 0], [2, 0], [10, 10]], dtype=np.float32)
    out = place(_unit([1, 0.05]), placed, xy, k=2)
    assert out.tolist() == [[1.0, 0.0]]


def test_nearest_is_a_stable_sort_of_each_row_ties_to_the_earlier_column() -> None:
    rng = np.random.default_rng(0)
    for trial in range(60):
        n, k = int(rng.integers(2, 40)), int(rng.integers(1, 12))
        # integer similarities: many ties, some of them at the k-th place
        sims = rng.integers(0, 4, (7, n)).astype(np.float32)
        if trial % 3 == 0:
            sims = rng.random((7, n)).astype(np.float32)
        want = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        assert (nearest(sims.copy(), k) == want).all(), trial


def test_fold_keeps_old_labels_and_assigns_this_steps_documents() -> None:
    emb = _unit([1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0.05, 0.95, 0], [0.9, 0.1, 0])
    labels = np.array([0, 0, 1, 1, -1])
    probs = np.ones(5, dtype=np.float32)
    added = np.array([0, 0, 0, 0, 1])
    folded = fold(emb, labels, probs, added, 1, 0.5, 5, next_id=2)
    assert folded.labels.tolist() == [0, 0, 1, 1, 0]
    assert folded.assigned == 1 and folded.new_topics == []


def test_a_new_topic_sits_between_its_nearest_topics_on_the_map() -> None:
    cents = _unit([1, 0], [0, 1])
    pos = interpolate_position(_unit([1, 1])[0], cents, np.array([[0.0, 0.0], [2.0, 2.0]]), k=2)
    assert np.allclose(pos, [1.0, 1.0], atol=1e-4)


def test_placement_in_small_blocks_equals_one_block(monkeypatch) -> None:  # noqa: ANN001
    """Against many placed documents the blocks shrink (bounded memory), same positions."""
    import pipeline.stages.assign as assign_mod

    rng = np.random.default_rng(3)
    placed = rng.normal(size=(600, 16)).astype(np.float32)
    xy = rng.normal(size=(600, 2)).astype(np.float32)
    new = rng.normal(size=(50, 16)).astype(np.float32)
    whole = place(new, placed, xy, 5)
    monkeypatch.setattr(assign_mod, "PLACE_CELLS", 600 * 7)  # blocks of 7 rows
    shapes: list[tuple[int, int]] = []

    def spy(sims: np.ndarray, k: int) -> np.ndarray:
        shapes.append(sims.shape)
        return nearest(sims, k)

    monkeypatch.setattr(assign_mod, "nearest", spy)
    assert np.array_equal(place(new, placed, xy, 5), whole)
    assert max(rows for rows, _ in shapes) == 7 and len(shapes) == 8  # 50 rows in 8 blocks


def test_member_threshold_in_chunks_equals_the_whole(monkeypatch) -> None:  # noqa: ANN001
    import pipeline.stages.assign as assign_mod
    from pipeline.stages.cluster import topic_centroids

    rng = np.random.default_rng(4)
    emb = rng.normal(size=(500, 8)).astype(np.float16)
    labels = rng.integers(-1, 6, size=500)
    ids = np.unique(labels[labels >= 0])
    cents = topic_centroids(emb, labels, ids)
    kept = labels >= 0
    sims = (emb[kept].astype(np.float32) * cents[np.searchsorted(ids, labels[kept])]).sum(axis=1)
    expected = max(-1.0, round(float(np.quantile(sims, 0.05)), 6))
    monkeypatch.setattr(assign_mod, "CHUNK", 37)
    assert assign_mod.member_threshold(emb, labels, 0.05, -1.0) == expected


def test_new_documents_are_placed_beside_a_seeded_reference_above_the_sample_size() -> None:
    from pipeline.stages.assign import place_reference

    assert place_reference(500, 1000, 42) == slice(0, 500)  # every placed document
    ref = place_reference(5000, 1000, 42)
    assert isinstance(ref, np.ndarray) and len(ref) == 1000 and len(np.unique(ref)) == 1000
    assert np.array_equal(ref, np.sort(ref)) and ref.max() < 5000
    assert np.array_equal(ref, place_reference(5000, 1000, 42))  # same on every machine
    assert not np.array_equal(ref, place_reference(5000, 1000, 7))
