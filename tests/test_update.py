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

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.errors import UserError
from pipeline.runner import build, update
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import REPO

ARXIV = REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"
STEADY = (
    "Federated_Learning",
    "Keyword_Spotting",
    "Sleep_Stage",
    "Quantum_Computation",
    "Blood_Pressure_Estimation_PPG",
    "Mamba",
)
LATE = "VLA"
PER_LABEL = 36
FIRST_MONTHS = 3  # the first build holds months 1-3; each update adds one month (4..9)
UPDATES = 6
LATE_MONTH = 7  # VLA papers arrive from this month on (update step 4)
OUT = REPO / "test-output"


def hashing_config(**cluster: object) -> Config:
    """Model-free, 2-run ensemble; min_cluster_size 12 suits 36-paper labels.

    The hashing embedder's cosines are low and spread out (a bag of hashed words), so the
    assignment threshold is the fixed 0.3 a build uses for outliers rather than the
    default taken from the members' spread, which suits real embeddings (see the slow
    test below).
    """
    return Config().with_overrides(
        {
            "embed": {"backend": "hashing"},
            "reduce": {"ensemble": 2},
            "cluster": {"min_cluster_size": 12, **cluster},
            "update": {"assign_threshold": 0.3},
        }
    )


def monthly_corpus() -> pd.DataFrame:
    """Steady labels: 18 papers over months 1-3, then 3 a month; VLA: 18, 9, 9 from month 7."""
    docs = pd.read_parquet(ARXIV)
    docs = docs[docs["n_labels"] == 1].sort_values("id")
    parts = []
    for label in STEADY:
        g = docs[docs["label"] == label].head(PER_LABEL).reset_index(drop=True)
        g["month"] = [1 + i % 3 if i < 18 else 4 + (i - 18) // 3 for i in range(len(g))]
        parts.append(g)
    g = docs[docs["label"] == LATE].head(PER_LABEL).reset_index(drop=True)
    g["month"] = [LATE_MONTH if i < 18 else LATE_MONTH + 1 + (i - 18) // 9 for i in range(len(g))]
    parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out["date"] = [f"2024-{m:02d}" for m in out["month"]]
    return out[["id", "title", "text", "date", "label", "month"]]


def majority_label(run_dir: Path) -> dict[int, str]:
    docs = open_run(run_dir).read_table("documents.parquet")
    docs = docs[docs["topic"] >= 0]
    return docs.groupby("topic")["label"].agg(lambda s: s.value_counts().index[0]).to_dict()


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.drop(columns=["month"]).to_csv(path, index=False)
    return path


def record(name: str, steps: list[dict]) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / name).write_text(json.dumps(steps, indent=2) + "\n")


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
        assert u["ids_kept"] == u["ids_previous"] == len(kept)
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


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """All steady papers (6 labels x 36) built once; tests work on copies of the cache."""
    root = tmp_path_factory.mktemp("base")
    corpus = monthly_corpus()
    path = write_csv(corpus[corpus["label"].isin(STEADY)], root / "steady.csv")
    build(str(path), hashing_config(), Store(root / "cache"), name="base")
    return root / "cache", path


def test_refit_keeps_ids_and_records_a_merge_then_a_split(
    base_run: tuple[Path, Path], tmp_path: Path
) -> None:
    """Refit with max_topics = 5 merges the two closest labels; refitting without splits them."""
    shutil.copytree(base_run[0], tmp_path / "cache", symlinks=True)
    store = Store(tmp_path / "cache")
    before = majority_label(store.run_path("base"))
    prev_topics = open_run(store.run_path("base")).read_table("topics.parquet")

    merged = build(str(base_run[1]), hashing_config(max_topics=5), store, name="base", refit=True)
    u = merged.manifest["update"]
    assert (u["kind"], u["step"], u["ids_previous"], u["ids_kept"]) == ("refit", 1, 6, 5)
    lineage = open_run(merged.run_dir).read_table("lineage.parquet")
    rows = lineage[lineage["relation"] == "merged"]
    assert len(rows) == 2 and rows["topic"].nunique() == 1, lineage
    into = int(rows["topic"].iloc[0])
    pair = sorted(before[int(p)] for p in rows["previous_topic"])
    docs = open_run(merged.run_dir).read_table("documents.parquet")
    assert sorted(docs.loc[docs["topic"] == into, "label"].unique()) == pair
    assert into in rows["previous_topic"].astype(int).tolist(), "the merge keeps one of the ids"
    assert (rows["document_overlap"] == 1.0).all()
    same = lineage[lineage["relation"] == "same"]
    assert len(same) == 4 and (same["previous_topic"] == same["topic"]).all()
    for r in same.itertuples():
        assert majority_label(merged.run_dir)[int(r.topic)] == before[int(r.topic)]
        assert r.label == prev_topics.set_index("topic").loc[int(r.topic), "label"]
    assert set(lineage["relation"]) == {"same", "merged"}, "nothing is gone: it merged"
    gone_id = next(int(p) for p in rows["previous_topic"] if int(p) != into)

    split = build(str(base_run[1]), hashing_config(), store, name="base", refit=True)
    u = split.manifest["update"]
    assert (u["step"], u["ids_previous"], u["ids_kept"]) == (2, 5, 5)
    lineage = open_run(split.run_dir).read_table("lineage.parquet")
    rows = lineage[lineage["relation"] == "split"]
    assert len(rows) == 2 and set(rows["previous_topic"].astype(int)) == {into}, lineage
    after = majority_label(split.run_dir)
    assert sorted(after[int(t)] for t in rows["topic"]) == pair
    fresh = set(rows["topic"].astype(int)) - {into}
    assert fresh and min(fresh) > max(before), "an id is never reused (not even the merged one's)"
    assert gone_id not in after
    topic_emb = open_run(split.run_dir).read_array("topic_embeddings.npy")
    assert topic_emb.shape[0] == max(after) + 1 and not topic_emb[gone_id].any()
    history = open_run(split.run_dir).read_table("topic_history.parquet")
    assert sorted(set(history["step"])) == [0, 1, 2]
    rel = history.set_index(["step", "topic"])["relation"]
    assert rel[(1, into)] == "merged" and rel[(2, into)] == "split"


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


def test_update_from_the_command_line(
    base_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    shutil.copytree(base_run[0], tmp_path / "cache", symlinks=True)
    batch = write_csv(monthly_corpus().query("label == @LATE"), tmp_path / "late.csv")
    main(["update", "base", str(batch), "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(tmp_path / "cache" / "runs" / "base")
    assert any(line.startswith(f"update step 1: {PER_LABEL} new documents, 6/6") for line in out)
    main(["update", "base", str(batch), "--cache-dir", str(tmp_path / "cache")])
    assert "up to date" in capsys.readouterr().err


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


def test_relations_on_a_hand_made_refit() -> None:
    """Every relation at once, with the overlaps and similarities chosen by hand.

    Previous topics A, B, C, D (10 papers each); the refit finds X = A, Y = half of B,
    Z = the other half of B plus all of C, nothing for D, and W from 10 new papers.
    """
    from pipeline.config import UpdateConfig
    from pipeline.flows.lineage import TopicSet, refit_lineage, relation_of_topics, renumber_tables

    eye = np.eye(5, dtype=np.float32)
    z = (eye[1] + eye[2]) / np.sqrt(2)
    prev = TopicSet(
        ids=np.array([0, 1, 2, 3]),
        labels=["a", "b", "c", "d"],
        sizes=np.array([10, 10, 10, 10]),
        keywords=[["a1", "a2"], ["b1", "b2"], ["c1", "c2"], ["d1", "d2"]],
        centroids=eye[:4],
    )
    new = TopicSet(
        ids=np.array([0, 1, 2, 3]),  # the refit's own ids, by size: Z, X, W, Y
        labels=["z", "x", "w", "y"],
        sizes=np.array([15, 10, 10, 5]),
        keywords=[["c1", "c2"], ["a1", "a2"], ["w1", "w2"], ["b1", "b2"]],
        centroids=np.stack([z, eye[0], eye[4], eye[1]]),
    )
    docs = {f"{p}{i}": t for t, p in enumerate("abcd") for i in range(10)}
    prev_docs = pd.Series(docs)
    refit = {f"a{i}": 1 for i in range(10)}
    refit |= {f"b{i}": 3 if i < 5 else 0 for i in range(10)}
    refit |= {f"c{i}": 0 for i in range(10)}
    refit |= {f"d{i}": -1 for i in range(10)}
    refit |= {f"w{i}": 2 for i in range(10)}
    fit = refit_lineage(prev, new, prev_docs, pd.Series(refit), UpdateConfig(), next_id=7)
    assert fit.id_map == {0: 2, 1: 0, 2: 7, 3: 1}, "Z keeps C's id, X A's, Y B's; W is fresh"
    got = {
        (
            None if pd.isna(r.previous_topic) else int(r.previous_topic),
            None if pd.isna(r.topic) else int(r.topic),
            r.relation,
        ): (r.document_overlap, r.shared_documents)
        for r in fit.lineage.itertuples()
    }
    assert set(got) == {
        (0, 0, "same"),
        (1, 1, "split"),
        (1, 2, "split"),
        (1, 2, "merged"),
        (2, 2, "merged"),
        (3, None, "gone"),
        (None, 7, "new"),
    }
    assert got[(1, 2, "split")] == (0.5, 5) and got[(2, 2, "merged")] == (1.0, 10)
    assert fit.ids_kept == 3 and fit.kept_labels == {0: "a"}
    assert relation_of_topics(fit.lineage) == {0: "same", 1: "split", 2: "merged", 7: "new"}

    hierarchy = pd.DataFrame(
        {
            "node": [4, 5, 6],
            "parent": [5, 6, -1],
            "left": [0, 4, 5],
            "right": [3, 1, 2],
            "distance": [0.1, 0.2, 0.3],
            "label": ["", "", ""],
            "topics": [[0, 3], [0, 1, 3], [0, 1, 2, 3]],
        }
    )
    topics = pd.DataFrame({"topic": [0, 1, 2, 3], "label": list("zxwy")})
    labels, topics, emb, hier, _ = renumber_tables(
        fit.id_map, np.array([0, 1, -1, 3]), topics, new.centroids, hierarchy, {}
    )
    assert labels.tolist() == [2, 0, -1, 1]
    assert topics["topic"].tolist() == [2, 0, 7, 1]
    assert emb.shape == (8, 5) and not emb[3:7].any() and np.allclose(emb[7], eye[4])
    assert hier["node"].tolist() == [8, 9, 10] and hier["parent"].tolist() == [9, 10, -1]
    assert hier["left"].tolist() == [2, 8, 9] and hier["right"].tolist() == [1, 0, 7]
    assert hier["topics"].tolist() == [[1, 2], [0, 1, 2], [0, 1, 2, 7]]


def test_update_settings_never_invalidate_a_build() -> None:
    """[update] is outside the run key and every stage key; other sections are inside."""
    from pipeline.runner import run_key

    base = Config()
    tuned = base.with_overrides({"update": {"match_threshold": 0.9, "assign_threshold": 0.5}})
    assert run_key("corpus", tuned) == run_key("corpus", base)
    assert run_key("corpus", base.with_overrides({"cluster": {"min_cluster_size": 9}})) != (
        run_key("corpus", base)
    )
    assert all(getattr(tuned, s).key() == getattr(base, s).key() for s in ("embed", "cluster"))
