"""Clustering (pipeline.stages.cluster)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from pipeline.config import Config


def test_eom_selection_recovers_exactly_the_planted_topics(fast_config: Config) -> None:
    # The reduce and cluster stages alone (what selection changes), not a whole build.
    from pipeline.stages.cluster import cluster
    from pipeline.stages.embed import HashingEmbedder
    from pipeline.stages.reduce import reduce
    from tests.conftest import planted_corpus

    docs = planted_corpus()
    texts = (docs["title"] + ". " + docs["abstract"]).tolist()
    emb = HashingEmbedder().encode(texts)
    cfg = fast_config.with_overrides({"cluster": {"selection_method": "eom"}})
    spaces, _ = reduce(emb, cfg.reduce, texts=texts)
    labels = cluster(spaces, emb, cfg.cluster).labels
    assert len(set(labels.tolist())) == 5
    assert adjusted_rand_score(docs["planted"], labels) > 0.95


def test_renumber_by_size_numbers_topics_largest_first_ties_by_id_outliers_kept() -> None:
    from pipeline.stages.cluster import renumber_by_size

    labels = np.array([7, 3, 3, -1, 7, 5, 5, 9, 3, -1])
    # 3 has three documents; 5 and 7 two each (5 first, the lower id); 9 one
    assert renumber_by_size(labels).tolist() == [2, 0, 0, -1, 2, 1, 1, 3, 0, -1]
    assert renumber_by_size(np.array([-1, -1])).tolist() == [-1, -1]
    assert renumber_by_size(np.array([], dtype=np.int64)).tolist() == []


def _blobs(n_per: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    truth = np.repeat(np.arange(3), n_per)
    return centers[truth] + rng.normal(scale=0.3, size=(len(truth), 2)), truth


def test_knn_consensus_keeps_what_most_runs_agree_on_like_the_dense_one() -> None:
    from pipeline.stages.cluster import consensus, knn_consensus

    x, truth = _blobs()
    merged = np.where(truth == 1, 0, truth)  # one run merges blobs 0 and 1
    noisy = truth.copy()
    noisy[:5] = -1  # another leaves a few documents out
    runs = [truth, merged, noisy]
    raw, probs = knn_consensus(runs, np.stack([x, x, x]), min_size=5)
    assert adjusted_rand_score(truth, raw) == 1.0
    assert adjusted_rand_score(consensus(runs, 5)[0], raw) == 1.0
    assert (probs > 0.5).all() and probs.max() <= 1.0
    # A majority merging two blobs merges them: the runs that merged them had them side by
    # side in their spaces, and the graph holds every run's neighbours.
    side_by_side = np.where((truth == 1)[:, None], x - [2.5, 0.0], x)
    spaces = np.stack([side_by_side, side_by_side, x])
    raw2, _ = knn_consensus([merged, merged, truth], spaces, min_size=5)
    assert adjusted_rand_score(merged, raw2) == 1.0
    # One run in three merging them does not.
    raw3, _ = knn_consensus([merged, truth, truth], spaces, min_size=5)
    assert adjusted_rand_score(truth, raw3) == 1.0


def test_clustering_above_the_dense_limit_takes_the_knn_consensus(monkeypatch) -> None:  # noqa: ANN001
    from pipeline.stages import cluster as cl

    monkeypatch.setattr(cl, "DENSE_CONSENSUS_MAX", 10)
    monkeypatch.setattr(cl, "consensus", None)  # the O(n^2) path must not be taken
    x, truth = _blobs(seed=1)
    spaces = np.stack(
        [x + np.random.default_rng(s).normal(scale=0.05, size=x.shape) for s in range(3)]
    )
    emb = np.hstack([x, np.ones((len(x), 1))])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    result = cl.cluster(spaces, emb, Config().cluster.model_copy(update={"min_cluster_size": 10}))
    assert adjusted_rand_score(truth, result.labels) == 1.0


def test_the_knn_consensus_enters_the_cluster_key_only_where_it_changed_results() -> None:
    """Only an explicit ensemble over more than DENSE_CONSENSUS_MAX fitted documents gets
    a new cluster key; every other run keeps its key and its cache."""
    from types import SimpleNamespace

    from pipeline.config import Config
    from pipeline.stages.cluster import DENSE_CONSENSUS_MAX, key_part

    def ctx(ensemble: int | None, n: int, sample: int | None = None) -> SimpleNamespace:
        cfg = Config().with_overrides({"reduce": {"ensemble": ensemble}})
        picked = None if sample is None else np.arange(sample)
        return SimpleNamespace(cfg=cfg, inputs={"texts": ["t"] * n, "sample": picked})

    big = DENSE_CONSENSUS_MAX + 1
    assert key_part(ctx(3, big)) == "consensus=knn-v1"
    assert key_part(ctx(None, big)) is None  # the automatic ensemble is 1 there
    assert key_part(ctx(1, big)) is None
    assert key_part(ctx(3, DENSE_CONSENSUS_MAX)) is None  # the dense consensus, as before
    assert key_part(ctx(3, 10 * big, sample=DENSE_CONSENSUS_MAX)) is None  # the fit's size
