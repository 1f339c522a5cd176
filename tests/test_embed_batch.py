"""[embed] device and the embed stage's picklable batch (pipeline.stages.embed_batch)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import EmbedConfig
from pipeline.errors import UserError
from pipeline.stages import embed
from pipeline.stages.embed_batch import EmbedBatch, resolve_device
from tests.prereq import optional


def _gpu(monkeypatch: pytest.MonkeyPatch, present: bool) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)


def test_auto_is_the_cpu_without_a_gpu_and_cuda_then_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _gpu(monkeypatch, False)
    assert resolve_device(EmbedConfig()) == "cpu"
    with pytest.raises(UserError, match="device = 'cuda' but torch sees no GPU.*'auto' or 'cpu'"):
        resolve_device(EmbedConfig(device="cuda"))


def test_auto_is_cuda_with_a_gpu_for_the_transformer_only(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpu(monkeypatch, True)
    assert resolve_device(EmbedConfig()) == "cuda"
    assert resolve_device(EmbedConfig(device="cpu")) == "cpu"
    assert resolve_device(EmbedConfig(precision="int8")) == "cpu"  # CPU-only quantisation
    assert resolve_device(EmbedConfig(backend="static")) == "cpu"


def test_the_transformer_loads_on_the_device_it_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    _gpu(monkeypatch, True)
    seen: list[str] = []
    monkeypatch.setattr(embed, "load_sentence_transformer", lambda n, device: seen.append(device))
    monkeypatch.setattr(embed.TransformerEmbedder, "_models", {})
    embed.TransformerEmbedder(EmbedConfig()).model()
    assert seen == ["cuda"]


def test_device_is_not_part_of_the_embedding_key() -> None:
    keys = {embed.embedding_key(EmbedConfig(device=d)) for d in ("auto", "cpu", "cuda")}
    assert len(keys) == 1


def test_a_batch_pickles_without_its_model_or_progress(tmp_path: Path) -> None:
    ticks: list[int] = []
    cfg = EmbedConfig(backend="hashing", dim=16)
    local = EmbedBatch(cfg, tmp_path, ticks.append)
    here = local(["a cat", "a dog"])
    assert ticks == [2] and local.embedder is not None
    remote = pickle.loads(pickle.dumps(local))  # what a Ray actor receives
    assert remote.embedder is None and remote.progress is None and remote.factory is None
    assert np.array_equal(remote(["a cat", "a dog"]), here)
    assert not EmbedBatch(cfg, tmp_path).wants_gpu
    assert EmbedBatch(EmbedConfig(), tmp_path).wants_gpu
    assert not EmbedBatch(EmbedConfig(device="cpu"), tmp_path).wants_gpu


@pytest.mark.slow
def test_cuda_vectors_match_the_cpu_ones() -> None:
    """On a machine with a GPU: the same texts on CUDA and on the CPU, cosine >= 0.9999
    (why the device is not part of the cache key)."""
    import torch

    optional(torch.cuda.is_available(), "no GPU here: torch.cuda.is_available() is False")
    texts = [f"topic {i}: a paragraph about subject number {i % 7}" for i in range(64)]
    cpu = embed.TransformerEmbedder(EmbedConfig(device="cpu")).encode(texts)
    gpu = embed.TransformerEmbedder(EmbedConfig(device="cuda")).encode(texts)
    assert float((cpu * gpu).sum(axis=1).min()) >= 0.9999
