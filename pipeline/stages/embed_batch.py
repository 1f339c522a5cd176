"""The embed stage's batches wherever they run: the device and the picklable batch function.

Kept apart from ``pipeline.stages.embed`` (the backends) so that module stays readable;
``EmbedBatch`` is what the executor (``pipeline.stages.executor``) runs per batch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.config import EmbedConfig
from pipeline.errors import UserError

if TYPE_CHECKING:
    from pipeline.stages.embed import Embedder, Progress


def resolve_device(cfg: EmbedConfig) -> str:
    """Where the transformer runs in this process: ``[embed] device``, "auto" meaning CUDA
    when torch sees a GPU here. int8 stays on the CPU (dynamic quantisation is CPU-only).

    Not part of the embedding key: CUDA and CPU fp32 vectors differ by float rounding
    (cosine to each other above 0.9999), far below anything the fit can tell apart.
    """
    if cfg.backend != "sentence-transformers" or cfg.device == "cpu" or cfg.precision == "int8":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if cfg.device == "cuda":
        raise UserError(
            "[embed] device = 'cuda' but torch sees no GPU on this machine "
            f"(torch {torch.__version__}, CUDA {torch.version.cuda or 'not built in'}): "
            "set device = 'auto' or 'cpu', or install a CUDA build of torch."
        )
    return "cpu"


class EmbedBatch:
    """The embed stage's per-batch function: picklable, so a Ray actor runs it too.

    The embedder is made on first use in the process that runs the batch (here through
    ``factory``, the flow's own; in a Ray actor once, as the actor keeps this object for
    all its batches). Neither it nor ``progress`` (this process's bar) is pickled.
    """

    def __init__(
        self,
        cfg: EmbedConfig,
        cache_root: Path,
        progress: Progress | None = None,
        factory: Callable[[], Embedder] | None = None,
    ) -> None:
        self.cfg, self.cache_root, self.progress, self.factory = cfg, cache_root, progress, factory
        self.embedder: Embedder | None = None
        # A Ray executor gives each actor a GPU only when its batches can use one.
        self.wants_gpu = (
            cfg.backend == "sentence-transformers"
            and cfg.device != "cpu"
            and cfg.precision == "fp32"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "embedder": None, "progress": None, "factory": None}

    def __call__(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            from pipeline.stages.embed import get_embedder

            make = self.factory or (lambda: get_embedder(self.cfg, cache_root=self.cache_root))
            self.embedder = make()
        return self.embedder.encode(list(texts), progress=self.progress)
