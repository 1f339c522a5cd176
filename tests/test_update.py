"""Incremental updates and refits on real arXiv abstracts: ids stay, lineage tells the story.

The corpus: six single-label arXiv topics whose vocabularies barely overlap, 36 papers
each, plus one label (VLA) planted to appear only late. With the hashing embedder (a
deterministic bag of words; these tests are about bookkeeping) a build finds each label
as one topic, so "the same topic" can be checked against the labels, not just against the
pipeline's own claims. One slow test repeats the monthly feed with the real model.

How many ids survived each simulated step is written to
``test-output/update_simulation.json`` (and ``update_simulation_real.json``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.errors import UserError
from pipeline.flows import build, update
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.update_corpus import (
    ARXIV,
    FIRST_MONTHS,
    LATE,
    LATE_MONTH,
    PER_LABEL,
    STEADY,
    UPDATES,
    hashing_config,
    majority_label,
    monthly_corpus,
    record,
    write_csv,
)


def test_monthly_updates_keep_ids_and_find_the_late_topic(tmp_path: Path) -> None:
    corpus = monthly_corpus()
    store = Store(tmp_path / "cache")
    first = build(
        str(write_csv(corpus[corpus["month"] <= FIRST_MONTHS], tmp_path / "m3.csv")),
        hashing_config(),
        store,
        name="sim",
    )
    m0 = first.manifest
    assert m0["update"]["kind"] == "build" and m0["update"]["step"] == 0
    start = majority_label(first.run_dir)
    assert sorted(start.values()) == sorted(STEADY), "each planted label is one topic"
    run0 = open_run(first.run_dir)
    assert not run0.has("lineage.parquet")
    hist0 = run0.read_table("topic_history.parquet")
    assert set(hist0["relation"]) == {"new"} and set(hist0["step"]) == {0}
    assert (run0.read_table("documents.parquet")["added_step"] == 0).all()
    labels0 = run0.read_table("topics.parquet").set_index("topic")["label"].to_dict()

    steps = [{"step": 0, "documents": m0["counts"]["documents"], "topics": len(start)}]
    for step in range(1, UPDATES + 1):
        month = FIRST_MONTHS + step
        # Odd steps pass the whole file so far (the daily-cron case: old rows are skipped
        # by id), even steps only the month's papers.
        rows = corpus[corpus["month"] <= month] if step % 2 else corpus[corpus["month"] == month]
        path = write_csv(rows, tmp_path / f"m{month}.csv")
        result = update("sim", str(path), store)
        m = result.manifest
        u = m["update"]
        arriving = int((corpus["month"] == month).sum())
        assert u["kind"] == "update" and u["step"] == step
        assert u["new_documents"] == arriving
        assert m["timings"]["embed"]["new_documents"] == arriving, "only new papers are embedded"
        run = open_run(result.run_dir)
        docs = run.read_table("documents.parquet")
        assert len(docs) == int((corpus["month"] <= month).sum())
        assert (docs["added_step"] == step).sum() == arriving
        # Unchanged topics keep their ids and labels and still mean the same label.
        topics = run.read_table("topics.parquet").set_index("topic")
        now = majority_label(result.run_dir)
        for t, label in start.items():
            assert now[t] == label, f"step {step}: topic {t} no longer {label}"
            assert topics.loc[t, "label"] == labels0[t]
        lineage = run.read_table("lineage.parquet")
        kept = lineage[lineage["previous_topic"].notna()]
        assert (kept["previous_topic"] == kept["topic"]).all()
        assert set(kept["relation"]) <= {"same", "grew"}
        assert len(kept) > 0 and u["ids_kept"] == u["ids_previous"] == len(kept)
        new = lineage[lineage["relation"] == "new"]
        assert sorted(new["topic"].astype(int)) == u["new_topics"]
        if month < LATE_MONTH:
            assert new.empty, f"step {step}: nothing new arrived, yet {len(new)} new topics"
        if month == LATE_MONTH:
            (late,) = u["new_topics"]
            assert late > max(start), "a new topic gets a fresh id"
            assert now[late] == LATE
            in_late = docs[docs["topic"] == late]
            assert (in_late["label"] == LATE).mean() >= 0.9
            assert (in_late["added_step"] == step).all()
        if month > LATE_MONTH:
            assert new.empty
            assert now[late] == LATE, "the late topic keeps its id once found"
        history = run.read_table("topic_history.parquet")
        assert sorted(set(history["step"])) == list(range(step + 1))
        # The carried-over hierarchy: merge nodes never clash with a (new) topic id.
        hier = run.read_table("hierarchy.parquet")
        assert set(hier["node"]).isdisjoint(topics.index) and hier["node"].min() > max(topics.index)
        leaves = set(hier["left"]) | set(hier["right"])
        assert leaves - set(hier["node"]) == set(start), "the tree still holds the first topics"
        steps.append(
            {
                "step": step,
                "documents": len(docs),
                "new_documents": u["new_documents"],
                "ids_previous": u["ids_previous"],
                "ids_kept": u["ids_kept"],
                "new_topics": u["new_topics"],
                "topics": m["counts"]["topics"],
            }
        )
    history = open_run(store.run_path("sim")).read_table("topic_history.parquet")
    first_seen = history[history["relation"] == "new"].groupby("topic")["step"].min()
    assert first_seen[late] == LATE_MONTH - FIRST_MONTHS
    record("update_simulation.json", steps)

    # The same file again: nothing new, nothing published.
    again = update("sim", str(tmp_path / f"m{FIRST_MONTHS + UPDATES - 1}.csv"), store)
    assert again.up_to_date and again.manifest["update"]["step"] == UPDATES
    # A paper already in the run under another id is skipped by its content.
    dup = corpus.iloc[[0]].assign(id="another-id")
    fresh = corpus.iloc[[0]].assign(id="fresh", title="Sleep staging in the wild")
    result = update("sim", str(write_csv(pd.concat([dup, fresh]), tmp_path / "dup.csv")), store)
    u = result.manifest["update"]
    assert (u["new_documents"], u["dropped_known_content"]) == (1, 1)


def _digests(run_dir: Path) -> dict[str, str]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    out = {}
    for name in manifest["artifacts"]:
        if name != "topic_history.parquet":
            out[name] = hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
    return out


def _comparable_manifest(run_dir: Path) -> dict:
    m = json.loads((run_dir / "manifest.json").read_text())
    for key in ("created_at", "timings", "total_seconds"):
        m.pop(key)
    m["artifacts"].pop("topic_history.parquet")
    m["update"].pop("previous_build")
    m["update"].pop("input", None)
    m["corpus"].pop("input")
    m["corpus"].pop("path")
    return m


def _history(run_dir: Path) -> pd.DataFrame:
    return (
        open_run(run_dir).read_table("topic_history.parquet").drop(columns=["build", "created_at"])
    )


def test_same_input_and_config_give_byte_identical_artifacts(
    base_run: tuple[Path, Path], tmp_path: Path
) -> None:
    """A second build in a fresh cache, then the same update in both: every artifact the same.

    Only timestamps (and the build names, which are timestamps) may differ: the manifest's
    created_at, timings and paths, and the build/created_at columns of topic_history.
    """
    shutil.copytree(base_run[0], tmp_path / "a", symlinks=True)
    copy = tmp_path / "steady.csv"
    shutil.copy(base_run[1], copy)
    second = build(str(copy), hashing_config(), Store(tmp_path / "b"), name="base")
    first = Store(tmp_path / "a").run_path("base")
    assert not second.manifest["timings"]["reduce"]["cached"], "a fresh cache recomputes"
    assert _digests(first) == _digests(second.run_dir)
    assert _comparable_manifest(first) == _comparable_manifest(second.run_dir)
    pd.testing.assert_frame_equal(_history(first), _history(second.run_dir))

    batch = write_csv(monthly_corpus().query("label == @LATE"), tmp_path / "late.csv")
    runs = [update("base", str(batch), Store(tmp_path / c)).run_dir for c in ("a", "b")]
    assert open_run(runs[0]).manifest["update"]["new_documents"] == PER_LABEL
    assert _digests(runs[0]) == _digests(runs[1])
    assert _comparable_manifest(runs[0]) == _comparable_manifest(runs[1])
    pd.testing.assert_frame_equal(_history(runs[0]), _history(runs[1]))


def test_update_needs_an_existing_run(tmp_path: Path, planted_csv: Path) -> None:
    with pytest.raises(UserError, match="no run named 'nope'.*topictrends build"):
        update("nope", str(planted_csv), Store(tmp_path / "cache"))


@pytest.mark.slow
def test_update_with_the_real_model(tmp_path: Path) -> None:
    """all-MiniLM-L6-v2, default [update] settings: 4 labels, then a month bringing VLA.

    With real embeddings unrelated ML abstracts are still 0.45-0.6 similar to a topic
    centroid, so this checks the default threshold (from the members' own similarity)
    keeps the late label out of the existing topics and finds it as one new topic.
    """
    labels = STEADY[:4]
    docs = pd.read_parquet(ARXIV)
    docs = docs[docs["n_labels"] == 1].sort_values("id")
    parts = []
    for label in labels:
        g = docs[docs["label"] == label].head(30).reset_index(drop=True)
        g["month"] = [1 + i % 3 if i < 24 else 4 for i in range(len(g))]
        parts.append(g)
    g = docs[docs["label"] == LATE].head(20).reset_index(drop=True)
    g["month"] = 4
    parts.append(g)
    corpus = pd.concat(parts, ignore_index=True)
    corpus["date"] = [f"2024-{m:02d}" for m in corpus["month"]]
    corpus = corpus[["id", "title", "text", "date", "label", "month"]]
    store = Store(tmp_path / "cache")
    cfg = Config().with_overrides({"reduce": {"ensemble": 2}})
    first = build(
        str(write_csv(corpus[corpus["month"] <= 3], tmp_path / "m3.csv")), cfg, store, name="real"
    )
    before = majority_label(first.run_dir)
    assert set(before.values()) == set(labels)
    result = update(
        "real", str(write_csv(corpus[corpus["month"] == 4], tmp_path / "m4.csv")), store
    )
    u = result.manifest["update"]
    assert u["new_documents"] == 4 * 6 + 20
    assert u["ids_kept"] == u["ids_previous"] == len(before)
    after = majority_label(result.run_dir)
    assert all(after[t] == label for t, label in before.items())
    assert len(u["new_topics"]) == 1 and after[u["new_topics"][0]] == LATE
    docs_after = open_run(result.run_dir).read_table("documents.parquet")
    late = docs_after[docs_after["label"] == LATE]
    assert (late["topic"] == u["new_topics"][0]).mean() >= 0.75, "most VLA papers form it"
    steady_new = docs_after[(docs_after["added_step"] == 1) & (docs_after["label"] != LATE)]
    assert (steady_new["topic"] >= 0).mean() >= 0.75, "most steady papers join their topic"
    record(
        "update_simulation_real.json",
        [
            {"step": 0, "topics": len(before)},
            {
                "step": 1,
                "ids_previous": u["ids_previous"],
                "ids_kept": u["ids_kept"],
                "new_topics": u["new_topics"],
                "assigned": u["assigned"],
                "threshold": result.manifest["timings"]["assign"]["threshold"],
            },
        ],
    )
