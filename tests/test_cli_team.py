"""`topictrends curate` and the curated `topics`, through update and build --refit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.curation.log import read_log
from pipeline.curation.view import curated_run
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import cli
from tests.update_corpus import LATE, STEADY, hashing_config, monthly_corpus, write_csv


def curated_labels(cache: Path) -> dict[int, str]:
    handle = open_run(cache / "runs" / "base")
    view = curated_run(handle, read_log(cache / "curation", "base"))
    return dict(zip(view.topics["topic"], view.topics["label"], strict=True))


def test_edits_survive_update_and_refit(
    base_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(base_run[0], cache, symlinks=True)
    c = ("--cache-dir", str(cache))
    assert cli(capsys, "curate", "base", "rename", "1", "Vision <b>models</b>", *c)[0] == 0
    assert cli(capsys, "curate", "base", "merge", "2", "3", *c)[0] == 0
    assert cli(capsys, "curate", "base", "hide", "0", *c)[0] == 0
    code, out, _ = cli(capsys, "topics", "base", *c)
    assert "Vision <b>models</b> *" in out and "\n 0 " not in out and "\n 2 " not in out

    corpus = monthly_corpus()
    batch = write_csv(corpus[corpus["label"] == LATE], tmp_path / "late.csv")
    assert cli(capsys, "update", "base", str(batch), *c)[0] == 0
    after = curated_labels(cache)
    assert after[1] == "Vision <b>models</b>" and 0 not in after and 2 not in after

    grown = write_csv(corpus[corpus["label"].isin((*STEADY, LATE))], tmp_path / "all.csv")
    build(str(grown), hashing_config(), Store(cache), name="base", refit=True)
    handle = open_run(cache / "runs" / "base")
    view = curated_run(handle, read_log(cache / "curation", "base"))
    labels = dict(zip(view.topics["topic"], view.topics["label"], strict=True))
    state = view.overlay.state
    if 1 in {int(t) for t in handle.read_table("topics.parquet")["topic"]}:
        assert labels[1] == "Vision <b>models</b>"  # kept id: the curated name beats the refit's
    else:
        assert any(e.topic == 1 for e in state.orphans) or "Vision <b>models</b>" in labels.values()
    code, out, err = cli(capsys, "curate", "base", "log", *c)
    assert code == 0 and out.count("in effect") + out.count("topic gone") == 3


def test_curate_refuses_bad_requests_in_one_line(
    base_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(base_run[0], cache, symlinks=True)
    c = ("--cache-dir", str(cache))
    for argv, needle in [
        (("frob",), "unknown action 'frob'"),
        (("rename", "x", "y"), "TOPIC 'x' is not a topic number"),
        (("rename", "1"), "rename takes 2 argument(s), got 1"),
        (("hide", "99"), "no topic 99"),
        (("undo",), "nothing to undo"),
    ]:
        code, _, err = cli(capsys, "curate", "base", *argv, *c)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (cache / "curation" / "base.jsonl").exists()
    code, _, err = cli(capsys, "curate", "nope", "log", *c)
    assert code == 2 and "no run named 'nope'" in err
    assert Config().curation.dir is None
