"""Fit on a sample, assign every document (pipeline.stages.sample, issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Config, ScaleConfig
from pipeline.flows.build import build
from pipeline.flows.run import corpus_inputs
from pipeline.periods import resolve_period
from pipeline.stages import sample
from pipeline.stages.ingest import ingest
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from pipeline.store.contract import DOCUMENTS_FILE
from tests.conftest import planted_corpus

LATE = "2024-01-15"  # a small, late period: 3 documents after a year of 200


def _corpus(tmp_path: Path) -> Path:
    df = planted_corpus()
    late = df[df["planted"] == "astronomy"].head(3).copy()
    late["id"] = [f"late-{i}" for i in range(len(late))]
    late["abstract"] = late["abstract"] + " late"
    late["date"] = LATE
    path = tmp_path / "corpus.csv"
    pd.concat([df, late], ignore_index=True).to_csv(path, index=False)
    return path


def _sampled(fast_config: Config, size: int = 100) -> Config:
    return fast_config.with_overrides({"scale": {"fit_sample": size}, "time": {"period": "month"}})


def test_auto_size_is_above_the_bundled_corpora() -> None:
    assert sample.fit_sample_size(ScaleConfig(), 22_927) == 50_000
    assert sample.fit_sample_size(ScaleConfig(), 1_000_000) == 100_000
    assert sample.fit_sample_size(ScaleConfig(), 10_000_000) == 200_000
    assert sample.fit_sample_size(ScaleConfig(fit_sample=300), 10_000) == 300


def test_sample_is_stratified_by_period(tmp_path: Path, fast_config: Config) -> None:
    cfg = _sampled(fast_config)
    corpus = ingest(_corpus(tmp_path), "c", cfg.ingest)
    docs = corpus.docs
    period = resolve_period(cfg.time.period, docs["date"], docs["date_precision"])
    inputs = corpus_inputs(corpus, period)
    picked = sample.choose(cfg, inputs)
    assert picked is not None and len(picked) == 100
    assert len(np.unique(picked)) == 100
    late = np.where(docs["doc_id"].str.startswith("late-").to_numpy())[0]
    # In proportion the late month would get 3/203 of 100 = 1.5 documents, and a plain
    # random draw often none; every period keeps a floor share (100 / (2 x 13 months) = 3).
    assert np.isin(late, picked).all()
    groups = sample.strata(inputs)
    assert set(np.unique(groups[picked])) == set(np.unique(groups))
    # The same corpus and settings draw the same sample.
    assert np.array_equal(picked, sample.choose(cfg, inputs))


def test_allocation_fills_the_sample_and_never_exceeds_a_stratum() -> None:
    counts = np.array([1000, 5, 300, 1])
    take = sample._allocate(counts, 200)
    assert take.sum() == 200
    assert (take <= counts).all() and (take >= np.minimum(counts, 25)).all()


def test_sampled_build_assigns_and_places_every_document(
    tmp_path: Path, fast_config: Config
) -> None:
    path = _corpus(tmp_path)
    cfg = _sampled(fast_config)
    result = build(str(path), cfg, Store(tmp_path / "a"))
    docs = open_run(result.run_dir).read_table(DOCUMENTS_FILE)
    assert len(docs) == 203
    assert docs["topic"].notna().all() and np.isfinite(docs[["x", "y"]].to_numpy()).all()
    # The planted topics are found, and documents outside the sample join them.
    assert (docs["topic"] >= 0).mean() > 0.9
    purity = (
        docs[docs["topic"] >= 0]
        .groupby("topic")["planted"]
        .agg(lambda s: s.value_counts().iloc[0] / len(s))
    )
    assert purity.min() > 0.9
    # Positions outside the sample are their neighbours' means: distinct, not all one spot.
    assert len(np.unique(docs[["x", "y"]].round(4).to_numpy(), axis=0)) > 150
    scale = result.manifest["scale"]
    assert scale["fit_sample"] == 100 and scale["documents"] == 203
    assert result.manifest["config"]["scale"]["fit_sample"] == 100
    # Topic sizes count every document.
    from pipeline.store.contract import TOPICS_FILE

    topics = open_run(result.run_dir).read_table(TOPICS_FILE)
    assert int(topics["size"].sum()) == int((docs["topic"] >= 0).sum())

    again = build(str(path), cfg, Store(tmp_path / "b"))
    docs2 = open_run(again.run_dir).read_table(DOCUMENTS_FILE)
    assert again.manifest["stage_keys"] == result.manifest["stage_keys"]
    pd.testing.assert_frame_equal(
        docs[["doc_id", "topic", "x", "y"]], docs2[["doc_id", "topic", "x", "y"]]
    )

    other = build(str(path), _sampled(fast_config, 120), Store(tmp_path / "a"))
    keys, keys2 = result.manifest["stage_keys"], other.manifest["stage_keys"]
    assert keys["embed"] == keys2["embed"]  # the embeddings are reused
    for stage in ("reduce", "cluster", "represent", "trends"):
        assert keys[stage] != keys2[stage], stage
    assert other.manifest["run_key"] != result.manifest["run_key"]


def test_an_update_places_new_documents_beside_a_sample_of_a_large_run(
    tmp_path: Path, fast_config: Config
) -> None:
    """Above the sample size an update compares new documents with a seeded sample of the
    run's documents, not with all of them (bounded time and memory at a million)."""
    from pipeline.flows.update import update
    from pipeline.stages.assign import place, place_reference
    from pipeline.store.contract import EMBEDDINGS_FILE

    path = _corpus(tmp_path)
    cfg = _sampled(fast_config)
    store = Store(tmp_path / "a")
    first = build(str(path), cfg, store, name="c")
    before = open_run(first.run_dir).read_table(DOCUMENTS_FILE)
    new = planted_corpus().head(6).copy()
    new["id"] = [f"new-{i}" for i in range(len(new))]
    new["abstract"] = new["abstract"] + " arriving later"
    new["date"] = LATE
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    after = open_run(update("c", str(new_path), store).run_dir)
    docs, emb = after.read_table(DOCUMENTS_FILE), after.read_array(EMBEDDINGS_FILE)
    n = len(before)
    ref = place_reference(n, 100, cfg.reduce.seed)
    assert isinstance(ref, np.ndarray) and len(ref) == 100
    xy = before[["x", "y"]].to_numpy(np.float32)
    expected = place(emb[n:], emb[:n][ref], xy[ref], cfg.update.map_neighbors)
    np.testing.assert_array_equal(docs[["x", "y"]].to_numpy(np.float32)[n:], expected)
    everyone = place(emb[n:], emb[:n], xy, cfg.update.map_neighbors)
    assert not np.array_equal(expected, everyone)  # the sample, not every document


