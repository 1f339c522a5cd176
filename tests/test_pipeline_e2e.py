"""End to end with the deterministic hashing embedder on planted topics (seconds, no model)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, homogeneity_score

from pipeline import SCHEMA_VERSION
from pipeline.config import Config
from pipeline.errors import BuildLockedError, CacheError, UserError
from pipeline.runner import build
from pipeline.store.artifacts import REQUIRED_COLUMNS, open_run
from pipeline.store.cache import Store
from tests.conftest import planted_corpus


def test_planted_topics_are_recovered(tmp_path: Path, planted_csv: Path) -> None:
    defaults = Config().with_overrides({"embed": {"backend": "hashing"}})
    result = build(str(planted_csv), defaults, Store(tmp_path / "cache"))
    run = open_run(result.run_dir)
    docs = run.read_table("documents.parquet")
    topics = run.read_table("topics.parquet")

    assert run.manifest["counts"]["documents"] == 200
    clustered = docs[docs["topic"] >= 0]
    assert len(clustered) / len(docs) >= 0.9
    # The default (leaf selection, small minimum size) may split a planted topic into
    # finer sub-topics, but must never mix two planted topics in one.
    assert 5 <= len(topics) <= 25
    assert homogeneity_score(clustered["planted"], clustered["topic"]) > 0.95
    # Each planted topic's vocabulary surfaces in the keywords of the topic holding most of it.
    for planted, group in docs.groupby("planted"):
        main = group["topic"].mode().iloc[0]
        kws = topics.set_index("topic").loc[main, "keywords"]
        from tests.conftest import PLANTED_VOCAB

        assert set(kws) & set(PLANTED_VOCAB[planted]), (planted, kws)
    assert topics["label"].is_unique
    assert docs["venue"].notna().all(), "metadata is carried into documents.parquet"


def test_eom_selection_recovers_exactly_the_planted_topics(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    cfg = fast_config.with_overrides({"cluster": {"selection_method": "eom"}})
    docs = open_run(build(str(planted_csv), cfg, Store(tmp_path / "cache")).run_dir).read_table(
        "documents.parquet"
    )
    assert docs["topic"].nunique() == 5
    assert adjusted_rand_score(docs["planted"], docs["topic"]) > 0.95


def test_artifact_schema_round_trip(tmp_path: Path, planted_csv: Path, fast_config: Config) -> None:
    run = open_run(build(str(planted_csv), fast_config, Store(tmp_path / "cache")).run_dir)
    m = run.manifest
    assert m["schema_version"] == SCHEMA_VERSION
    for key in (
        "corpus",
        "config",
        "libraries",
        "timings",
        "counts",
        "artifacts",
        "created_at",
        "stage_keys",
    ):
        assert key in m
    assert m["config"] == fast_config.model_dump(mode="json")
    assert Config.model_validate(m["config"]) == fast_config
    for fname, cols in REQUIRED_COLUMNS.items():
        if fname == "topics_over_time.parquet" or run.has(fname):
            df = run.read_table(fname)
            assert set(cols) <= set(df.columns), fname
            assert m["artifacts"][fname]["rows"] == len(df)
    docs = run.read_table("documents.parquet")
    emb = run.read_array("embeddings.npy")
    assert emb.shape == (len(docs), 384)
    assert run.read_array("topic_embeddings.npy").shape[0] == m["counts"]["topics"]
    assert pd.api.types.is_datetime64_any_dtype(docs["date"])
    assert docs["topic"].dtype == np.int64
    topics = run.read_table("topics.parquet")
    assert isinstance(topics["keywords"].iloc[0].tolist(), list)
    tot = run.read_table("topics_over_time.parquet")
    per_period = tot.groupby("period_start")["count"].sum()
    assert (per_period.values == tot.groupby("period_start")["period_total"].first().values).all()
    assert (run.path / "model" / "ctfidf.safetensors").exists()
    # No pickle or joblib anywhere in the cache.
    for f in (tmp_path / "cache").rglob("*"):
        assert f.suffix not in {".pkl", ".pickle", ".joblib"}


def test_reader_refuses_wrong_schema_and_corruption(
    tmp_path: Path, planted_csv: Path, fast_config: Config
) -> None:
    run_dir = build(str(planted_csv), fast_config, Store(tmp_path / "cache")).run_dir.resolve()
    # Builds are read-only snapshots once published; copy one to tamper with it.
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    (bad / "topics.parquet").write_bytes((bad / "topics.parquet").read_bytes()[:100])
    with pytest.raises(
        CacheError,
        match=r"topics.parquet: checksum mismatch.*topictrends build .* --name planted --force",
    ):
        open_run(bad).read_table("topics.parquet")
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["schema_version"] = 999
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        CacheError, match=r"manifest.json: schema version 999.*Rebuild it with: topictrends build"
    ):
        open_run(bad)


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
    import pipeline.runner as runner

    def boom(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "write_json", boom)
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


def test_cache_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.store.cache import cache_root

    monkeypatch.setenv("TOPICTRENDS_CACHE", str(tmp_path / "env-cache"))
    assert cache_root(None) == (tmp_path / "env-cache").resolve()
    assert cache_root(tmp_path / "flag") == (tmp_path / "flag").resolve()
    monkeypatch.delenv("TOPICTRENDS_CACHE")
    assert cache_root(None) == Path(os.getcwd(), "cache").resolve()


def test_interrupted_embedding_resumes_from_saved_shards(
    tmp_path: Path, planted_csv: Path, fast_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.runner as runner
    from pipeline.stages.embed import HashingEmbedder

    monkeypatch.setattr(runner, "EMBED_SHARD", 64)
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
