"""Memory estimates (pipeline.stages.memory): a stage that would not fit stops the build
with one line naming the setting that lowers it, before it starts; nothing is published."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import Config, ScaleConfig, validate_config
from pipeline.errors import UserError
from pipeline.flows import build
from pipeline.flows.run import run_key
from pipeline.progress import SilentReporter
from pipeline.stages import memory
from pipeline.stages.base import Context
from pipeline.stages.executor import InProcessExecutor
from pipeline.store.cache import Store


def test_sizes_are_read_in_the_usual_units() -> None:
    assert memory.parse_size("6GB") == 6_000_000_000
    assert memory.parse_size("512 MiB") == 512 * 2**20
    assert memory.parse_size("2.5g") == 2_500_000_000
    assert memory.parse_size("1000") == 1000
    for bad in ("lots", "6 GBs", "-1GB", ""):
        with pytest.raises(ValueError):
            memory.parse_size(bad)
    with pytest.raises(UserError, match="scale.max_memory"):
        validate_config({"scale": {"max_memory": "plenty"}}, source="t.toml")


def test_max_memory_is_in_no_key() -> None:
    """It says when to stop, never what is computed: a sampled build's keys stay put."""
    limited = Config(scale=ScaleConfig(max_memory="6GB"))
    assert limited.scale.key() == Config().scale.key()
    assert run_key("c", limited, sampled=True) == run_key("c", Config(), sampled=True)


def _ctx(tmp_path: Path, n: int, max_memory: str, sample: int | None = None) -> Context:
    import numpy as np

    texts = ["an abstract of about six hundred characters " * 14] * n
    inputs = {"texts": texts, "sample": None if sample is None else np.arange(sample)}
    cfg = Config(scale=ScaleConfig(max_memory=max_memory))
    return Context(cfg, Store(tmp_path), SilentReporter(), InProcessExecutor(), inputs)


def test_estimates_grow_with_the_corpus_and_shrink_with_the_sample(tmp_path: Path) -> None:
    small, large = _ctx(tmp_path, 10_000, "1GB"), _ctx(tmp_path, 1_000_000, "1GB")
    sampled = _ctx(tmp_path, 1_000_000, "1GB", sample=50_000)
    for stage, estimate in memory.ESTIMATES.items():
        assert estimate(small).bytes < estimate(large).bytes, stage
    assert memory.ESTIMATES["reduce"](sampled).bytes < memory.ESTIMATES["reduce"](large).bytes


def test_a_stage_over_budget_stops_naming_the_setting(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(memory, "resident", lambda: 100 * memory.MB)
    memory.check("reduce", _ctx(tmp_path, 2_000, "2GB"))  # fits: nothing happens
    with pytest.raises(UserError) as err:
        memory.check("reduce", _ctx(tmp_path, 1_000_000, "2GB"))
    line = str(err.value)
    assert "\n" not in line
    for needle in (
        "reduce stage",
        "UMAP on 1,000,000 documents",
        "2.0 GB allowed",
        "[scale] max_memory",
        "Lower [scale] fit_sample",
    ):
        assert needle in line, (needle, line)
    with pytest.raises(UserError, match=r"Lower \[represent\] ngram_max"):
        memory.check("keywords_over_time", _ctx(tmp_path, 1_000_000, "2GB"))
    # without [scale] max_memory the budget is a share of the memory available
    monkeypatch.setattr(memory, "available", lambda: 500 * memory.MB)
    ctx = _ctx(tmp_path, 1_000_000, "2GB")
    ctx.cfg = Config()
    with pytest.raises(UserError, match="90% of the 524 MB available"):
        memory.check("embed", ctx)


def test_build_over_budget_publishes_nothing(
    tmp_path: Path,
    planted_csv: Path,
    fast_config: Config,
    monkeypatch,  # noqa: ANN001
) -> None:
    """The budget lets ingest and embedding through and stops at UMAP, mid-build."""
    monkeypatch.setattr(memory, "resident", lambda: 0)
    cfg = fast_config.model_copy(update={"scale": ScaleConfig(max_memory="300MB")})
    store = Store(tmp_path / "cache")
    with pytest.raises(UserError, match=r"the reduce stage .* Lower \[scale\] fit_sample"):
        build(str(planted_csv), cfg, store, name="p")
    assert store.list_runs() == []
    assert not (store.store_dir / "stages" / "reduce").exists()


def test_cli_over_budget_is_one_line_and_exit_2(tmp_path: Path, planted_csv: Path) -> None:
    conf = tmp_path / "small.toml"
    conf.write_text('[scale]\nmax_memory = "1MB"\n')
    cache = tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "build", str(planted_csv), "--backend", "hashing"]
        + ["--config", str(conf), "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert "Traceback" not in line and "[scale] max_memory" in line and "1 MB allowed" in line
    assert not (cache / "runs").exists()