@pytest.mark.parametrize("size", [None, 203])
def test_below_the_sample_size_the_build_is_unchanged(
    tmp_path: Path, fast_config: Config, size: int | None
) -> None:
    """At or below ``fit_sample`` nothing is sampled and [scale] is in no key or manifest,
    so runs and caches from before the section stay valid."""
    path = _corpus(tmp_path)
    store = Store(tmp_path / "cache")
    before = build(str(path), fast_config, store)
    cfg = fast_config.with_overrides({"scale": {"fit_sample": size, "assign_quantile": 0.2}})
    after = build(str(path), cfg, store)
    assert after.up_to_date  # same run key: nothing is rebuilt
    assert "scale" not in before.manifest and "scale" not in before.manifest["config"]
    forced = build(str(path), cfg, store, force=True)
    assert forced.manifest["stage_keys"] == before.manifest["stage_keys"]
    assert all(t["cached"] for s, t in forced.timings.items() if s in {"reduce", "cluster"})
    assert "scale" not in forced.manifest["config"]


def test_min_cluster_size_is_the_full_corpus_scaled_to_the_sample() -> None:
    # arXiv sample at 25%: the full fit's 22 becomes 6, not the sample's own 11.
    assert sample.min_cluster_size(4_079, 1_020) == 6
    assert sample.min_cluster_size(1_000_000, 100_000) == 35
    assert sample.min_cluster_size(300, 100) == 5  # never below 5


def test_rest_joins_the_nearest_centroid_of_the_fit_vectors() -> None:
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.8, 0.2], [-1, 0]])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    picked = np.array([0, 1, 2, 3])
    labels, probs, thr = sample.assign_rest(
        vectors, picked, np.array([1, 1, 0, 0]), np.ones(4, np.float32), Config()
    )
    assert thr == Config().cluster.outlier_threshold
    # Document 4 is near topic "1" (renumbered by size over all: it becomes the largest);
    # document 5 is like no topic and stays an outlier.
    assert labels[4] == labels[0] == labels[1] != labels[2]
    assert labels[5] == -1 and probs[5] == 0


def test_fit_vectors_of_the_sample_are_what_the_fit_read_and_the_rest_share_its_space() -> None:
    from pipeline.stages.reduce import document_vectors

    texts = planted_corpus(n_per_topic=240)["abstract"].tolist() * 2  # the second half repeats
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(texts), 8)).astype(np.float32)
    emb[len(texts) // 2 :] = emb[: len(texts) // 2]
    picked = np.arange(len(texts) // 2)  # the first half is the sample
    cfg = Config()
    vec = sample.fit_vectors(emb, texts, cfg, picked)
    read = document_vectors(emb[picked], [texts[i] for i in picked], cfg.reduce)
    read = read / np.linalg.norm(read, axis=1, keepdims=True)
    assert vec.shape == (len(texts), read.shape[1])
    np.testing.assert_allclose(vec[picked], read, atol=1e-5)
    # a document outside the sample with a sampled one's text and embedding lands on it
    np.testing.assert_allclose(vec[len(picked) :], vec[picked], atol=1e-3)


def test_approximate_placement_finds_the_exact_neighbours_of_clustered_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 40 tight clusters of 60 documents; the exact and the cell search must agree.
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 16))
    emb = np.repeat(centres, 60, axis=0) + 0.05 * rng.normal(size=(2_400, 16))
    emb = emb.astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    picked = np.sort(rng.choice(len(emb), size=800, replace=False))
    xy_s = rng.normal(size=(len(picked), 2)).astype(np.float32)
    exact = sample.place_rest(emb, picked, xy_s, 5)
    monkeypatch.setattr(sample, "EXACT_PLACE_MAX", 0)
    monkeypatch.setattr(sample, "CELLS_PER_DOC", 20)  # 40 cells, so 16 probed of 40
    approx = sample.place_rest(emb, picked, xy_s, 5, seed=1)
    assert np.array_equal(approx[picked], exact[picked])
    close = np.isclose(approx, exact, atol=1e-5).all(axis=1)
    assert close.mean() > 0.98, close.mean()
