"""A build killed with SIGKILL in any stage leaves the previous run readable; the next build completes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.flows import build
from pipeline.stages.registry import STAGES as BUILD_STAGES
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import planted_corpus

STAGES = [*BUILD_STAGES, "mid-write"]  # every progress entry of a build, from the code

# Runs a real build in a child process that SIGKILLs itself on entering the given stage
# (or, for "mid-write", after the first artifact file of the new run is written; for
# "save_model", as it starts saving the BERTopic model the represent stage fitted).
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import pipeline.flows.publish as publish
    from pipeline.flows import build
    from pipeline.flows.run import Run
    from pipeline.store.cache import Store
    from pipeline.config import Config
    from pathlib import Path

    target, corpus, root = sys.argv[1], sys.argv[2], sys.argv[3]
    original_timed = Run.timed
    def timed(self, stage, total=None):
        if stage == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return original_timed(self, stage, total)
    Run.timed = timed
    original_save = publish.save_files
    def save_files(directory, *a, **k):
        out = original_save(directory, *a, **k)
        if target == "mid-write":
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    publish.save_files = save_files
    import pipeline.stages.represent as represent
    original_save_model = represent.save_model
    def save_model(model, directory):
        if target == "save_model":  # represent is cached, model/ is not
            os.kill(os.getpid(), signal.SIGKILL)
        return original_save_model(model, directory)
    represent.save_model = save_model
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2, "seed": 7}})
    build(corpus, cfg, Store(Path(root)), force=True)
    """
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    tmp = tmp_path_factory.mktemp("killed")
    corpus = tmp / "planted.csv"
    planted_corpus().to_csv(corpus, index=False)
    from tests.conftest import Config

    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    result = build(str(corpus), cfg, Store(tmp / "cache"))
    return corpus, tmp / "cache", result.manifest


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_in_each_stage_keeps_the_previous_run(
    built: tuple[Path, Path, dict], stage: str
) -> None:
    corpus, root, manifest = built
    _kill_in(stage, corpus, root)
    run = open_run(Store(root).run_path("planted"))
    assert run.manifest["run_key"] == manifest["run_key"], (
        "the previous build is still the current one"
    )
    for fname in run.manifest["artifacts"]:
        run.verify(fname)
    if stage != "ingest":  # killed before it could write any progress
        progress = json.loads((root / ".progress" / "planted.json").read_text())
        assert (
            progress["state"] == "running"
        )  # the killed process could not clean up; readers see it is gone


def _kill_in(stage: str, corpus: Path, root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, stage, str(corpus), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]


def test_killed_before_the_model_is_saved_the_next_build_publishes_it(tmp_path: Path) -> None:
    """Killed after represent and hierarchy were cached but before model/ was written: the
    next build must not publish a run without model/ (it fits the representation again)."""
    from pipeline.store.contract import MODEL_FILES
    from tests.conftest import Config

    corpus = tmp_path / "planted.csv"
    planted_corpus().to_csv(corpus, index=False)
    root = tmp_path / "cache"
    _kill_in("save_model", corpus, root)
    assert list((root / ".store" / "stages" / "hierarchy").iterdir())  # it was cached
    cfg = Config().with_overrides(
        {"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2, "seed": 7}}
    )
    result = build(str(corpus), cfg, Store(root))
    assert result.timings["reduce"]["cached"] and not result.timings["represent"]["cached"]
    run = open_run(result.run_dir)
    for f in MODEL_FILES:
        run.verify(f"model/{f}")
    again = build(str(corpus), cfg, Store(root), force=True)  # now a plain cache hit
    assert again.timings["represent"]["cached"]
    for f in MODEL_FILES:
        open_run(again.run_dir).verify(f"model/{f}")


def test_next_build_after_kills_completes(
    built: tuple[Path, Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, root, manifest = built
    from pipeline.store import heartbeat
    from pipeline.store.artifacts import build_progress
    from tests.conftest import Config

    if not list(root.rglob(".tmp-*")):  # run alone: kill one build here
        _kill_in("mid-write", corpus, root)
    progress = build_progress(root)
    assert progress and all(p["state"] == "interrupted" for p in progress)
    assert list(root.rglob(".tmp-*")), "the mid-write kill leaves its temporary build directory"
    # Left by builds that are gone; the grace period for younger ones is not under test.
    monkeypatch.setattr(heartbeat, "STALE_SECONDS", 0.0)
    cfg = Config().with_overrides(
        {"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2, "seed": 7}}
    )
    result = build(str(corpus), cfg, Store(root))
    run = open_run(result.run_dir)
    assert run.manifest["run_key"] != manifest["run_key"]
    assert run.read_table("documents.parquet").shape[0] == 200
    assert build_progress(root) == []
    assert list(root.rglob(".tmp-*")) == [], "the build swept what the killed ones left"


class Interrupted(BaseException):
    """Like Ctrl-C landing between two chunks (not KeyboardInterrupt: pytest stops on it)."""


def _interrupt_on(calls: list[int], at: int) -> None:
    calls.append(1)
    if len(calls) == at:
        raise Interrupted


def test_interrupted_mid_embedding_publishes_nothing_and_keeps_whole_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped between two embedding batches: no run, every saved shard whole, and the next
    build embeds only what was missing."""
    import pipeline.stages.embed as embed
    from tests.conftest import Config

    corpus = tmp_path / "planted.csv"
    planted_corpus().to_csv(corpus, index=False)
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    monkeypatch.setattr(embed, "EMBED_SHARD", 20)
    calls: list[int] = []
    original = embed.HashingEmbedder.encode

    def encode(self, texts, progress=None):  # noqa: ANN001, ANN202
        _interrupt_on(calls, 4)
        return original(self, texts, progress)

    monkeypatch.setattr(embed.HashingEmbedder, "encode", encode)
    store = Store(tmp_path / "cache")
    with pytest.raises(Interrupted):
        build(str(corpus), cfg, store)
    assert store.list_runs() == []
    key = embed.embedding_key(cfg.embed)
    assert len(list(store.shard_dir("embeddings", key).glob("shard-*.keys.json"))) == 3
    calls[:] = [1] * 100  # past the interruption: the rest runs through
    result = build(str(corpus), cfg, Store(tmp_path / "cache"))
    assert (
        result.manifest["timings"]["embed"]["new_documents"]
        == result.manifest["counts"]["documents"] - 60
    )


def test_interrupted_mid_row_groups_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after the first row group of documents.parquet: no run, no temporary left."""
    import pyarrow.parquet as pq

    from pipeline.store import parquet
    from tests.conftest import Config

    corpus = tmp_path / "planted.csv"
    planted_corpus().to_csv(corpus, index=False)
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    monkeypatch.setattr(parquet.write_frame, "__defaults__", (50,))  # row groups of 50 rows
    calls: list[int] = []
    original = pq.ParquetWriter.write_table

    def write_table(self, table, row_group_size=None):  # noqa: ANN001, ANN202
        _interrupt_on(calls, 2)
        return original(self, table, row_group_size=row_group_size)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    store = Store(tmp_path / "cache")
    with pytest.raises(Interrupted):
        build(str(corpus), cfg, store)
    assert len(calls) == 2, "documents.parquet was being written in row groups"
    assert store.list_runs() == []
    builds = store.store_dir / "runs"
    assert not builds.exists() or not any(builds.rglob("*.parquet"))
