"""``build --preview`` (pipeline.flows.preview): a static-backend preview, then its refit.

The configured backend here is the hashing one and the static model is the fake from
``fake_static``, both at 64 dimensions: two embedding spaces of one dimension, so the
refine must match topics by their documents, never by a cosine across the spaces.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.errors import UserError
from pipeline.flows.preview import build_with_preview, why_no_preview
from pipeline.flows.refit import space_of_build
from pipeline.flows.run import Run
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from pipeline.store.contract import is_preview
from tests.conftest import cli, planted_corpus

DIM = 64
SETTINGS = {
    "embed": {"backend": "hashing", "dim": DIM, "static_dims": DIM},
    "reduce": {"ensemble": 2},
    "cluster": {"min_cluster_size": 12},
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "planted.csv"
    planted_corpus(n_per_topic=30).to_csv(path, index=False)
    return path


def test_preview_then_refine_publishes_two_builds_with_lineage(
    tmp_path: Path, corpus: Path, fake_static: list[Path]
) -> None:
    store = Store(tmp_path / "cache")
    cfg = Config().with_overrides(SETTINGS)
    seen: list[Path] = []

    def viewable(first) -> None:  # noqa: ANN001
        seen.append(store.previous_build("planted"))  # what the dashboard shows meanwhile
        assert first.run_dir.resolve() == seen[0]

    done = build_with_preview(str(corpus), cfg, store, "planted", on_preview=viewable)
    assert done.skipped is None and len(seen) == 1 and len(fake_static) == 1
    preview = open_run(seen[0])
    refined = open_run(store.previous_build("planted"))
    assert refined.path != preview.path and preview.path.exists()
    assert is_preview(preview.manifest) and not is_preview(refined.manifest)
    assert preview.manifest["embedding"]["backend"] == "static"
    assert refined.manifest["embedding"]["backend"] == "hashing"
    emb = preview.read_array("topic_embeddings.npy")
    assert space_of_build(preview.manifest, emb) != space_of_build(refined.manifest, emb)
    u = refined.manifest["update"]
    assert (u["kind"], u["step"], u["previous_build"]) == ("refit", 1, preview.path.name)
    # Five planted topics in both: every refined topic keeps its preview id, by the
    # documents they share (the two spaces' centroids are not comparable).
    n_topics = preview.manifest["counts"]["topics"]
    assert n_topics == refined.manifest["counts"]["topics"] == 5
    assert (u["ids_kept"], u["ids_previous"]) == (5, 5)
    lineage = refined.read_table("lineage.parquet")
    assert set(lineage["relation"]) <= {"same", "grew"}, lineage
    assert (lineage["previous_topic"] == lineage["topic"]).all()
    history = refined.read_table("topic_history.parquet")
    assert sorted(set(history["step"])) == [0, 1]
    assert set(history.loc[history["step"] == 0, "build"]) == {preview.path.name}

    # A refined build is there now: --preview builds normally (here: nothing to do).
    again = build_with_preview(str(corpus), cfg, store, "planted", on_preview=viewable)
    assert again.preview is None and "not a preview" in str(again.skipped)
    assert again.result.up_to_date and len(seen) == 1
    static = cfg.with_overrides({"embed": {"backend": "static"}})
    assert "already 'static'" in str(why_no_preview(Store(tmp_path / "other"), "x", static))


def test_a_stopped_refine_leaves_the_preview_published(
    tmp_path: Path,
    corpus: Path,
    fake_static: list[Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C or a failure in the refine: the preview stays the run's build, one line says
    so, and the same command again reuses the preview and refines it."""
    (tmp_path / "preview.toml").write_text(
        '[embed]\nbackend = "hashing"\ndim = 64\nstatic_dims = 64\n[reduce]\nensemble = 2\n'
        "[cluster]\nmin_cluster_size = 12\n"
    )
    root = tmp_path / "cache"
    argv = ("build", str(corpus), "--preview", "--cache-dir", str(root))
    argv += ("--config", str(tmp_path / "preview.toml"))
    chain = Run.run_chain
    stop: list[BaseException] = [KeyboardInterrupt(), UserError("a stage failed.")]

    def refine_stops(self: Run, flow: str, inputs: dict):  # noqa: ANN202
        if self.cfg.embed.backend == "hashing" and stop:
            raise stop.pop(0)
        return chain(self, flow, inputs)

    monkeypatch.setattr(Run, "run_chain", refine_stops)
    code, out, err = cli(capsys, *argv)
    preview = Store(root).previous_build("planted")
    assert code == 130 and out == "", err
    assert "preview ready: run planted, 5 topics" in err
    assert err.strip().splitlines()[-1] == (
        f"interrupted while refining: the preview build {preview.name} of run 'planted' "
        "stays published; run the same command again to refine it"
    )
    assert is_preview(open_run(preview).manifest)

    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "", err
    assert err.strip().splitlines()[-1] == (
        f"error: a stage failed. The refine stopped: the preview build {preview.name} of run "
        "'planted' stays published; run the same command again to refine it."
    )
    assert Store(root).previous_build("planted") == preview

    code, out, err = cli(capsys, *argv)
    refined = Store(root).previous_build("planted")
    assert code == 0 and refined != preview
    assert Path(out.strip().splitlines()[-1]).resolve() == refined
    assert "preview ready" in err and len(fake_static) == 1
    assert open_run(refined).manifest["update"]["previous_build"] == preview.name
    code, _, err = cli(capsys, *argv, "--refit")
    assert code == 2 and "pass one of them" in err


def test_an_update_of_a_preview_is_still_a_preview(
    tmp_path: Path, corpus: Path, fake_static: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """New documents added to a preview keep it a preview (its embeddings are still the
    static ones), so the dashboard line stays and ``--preview`` still refines it."""
    from pipeline.flows.preview import RefineInterrupted
    from pipeline.flows.update import update

    chain = Run.run_chain

    def refine_stops(self: Run, flow: str, inputs: dict):  # noqa: ANN202
        if self.cfg.embed.backend == "hashing":
            raise KeyboardInterrupt
        return chain(self, flow, inputs)

    monkeypatch.setattr(Run, "run_chain", refine_stops)
    store = Store(tmp_path / "cache")
    with pytest.raises(RefineInterrupted):
        build_with_preview(str(corpus), Config().with_overrides(SETTINGS), store, name="p")
    new = tmp_path / "new.csv"
    more = planted_corpus(n_per_topic=2)
    more["id"] = [f"new-{i}" for i in range(len(more))]
    more["abstract"] = more["abstract"] + " arriving later"
    more.to_csv(new, index=False)
    updated = update("p", str(new), store)
    assert updated.manifest["update"]["kind"] == "update"
    assert is_preview(updated.manifest)
    assert why_no_preview(store, "p", Config().with_overrides(SETTINGS)) is None
