"""The build flow (pipeline.flows.build): stage reuse, locking, atomic publish, undated runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.errors import BuildLockedError, UserError
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import planted_corpus


def test_unchanged_rebuild_recomputes_nothing(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    store = Store(tmp_path / "cache")
    first = build(str(planted_csv), fast_config, store)
    second = build(str(planted_csv), fast_config, store)
    assert second.up_to_date
    assert not (store.root / ".progress" / "planted.json").exists(), (
        "a finished build leaves no progress file"
    )
    assert set(second.timings) == {"ingest"}
    assert second.run_dir.resolve() == first.run_dir.resolve()
    forced = build(str(planted_csv), fast_config, store, force=True)
    assert not forced.up_to_date
    for stage in ("embed", "reduce", "cluster", "represent", "hierarchy"):
        assert forced.timings[stage]["cached"], stage


def test_clustering_knob_reuses_embeddings_and_layout(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    store = Store(tmp_path / "cache")
    build(str(planted_csv), fast_config, store)
    changed = fast_config.with_overrides({"cluster": {"min_cluster_size": 12}})
    result = build(str(planted_csv), changed, store)
    t = result.timings
    assert t["embed"]["cached"] and t["embed"]["new_documents"] == 0
    assert t["reduce"]["cached"]
    assert not t["cluster"]["cached"] and not t["represent"]["cached"]
    assert result.manifest["config"]["cluster"]["min_cluster_size"] == 12


def test_second_concurrent_build_gets_a_clear_message(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    store = Store(tmp_path / "cache")
    with (
        store.lock("planted"),
        pytest.raises(BuildLockedError, match="another build of run 'planted' is running"),
    ):
        build(str(planted_csv), fast_config, store)


def test_crash_while_publishing_keeps_the_previous_run(
    tmp_path: Path, planted_csv: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "cache")
    first = build(str(planted_csv), fast_config, store)
    before = first.run_dir.resolve()
    import pipeline.flows.publish as publish

    def boom(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish, "write_json", boom)
    with pytest.raises(UserError, match="cannot write the cache .*previous results are intact"):
        build(str(planted_csv), fast_config, store, force=True)
    assert store.run_path("planted").resolve() == before
    from pipeline.store.artifacts import build_progress

    progress = build_progress(store.root)
    assert [p["state"] for p in progress] == ["failed"] and "No space left" in progress[0]["error"]
    open_run(store.run_path("planted")).read_table("documents.parquet")
    leftovers = [p for p in (tmp_path / "cache").rglob(".tmp-*")]
    assert leftovers == []


def test_undated_corpus_has_no_trend_artifacts_and_says_why(
    tmp_path: Path, fast_config: Config
) -> None:
    path = tmp_path / "undated.csv"
    planted_corpus(dated=False).to_csv(path, index=False)
    run = open_run(build(str(path), fast_config, Store(tmp_path / "cache")).run_dir)
    assert not run.manifest["dated"]
    assert not run.has("topics_over_time.parquet")
    assert "no date column" in run.manifest["trends_absent_reason"]
