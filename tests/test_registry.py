"""The stage declarations (pipeline.stages.registry): the key chain, the flows, a new stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.stages import registry
from pipeline.stages.base import Context, Stage
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store


def test_every_upstream_is_declared_before_the_stage_that_reads_it() -> None:
    for flow in ("build", "update"):
        seen: set[str] = set()
        for stage in registry.chain(flow):
            stand_ins = {"cluster"} if flow == "update" else set()  # assign keys as cluster
            assert set(stage.after) <= seen | stand_ins, (flow, stage.name)
            assert {u.split(".")[0] for u in stage.uses} <= seen, (flow, stage.name)
            seen.add(stage.name)


def test_stage_names_are_unique_and_progress_entries_follow_the_build_chain() -> None:
    names = [s.name for s in registry.REGISTRY]
    assert len(names) == len(set(names))
    assert registry.STAGES[0] == "ingest" and registry.STAGES[-1] == "publish"
    assert list(registry.STAGES[1:-1]) == list(
        dict.fromkeys(s.progress for s in registry.chain("build"))
    )


def test_the_update_chain_replaces_clustering_and_representation() -> None:
    update = [s.name for s in registry.chain("update")]
    assert update[0] == "embed" and "assign" in update and "describe" in update
    assert not {"reduce", "cluster", "represent", "hierarchy"} & set(update)


def _doc_lengths(ctx: Context) -> dict[str, Any]:
    """The example stage's compute: words per document."""
    words = [len(t.split()) for t in ctx.inputs["texts"]]
    return {"doc_lengths": pd.DataFrame({"doc_id": ctx.inputs["doc_ids"], "words": words})}


def test_adding_a_stage_is_one_declaration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    """A new stage (not shipped) needs its compute function and one declaration: the build
    flow caches it under its own key, publishes its table, and serves it from the cache."""
    calls: list[int] = []

    def compute(ctx: Context) -> dict[str, Any]:
        calls.append(1)
        return _doc_lengths(ctx)

    example = Stage(
        "doc_lengths",
        compute,
        after=("embed",),
        data=("texts",),
        artifacts=("doc_lengths",),
        publish=("doc_lengths",),
    )
    monkeypatch.setattr(registry, "REGISTRY", (*registry.REGISTRY, example))
    store = Store(tmp_path / "cache")
    result = build(str(planted_csv), fast_config, store)
    run = open_run(result.run_dir)
    table = run.read_table("doc_lengths.parquet")
    assert len(table) == result.manifest["counts"]["documents"] and table["words"].min() > 0
    key = result.manifest["stage_keys"]["doc_lengths"]
    assert store.load_stage("doc_lengths", key) is not None
    again = build(str(planted_csv), fast_config, store, force=True)
    assert calls == [1] and again.manifest["stage_keys"]["doc_lengths"] == key
    assert again.timings["doc_lengths"]["cached"] is True


def test_the_hierarchy_enters_the_trends_key_and_leaves_the_keywords_key_as_it_was() -> None:
    """Theme calls changed the trends stage's results, so its key; the keywords per period
    did not change, so their key is still trends(cluster, dates, period, [trends]) + texts
    + [represent], as before hierarchy nodes were scored."""
    from pipeline.config import stable_hash
    from pipeline.stages.base import DATA_PARTS

    hier = pd.DataFrame(
        {"node": [2], "parent": [-1], "left": [0], "right": [1], "topics": [[0, 1]]}
    )
    inputs = {
        "hashes": ["a", "b"],
        "dates": pd.Series(["2020-01-01", "2020-02-01"]),
        "precisions": pd.Series(["day", "day"]),
        "period": "month",
    }
    ctx = Context(Config(), None, None, None, inputs, keys={"cluster": "c0"})  # type: ignore[arg-type]
    ctx.out["hierarchy"] = {"hierarchy": hier}
    by_name = {s.name: s for s in registry.REGISTRY}
    old_trends = stable_hash(
        ["c0", DATA_PARTS["dates"](inputs), "month", ctx.config_part("trends")]
    )
    trends_key = ctx.stage_key(by_name["trends"])
    assert trends_key != old_trends
    ctx.keys["trends"] = trends_key
    want = stable_hash([old_trends, DATA_PARTS["texts"](inputs), ctx.config_part("represent")])
    assert ctx.stage_key(by_name["keywords_over_time"]) == want
    ctx.out["hierarchy"] = {"hierarchy": hier.assign(topics=[[0]])}
    assert ctx.stage_key(by_name["trends"]) != trends_key  # another tree: other calls
    assert ctx.stage_key(by_name["keywords_over_time"]) == want
