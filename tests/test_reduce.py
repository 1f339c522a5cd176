"""The reduce stage: UMAP fits side by side give the same layouts as one after another."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import ReduceConfig
from pipeline.stages import embed
from pipeline.stages import reduce as R


def _blobs(n_per: int = 60, k: int = 4, dim: int = 24) -> np.ndarray:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((k, dim)) * 3
    x = np.vstack([c + rng.standard_normal((n_per, dim)) for c in centres]).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_threaded_fits_match_sequential_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _blobs()
    cfg = ReduceConfig(ensemble=2)
    monkeypatch.setattr(R, "fit_workers", lambda n: 1)
    ticks: list[str] = []
    spaces_1, map_1 = R.reduce(x, cfg, tick=ticks.append)
    assert "cluster space 1/2" in ticks and "2-d map" in ticks
    monkeypatch.setattr(R, "fit_workers", lambda n: min(n, 3))
    ticks.clear()
    spaces_3, map_3 = R.reduce(x, cfg, tick=ticks.append)
    assert "3 UMAP fits on 3 threads" in ticks
    assert spaces_1.shape == spaces_3.shape == (2, len(x), 5)
    assert map_1.shape == (len(x), 2)
    # Seeded, single-threaded fits: the thread count changes nothing, bit for bit.
    assert np.array_equal(spaces_1, spaces_3)
    assert np.array_equal(map_1, map_3)
    # The two seeds really are different fits.
    assert not np.array_equal(spaces_1[0], spaces_1[1])


def test_fit_workers_is_bounded_by_fits_and_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(R.THREADS_ENV, raising=False)
    monkeypatch.setattr(embed, "available_cpus", lambda: 3)  # the cores this process may use
    assert [R.fit_workers(n) for n in (1, 2, 3, 50)] == [1, 2, 3, 3]
    monkeypatch.setenv(R.THREADS_ENV, "1")
    assert R.fit_workers(6) == 1
    monkeypatch.setenv(R.THREADS_ENV, "4")  # the variable wins over the cores counted
    assert R.fit_workers(6) == 4 and R.fit_workers(3) == 3
    for bad in ("many", "0", ""):  # not a number of threads: the cores there are
        monkeypatch.setenv(R.THREADS_ENV, bad)
        assert R.fit_workers(6) == 3, bad


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_knn_matches_brute_force_on_any_number_of_threads(
    metric: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = np.random.default_rng(1).normal(size=(700, 12)).astype(np.float32)
    x[5] = x[4]  # a duplicate: still its own first neighbour
    if metric == "cosine":
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        full = 1.0 - unit @ unit.T
    else:
        full = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(full, -1.0)
    ref_idx = np.argsort(full, axis=1, kind="stable")[:, :8]
    ref_dist = np.maximum(np.take_along_axis(full, ref_idx, axis=1), 0)
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv(R.THREADS_ENV, threads)
        results.append(R.exact_knn(x, 8, metric, chunk=64))
    (idx1, dist1), (idx2, dist2) = results
    assert np.array_equal(idx1, idx2) and np.array_equal(dist1, dist2)
    assert (idx1[:, 0] == np.arange(len(x))).all() and (dist1[:, 0] == 0).all()
    assert idx1[4, 1] == 5 and idx1[5, 1] == 4
    # The k smallest distances, in order, and neighbours that really are at them (rows with
    # both duplicates among their neighbours may list the two in either order).
    assert np.allclose(dist1, ref_dist, atol=1e-5)
    chosen = np.maximum(np.take_along_axis(full, idx1, axis=1), 0)
    assert np.allclose(chosen, dist1, atol=1e-5)
    assert all(len(set(row)) == 8 for row in idx1)
