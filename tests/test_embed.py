"""Embedding backends: cache keys, the static model's life cycle, truncation counts, agreement.

The fast tests stand a tiny static model (random vectors over the bundled tokenizer's
vocabulary) in for the distilled one, so they run in seconds; the two slow ones use the real
all-MiniLM-L6-v2: int8 against fp32 on the trending papers, and a real distillation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config, EmbedConfig, IngestConfig, stable_hash
from pipeline.flows import build
from pipeline.stages import embed
from pipeline.stages.embed import (
    StaticEmbedder,
    available_cpus,
    count_truncated,
    embedding_key,
    get_embedder,
    static_model_dir,
    truncated_documents,
)
from pipeline.stages.ingest import ingest, resolve_input, text_hash
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import planted_corpus


def _trending_texts() -> list[str]:
    path, name = resolve_input("hf-trending-papers")
    return ingest(path, name, IngestConfig()).texts


# ---------------------------------------------------------------------------- cache keys
def test_embedding_key_differs_by_backend_and_numerics() -> None:
    keys = {
        embedding_key(EmbedConfig(backend="sentence-transformers")),
        embedding_key(EmbedConfig(backend="static")),
        embedding_key(EmbedConfig(backend="hashing")),
        embedding_key(EmbedConfig(precision="int8")),
        embedding_key(EmbedConfig(max_seq_length=128)),
        embedding_key(EmbedConfig(backend="static", static_dims=128)),
    }
    assert len(keys) == 6


def test_default_key_is_unchanged_and_ignores_speed_knobs() -> None:
    # The fp32 default computes what it always did, so caches built before stay valid.
    old = stable_hash(
        {"backend": "sentence-transformers", "model": "all-MiniLM-L6-v2", "max_seq_length": 256}
    )
    assert embedding_key(EmbedConfig()) == old
    assert embedding_key(EmbedConfig(batch_size=7, threads=1)) == old
    # Knobs of other backends do not leak into a backend's key.
    assert embedding_key(EmbedConfig(backend="static", max_seq_length=64)) == embedding_key(
        EmbedConfig(backend="static")
    )
    assert embedding_key(EmbedConfig(backend="hashing", precision="int8")) == embedding_key(
        EmbedConfig(backend="hashing")
    )


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    """A 64-CPU machine whose affinity mask and cgroup files the test sets.

    ``/sys/fs/cgroup/...`` is read from under ``tmp_path``; returns ``set_machine(cpus,
    files)``, ``cpus`` the affinity mask (None: no ``sched_getaffinity``), ``files`` the
    cgroup files' contents by path.
    """
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(embed, "Path", lambda p: tmp_path / str(p).lstrip("/"))

    def set_machine(cpus: set[int] | None, files: dict[str, str] | None = None) -> None:
        if cpus is None:
            monkeypatch.delattr(os, "sched_getaffinity", raising=False)
        else:
            monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(cpus))
        for rel, text in (files or {}).items():
            (tmp_path / rel.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel.lstrip("/")).write_text(text)

    return set_machine


V2 = "/sys/fs/cgroup/cpu.max"
V1_QUOTA, V1_PERIOD = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"


@pytest.mark.parametrize(
    ("cpus", "files", "expected"),
    [
        ({0, 2, 5}, {}, 3),  # the affinity mask, not the machine's 64 CPUs
        (set(range(8)), {V2: "max 100000\n"}, 8),  # no quota
        (set(range(8)), {V2: "150000 100000\n"}, 2),  # 1.5 CPUs of quota: 2 threads
        (set(range(8)), {V2: "20000 100000\n"}, 1),  # a fifth of a CPU: still one
        ({0, 1, 2}, {V2: "800000 100000\n"}, 3),  # a quota above the mask changes nothing
        (set(range(8)), {V1_QUOTA: "300000\n", V1_PERIOD: "100000\n"}, 3),  # cgroup v1
        (set(range(8)), {V1_QUOTA: "-1\n", V1_PERIOD: "100000\n"}, 8),  # v1, no quota
        (set(range(8)), {V2: "garbage\n"}, 8),  # unreadable: the mask
        (None, {V2: "400000 100000\n"}, 4),  # no affinity call: cpu_count, then the quota
        (None, {}, 64),
    ],
)
def test_available_cpus_reads_the_affinity_mask_and_the_cgroup_quota(
    machine, cpus: set[int] | None, files: dict[str, str], expected: int
) -> None:
    machine(cpus, files)
    assert available_cpus() == expected


# ---------------------------------------------------------------------------- truncation
def test_count_truncated_uses_the_models_word_pieces() -> None:
    cfg = EmbedConfig(max_seq_length=32)
    texts = ["short title", "word " * 30, "word " * 31, "unbelievably " * 40]
    # [CLS] + 30 words + [SEP] = 32 fits; 31 words do not; "unbelievably" is several pieces.
    assert count_truncated(texts, cfg) == 2
    assert count_truncated(texts, EmbedConfig(backend="static", max_seq_length=32)) == 0
    assert count_truncated(texts, EmbedConfig(backend="hashing", max_seq_length=32)) == 0
    assert count_truncated(_trending_texts(), EmbedConfig()) == 134


def test_truncated_documents_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path)
    texts = ["word " * 300, "a short one"]
    assert truncated_documents(texts, EmbedConfig(), store, "k1") == 1
    monkeypatch.setattr(embed, "count_truncated", lambda *a: pytest.fail("recounted"))
    assert truncated_documents(texts, EmbedConfig(), store, "k1") == 1


# ---------------------------------------------------------------------------- static backend
def test_static_model_is_distilled_once_and_reused(tmp_path: Path, fake_static: list[Path]) -> None:
    cfg = EmbedConfig(backend="static", static_dims=32)
    first = get_embedder(cfg, cache_root=tmp_path)
    vecs = first.encode(["a galaxy far away", "butter and flour", "x"])
    assert fake_static == [static_model_dir(cfg, tmp_path)] and first.distilled
    model_dir = tmp_path / ".store" / "models" / f"static-{embedding_key(cfg)}"
    assert (model_dir / "model.safetensors").exists()
    assert not [
        p for p in model_dir.rglob("*") if p.suffix in {".pkl", ".pickle", ".bin", ".pt", ".joblib"}
    ]
    assert vecs.shape == (3, 32) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)

    StaticEmbedder._models.clear()  # a new process: loads from disk, does not distil
    second = get_embedder(cfg, cache_root=tmp_path)
    assert np.allclose(
        second.encode(["a galaxy far away", "butter and flour", "x"]), vecs, atol=1e-6
    )
    assert len(fake_static) == 1 and not second.distilled

    # Another cache root, or another size, is another model.
    get_embedder(cfg, cache_root=tmp_path / "other").encode(["x"])
    get_embedder(EmbedConfig(backend="static", static_dims=16), cache_root=tmp_path).encode(["x"])
    assert len(fake_static) == 3


def test_static_batches_use_the_tokenizers_threads_and_switch_them_off(
    tmp_path: Path, fake_static: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large batch tokenises on every core with the same vectors; afterwards the process
    is back to TOKENIZERS_PARALLELISM=false (a later fork must not inherit a live pool)."""
    texts = [f"paper {i} on galaxies, flour and {i % 7} graphs" for i in range(600)]
    cfg = EmbedConfig(backend="static", static_dims=16)
    embedder = get_embedder(cfg, cache_root=tmp_path)
    seen: list[str | None] = []
    model = embedder.model()
    real_encode = model.encode

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(os.environ.get("TOKENIZERS_PARALLELISM"))
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(model, "encode", spy)
    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    threaded = embedder.encode(texts)
    assert seen == ["true"] and os.environ["TOKENIZERS_PARALLELISM"] == "false"
    monkeypatch.setattr(embed, "TOKENIZER_THREADS_MIN", 10_000)
    single = embedder.encode(texts)
    assert seen == ["true", "false"]
    np.testing.assert_array_equal(threaded, single)
    assert len(embedder.encode(texts[:3])) == 3 and seen[-1] == "false"


