"""The stage declaration and the one load/compute/save helper (pipeline.stages.base)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Config, stable_hash
from pipeline.progress import SilentReporter
from pipeline.stages.base import Context, Stage, cached_rows, digest, run_stage
from pipeline.stages.executor import InProcessExecutor
from pipeline.store.cache import Store


def _ctx(tmp_path: Path, chain: Sequence[Stage] = ()) -> Context:
    texts = ["alpha", "beta", "gamma"]
    inputs = {"texts": texts, "hashes": [f"h{i}" for i in range(3)], "doc_ids": ["a", "b", "c"]}
    store = Store(tmp_path / "cache")
    return Context(Config(), store, SilentReporter(), InProcessExecutor(), inputs, chain=chain)


def _counting(outputs: Callable[[Context], dict[str, Any]]) -> tuple[list[int], Callable]:
    calls: list[int] = []

    def compute(ctx: Context) -> dict[str, Any]:
        calls.append(1)
        return outputs(ctx)

    return calls, compute


def test_key_is_upstream_keys_then_data_then_config_in_declaration_order(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    ctx.keys["cluster"] = "k-cluster"
    stage = Stage(
        "represent",
        lambda c: {},
        after=("cluster",),
        data=("texts", "doc_ids"),
        config=("represent", "reduce.seed"),
        artifacts=("topics",),
    )
    expected = stable_hash(
        [
            "k-cluster",
            digest(ctx.inputs["hashes"]),
            digest(ctx.inputs["doc_ids"]),
            ctx.cfg.represent.key(),
            ctx.cfg.reduce.seed,
        ]
    )
    assert ctx.stage_key(stage) == expected


def test_a_miss_computes_and_saves_a_hit_loads(tmp_path: Path) -> None:
    calls, compute = _counting(lambda c: {"lengths": pd.DataFrame({"n": [5, 4, 5]})})
    stage = Stage("lengths", compute, data=("texts",), artifacts=("lengths",))
    first = _ctx(tmp_path)
    assert run_stage(stage, first) is False
    second = _ctx(tmp_path)
    assert run_stage(stage, second) is True
    assert calls == [1]
    assert second.out["lengths"]["lengths"]["n"].tolist() == [5, 4, 5]
    meta = second.store.load_stage("lengths", second.keys["lengths"])["_meta"]
    assert meta["stage"] == "lengths" and meta["files"] == {
        "lengths.parquet": meta["files"]["lengths.parquet"]
    }


def test_an_uncached_stage_always_computes_and_records_no_key(tmp_path: Path) -> None:
    calls, compute = _counting(lambda c: {"x": 1})
    stage = Stage("plain", compute)
    ctx = _ctx(tmp_path)
    assert run_stage(stage, ctx) is False and run_stage(stage, ctx) is False
    assert calls == [1, 1] and "plain" not in ctx.keys


def test_transient_output_is_recomputed_when_the_stage_using_it_misses(tmp_path: Path) -> None:
    """A cached upstream result lacks its in-memory outputs (a fitted model): when the stage
    reading them must run, the upstream runs again, without being saved twice."""
    up_calls, up = _counting(lambda c: {"table": pd.DataFrame({"a": [1]}), "model": "fitted"})
    upstream = Stage("up", up, data=("texts",), artifacts=("table",), transient=("model",))
    down = Stage(
        "down",
        lambda c: {"seen": pd.DataFrame({"m": [c.out["up"]["model"]]})},
        after=("up",),
        artifacts=("seen",),
        uses=("up.model",),
    )
    chain = (upstream, down)
    first = _ctx(tmp_path, chain)
    run_stage(upstream, first)  # only the upstream result gets cached
    ctx = _ctx(tmp_path, chain)
    assert run_stage(upstream, ctx) is False  # recomputed: "down" misses and needs the model
    assert run_stage(down, ctx) is False
    assert ctx.out["down"]["seen"]["m"].tolist() == ["fitted"]
    again = _ctx(tmp_path, chain)
    assert run_stage(upstream, again) is True  # both cached now: nothing recomputed
    assert run_stage(down, again) is True
    assert len(up_calls) == 2


def test_finish_runs_after_a_hit_and_after_a_miss(tmp_path: Path) -> None:
    finished: list[bool] = []
    stage = Stage(
        "s",
        lambda c: {"t": pd.DataFrame({"a": [1]})},
        data=("texts",),
        artifacts=("t",),
        finish=lambda c: finished.append("t" in c.out["s"]),
    )
    run_stage(stage, _ctx(tmp_path))
    run_stage(stage, _ctx(tmp_path))
    assert finished == [True, True]


def test_cached_rows_computes_only_unseen_rows_in_batches_and_saves_each(tmp_path: Path) -> None:
    batches: list[list[str]] = []

    def vectors(items: list[str]) -> np.ndarray:
        batches.append(list(items))
        return np.array([[len(t), 1.0] for t in items], dtype=np.float32)

    ctx = _ctx(tmp_path)
    keys = ["k1", "k2", "k1", "k3"]
    found = cached_rows(ctx, "lengths", "v1", keys, ["ab", "abc", "ab", "abcd"], vectors, 2)
    assert batches == [["ab", "abc"], ["abcd"]]  # the duplicate k1 is computed once
    assert found["k3"].tolist() == [4.0, 1.0]
    assert len(list(ctx.store.shard_dir("lengths", "v1").glob("shard-*.keys.json"))) == 2
    ticks: list[int] = []
    again = cached_rows(
        _ctx(tmp_path), "lengths", "v1", keys, ["ab", "abc", "ab", "abcd"], vectors, 2, ticks.append
    )
    assert len(batches) == 2 and ticks == [4]  # all four rows from the shards
    assert again["k2"].tolist() == [3.0, 1.0]


def test_cached_rows_keeps_frame_rows_as_parquet_shards(tmp_path: Path) -> None:
    """Chunked frame outputs (per-document records): one Parquet shard per batch."""

    calls: list[int] = []

    def records(items: list[str]) -> pd.DataFrame:
        calls.append(len(items))
        return pd.DataFrame({"text": items, "chars": [len(t) for t in items]})

    keys = ["k1", "k2", "k3"]
    found = cached_rows(_ctx(tmp_path), "records", "v1", keys, ["a", "bb", "ccc"], records, 2)
    assert found["k2"]["chars"] == 2
    shards = _ctx(tmp_path).store.shard_dir("records", "v1")
    assert len(list(shards.glob("shard-*.parquet"))) == 2 and not list(shards.glob("*.npy"))
    again = cached_rows(_ctx(tmp_path), "records", "v1", keys, ["a", "bb", "ccc"], records, 2)
    assert again["k3"]["text"] == "ccc" and again["k1"]["chars"] == 1
    assert calls == [2, 1]  # the second call read every row from the shards
