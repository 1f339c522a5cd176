"""``fold`` when the coherence filter thins a HDBSCAN cluster (issue 14).

HDBSCAN is replaced by a fixed clustering of crafted papers, so these reach the line that
crashed ("shape mismatch": the members were filtered and their strengths were not).
"""

from __future__ import annotations

import numpy as np
import pytest

import pipeline.update as upd


def _crafted(rng: np.random.Generator, sizes: list[tuple[int, int]]) -> np.ndarray:
    """Unit rows: 10 old papers near axis 0, then per cluster ``coherent`` papers near one
    axis each and ``loose`` ones on an axis of their own (unrelated to everything)."""
    dim = 2 + sum(c + 1 + loose for c, loose in sizes)
    rows = [np.eye(dim)[0] + rng.normal(0, 0.05, dim) for _ in range(10)]
    axis = 1
    for coherent, loose in sizes:
        rows += [np.eye(dim)[axis] + rng.normal(0, 0.05, dim) for _ in range(coherent)]
        axis += 1
        for _ in range(loose):
            rows.append(np.eye(dim)[axis])
            axis += 1
    e = np.array(rows, dtype=np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def _fold_with_clusters(
    monkeypatch: pytest.MonkeyPatch, sizes: list[tuple[int, int]]
) -> tuple[upd.Folded, np.ndarray]:
    """fold() over crafted papers, HDBSCAN replaced by one cluster per entry of ``sizes``."""
    e = _crafted(np.random.default_rng(0), sizes)
    found = np.concatenate([np.full(c + loose, i) for i, (c, loose) in enumerate(sizes)])
    strength = np.linspace(0.1, 1.0, len(found)).astype(np.float32)
    monkeypatch.setattr(upd, "detect", lambda emb, size: (found.astype(np.int64), strength))
    n = len(e)
    labels = np.r_[np.zeros(10), np.full(n - 10, -1)].astype(np.int64)
    added = np.r_[np.zeros(10), np.ones(n - 10)].astype(np.int64)
    folded = upd.fold(e, labels, np.ones(n, np.float32), added, 1, 0.5, 5, next_id=7)
    return folded, strength


def test_fold_keeps_each_members_own_strength_when_the_filter_thins_a_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """6 papers on one subject plus 4 unrelated ones that HDBSCAN put in their cluster."""
    folded, strength = _fold_with_clusters(monkeypatch, [(6, 4)])
    assert folded.new_topics == [7]
    assert folded.labels[10:16].tolist() == [7] * 6, "the coherent six form the topic"
    assert folded.labels[16:].tolist() == [-1] * 4, "the unrelated four stay out"
    assert np.allclose(folded.probs[10:16], strength[:6]), "each member keeps its own strength"
    assert (folded.probs[16:] == 0).all() and folded.in_new_topics == 6
    assert folded.labels[:10].tolist() == [0] * 10 and (folded.probs[:10] == 1).all()


def test_fold_numbers_new_topics_by_what_the_filter_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HDBSCAN's larger cluster (5 + 3 loose) keeps 5, its smaller one (6) keeps 6: the
    six-paper topic is the larger and gets the first id."""
    folded, strength = _fold_with_clusters(monkeypatch, [(5, 3), (6, 0)])
    assert folded.new_topics == [7, 8]
    assert folded.labels[10:15].tolist() == [8] * 5 and folded.labels[15:18].tolist() == [-1] * 3
    assert folded.labels[18:24].tolist() == [7] * 6
    assert np.allclose(folded.probs[18:24], strength[8:14])