def test_damaged_static_model_is_distilled_again(tmp_path: Path, fake_static: list[Path]) -> None:
    cfg = EmbedConfig(backend="static", static_dims=16)
    get_embedder(cfg, cache_root=tmp_path).encode(["x"])
    model_dir = static_model_dir(cfg, tmp_path)
    (model_dir / "tokenizer.json").write_text("{not json")
    StaticEmbedder._models.clear()
    again = get_embedder(cfg, cache_root=tmp_path)
    vecs = again.encode(["a galaxy", "butter"])
    assert again.distilled and len(fake_static) == 2 and vecs.shape == (2, 16)


def test_static_backend_end_to_end(tmp_path: Path, fake_static: list[Path]) -> None:
    path = tmp_path / "planted.csv"
    planted_corpus().to_csv(path, index=False)
    cfg = Config().with_overrides(
        {"embed": {"backend": "static", "static_dims": 32}, "reduce": {"ensemble": 2}}
    )
    store = Store(tmp_path / "cache")
    run = open_run(build(str(path), cfg, store).run_dir)
    emb = run.manifest["embedding"]
    assert emb == {
        "backend": "static",
        "model": "all-MiniLM-L6-v2",
        "dim": 32,
        "max_seq_length": None,
        "truncated_documents": 0,
    }
    assert np.allclose(
        np.linalg.norm(run.read_array("embeddings.npy").astype(np.float32), axis=1), 1, atol=1e-2
    )
    # A clustering knob changed: embeddings come from the cache, the model is not distilled again.
    StaticEmbedder._models.clear()
    again = build(str(path), cfg.with_overrides({"cluster": {"min_cluster_size": 6}}), store)
    assert again.timings["embed"]["cached"] and len(fake_static) == 1
    assert fake_static[0].parent == store.root / ".store" / "models"


