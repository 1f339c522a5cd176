"""``[engine]``: where the per-document stages run (this process, or a Ray cluster).

Never part of a cache key, the run key or the manifest's config: the same corpus and
config give the same keys and the same artifacts on either engine (``tests/test_ray_engine.py``
checks it), so a run built on a cluster is up to date on a laptop and the other way round.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.settings.base import Section


class EngineConfig(Section):
    kind: Literal["local", "ray"] = Field(
        "local",
        description="'local' runs every stage in this process. 'ray' runs the per-document stages (embed, topic assignment and map placement of the documents outside the fit sample, and the update's assignment) as Ray Data map_batches over actor pools on a Ray cluster; the fit runs here, on the driver (docs/scale.md). Needs the extra: pip install 'topictrends[ray]'. Never part of a cache key.",
    )
    address: str = Field(
        "auto",
        description="With kind = 'ray': the cluster to join. 'auto' finds the cluster started on this machine with `ray start --head` (or RAY_ADDRESS); 'HOST:PORT' is a head node's GCS address (port 6379 by default); 'ray://HOST:PORT' connects through Ray Client (port 10001).",
    )
    actors: int | None = Field(
        None,
        ge=1,
        description="With kind = 'ray': actors per per-document stage, each loading the model once and taking one CPU (or one GPU with [embed] device on cuda). When unset, one per CPU of the cluster.",
    )
    batch_size: int = Field(
        2048,
        ge=1,
        description="With kind = 'ray': documents per actor call; each embedding batch is saved as one shard of the cache by the worker that computed it, so every worker must reach the cache root.",
    )
    connect_timeout: float = Field(
        10.0,
        gt=0,
        description="With kind = 'ray': seconds to wait for the cluster before the build stops with the address and the fix.",
    )