def test_hashing_manifest_reports_no_truncation(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    run = open_run(build(str(planted_csv), fast_config, Store(tmp_path / "cache")).run_dir)
    assert run.manifest["embedding"]["truncated_documents"] == 0
    assert run.manifest["embedding"]["max_seq_length"] is None


# ---------------------------------------------------------------------------- real model
@pytest.mark.slow
def test_int8_agrees_with_fp32_on_every_trending_abstract(
    trending_real_build: tuple[Store, object],
) -> None:
    texts = _trending_texts()
    store, _ = trending_real_build  # its build embedded these texts in fp32
    keys = [text_hash(t) for t in texts]
    cached = store.load_shards("embeddings", embedding_key(EmbedConfig()), keys)
    assert len(cached) == len(set(keys))
    ref = np.stack([cached[k] for k in keys])
    q = get_embedder(EmbedConfig(precision="int8")).encode(texts)
    for vecs in (ref, q):
        assert vecs.shape == (265, 384)
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-4)
    cos = (ref * q).sum(axis=1)
    assert cos.min() >= 0.99, f"worst document: cosine {cos.min():.4f}"


@pytest.mark.slow
def test_static_model_distilled_from_the_bundled_transformer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StaticEmbedder, "_models", {})
    cfg = EmbedConfig(backend="static")
    e = get_embedder(cfg, cache_root=tmp_path)
    df = planted_corpus(n_per_topic=20)
    vecs = e.encode((df["title"] + ". " + df["abstract"]).tolist())
    assert e.distilled and vecs.shape == (100, 256)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    # It separates the planted topics: a document's nearest neighbours share its topic.
    sim = vecs @ vecs.T
    np.fill_diagonal(sim, -2)
    nn = np.argsort(-sim, axis=1)[:, :5]
    labels = df["planted"].to_numpy()
    assert (labels[nn] == labels[:, None]).mean() >= 0.9
    # Reused from disk afterwards, never distilled again.
    StaticEmbedder._models.clear()
    monkeypatch.setattr(embed, "distill_static", lambda *a: pytest.fail("distilled twice"))
    again = get_embedder(cfg, cache_root=tmp_path)
    assert np.allclose(
        again.encode(["galaxy telescope"]), e.encode(["galaxy telescope"]), atol=1e-6
    )


def test_distillation_runs_torch_on_the_configured_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import model2vec.distill
    import torch

    seen: list[int] = []

    class _Static:
        def save_pretrained(self, path: Path) -> None:
            (Path(path) / "model.safetensors").write_bytes(b"x")

    def fake_distill(**kwargs: object) -> _Static:
        seen.append(torch.get_num_threads())
        return _Static()

    class _Model(list):
        tokenizer = None

    monkeypatch.setattr(embed, "load_sentence_transformer", lambda n: _Model([_Model()]))
    monkeypatch.setattr(model2vec.distill, "distill_from_model", fake_distill)
    monkeypatch.setattr(_Model, "auto_model", None, raising=False)
    before = torch.get_num_threads()
    try:
        embed.distill_static(EmbedConfig(backend="static", threads=1), tmp_path / "m1")
        assert seen == [1]
        assert (tmp_path / "m1" / "model.safetensors").exists()
    finally:
        torch.set_num_threads(before)


def test_new_documents_embed_only_themselves(tmp_path: Path, fast_config: Config) -> None:
    store = Store(tmp_path / "cache")
    df = planted_corpus()
    path = tmp_path / "grow.csv"
    df.iloc[:180].to_csv(path, index=False)
    build(str(path), fast_config, store)
    df.to_csv(path, index=False)
    result = build(str(path), fast_config, store)
    assert result.timings["embed"]["new_documents"] == 20
    assert result.manifest["counts"]["documents"] == 200


def test_interrupted_embedding_resumes_from_saved_shards(
    tmp_path: Path, planted_csv: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.stages.embed as embed
    from pipeline.stages.embed import HashingEmbedder

    monkeypatch.setattr(embed, "EMBED_SHARD", 64)
    calls: list[int] = []
    original = HashingEmbedder.encode

    def flaky(self: HashingEmbedder, texts: list[str], progress: object = None) -> object:
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, texts, progress)

    monkeypatch.setattr(HashingEmbedder, "encode", flaky)
    store = Store(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt):
        build(str(planted_csv), fast_config, store)
    result = build(str(planted_csv), fast_config, store)
    assert result.timings["embed"]["new_documents"] == 200 - 128, (
        "two shards of 64 survived the interruption"
    )
