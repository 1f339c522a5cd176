"""``topictrends update`` on batches of real papers, not only planted topics.

The base run is the bundled arXiv sample's papers of 2017-2019 (687; the file is the same
as ../shared/corpora/arxiv_topic_labelled.parquet, and CI always has it), built with the
hashing embedder and the default ``[update]`` settings. The batches are papers of other
periods and sizes: older than the run, the next quarter, a year as a CSV export, then
everything after. After each update every invariant a reader relies on is checked: the
previous topics keep their ids and labels, a document in topic t stays in t, every
document has a valid topic and probability, and the published run verifies.

Issue 14: the last, large batch leaves a HDBSCAN cluster that the coherence filter
thins, which crashed ``fold`` ("shape mismatch") because the members were filtered and
their strengths were not. A spy on ``coherent`` makes sure the test reaches that line.
"""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipeline.stages.assign as upd
from pipeline.config import Config
from pipeline.errors import UserError
from pipeline.flows import build, update
from pipeline.store.artifacts import RunHandle, open_run
from pipeline.store.cache import Store
from tests.conftest import REPO, planted_corpus

ARXIV = REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"


def papers() -> pd.DataFrame:
    return pd.read_parquet(ARXIV)


@pytest.fixture(scope="module")
def base_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2017-2019 papers built once; each test updates a copy of this cache."""
    root = tmp_path_factory.mktemp("real-base")
    docs = papers()
    docs[(docs["date"] >= "2017") & (docs["date"] < "2020")].to_parquet(root / "base.parquet")
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    build(str(root / "base.parquet"), cfg, Store(root / "cache"), name="papers")
    return root / "cache"


@pytest.fixture
def store(base_cache: Path, tmp_path: Path) -> Store:
    shutil.copytree(base_cache, tmp_path / "cache", symlinks=True)
    return Store(tmp_path / "cache")


@pytest.fixture
def coherent_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(cluster size, members kept) of every call of the coherence filter in ``fold``."""
    calls: list[tuple[int, int]] = []
    real = upd.coherent

    def spy(embeddings: np.ndarray, threshold: float) -> np.ndarray:
        keep = real(embeddings, threshold)
        calls.append((len(embeddings), int(keep.sum())))
        return keep

    monkeypatch.setattr(upd, "coherent", spy)
    return calls


class Snapshot:
    """What the run held before an update, read in full (older builds may be pruned)."""

    def __init__(self, store: Store, name: str = "papers") -> None:
        run = published(store.run_path(name))
        self.path = store.previous_build(name)
        self.docs = run.read_table("documents.parquet").set_index("doc_id")
        self.topics = run.read_table("topics.parquet").set_index("topic")
        self.history = run.read_table("topic_history.parquet")


def published(run_dir: Path) -> RunHandle:
    """The run, with every artifact's checksum verified and every table read."""
    run = open_run(run_dir)
    for name in run.manifest["artifacts"]:
        run.verify(name)
        if name.endswith(".parquet") and "/" not in name:
            run.read_table(name)
    return run


def check_update(before: Snapshot, run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every invariant of an update against the run before it; returns (docs, topics)."""
    run = published(run_dir)
    u = run.manifest["update"]
    docs = run.read_table("documents.parquet").set_index("doc_id")
    topics = run.read_table("topics.parquet").set_index("topic")
    old = before.topics.index
    # The previous topics keep their ids, labels and keywords.
    assert set(old) <= set(topics.index)
    assert topics.loc[old, "label"].tolist() == before.topics["label"].tolist()
    assert [list(k) for k in topics.loc[old, "keywords"]] == [
        list(k) for k in before.topics["keywords"]
    ]
    fresh = sorted(set(topics.index) - set(old))
    assert fresh == sorted(u["new_topics"])
    assert all(t > max(before.history["topic"].max(), old.max()) for t in fresh)
    # A document in topic t stays in t; only an earlier update's leftover may move, and
    # only into a topic new at this step. Nothing already on the map moves.
    was = before.docs["topic"]
    now = docs.loc[was.index, "topic"]
    moved = now != was
    assert not moved[was >= 0].any()
    assert now[moved].isin(fresh).all()
    assert (before.docs.loc[moved, "added_step"] > 0).all()
    assert np.array_equal(docs.loc[was.index, ["x", "y"]], before.docs[["x", "y"]])
    # Every document has a valid topic and probability.
    assert docs["topic"].isin([*topics.index, -1]).all()
    prob = docs["topic_prob"].to_numpy()
    assert np.isfinite(prob).all() and (prob >= 0).all() and (prob <= 1).all()
    assert (docs.loc[docs["topic"] == -1, "topic_prob"] == 0).all()
    assert (docs.loc[docs["topic"] >= 0, "topic_prob"] > 0).all()
    added = docs[docs["added_step"] == u["step"]]
    assert len(added) == u["new_documents"] and len(docs) == len(was) + len(added)
    assert np.isfinite(docs[["x", "y"]].to_numpy()).all()
    # Sizes and counts agree with the documents.
    sizes = docs.loc[docs["topic"] >= 0, "topic"].value_counts()
    assert (topics["size"] == sizes.reindex(topics.index, fill_value=0)).all()
    assert run.manifest["counts"]["documents"] == len(docs)
    assert run.manifest["counts"]["outliers"] == int((docs["topic"] == -1).sum())
    lineage = run.read_table("lineage.parquet")
    kept = lineage[lineage["previous_topic"].notna()]
    assert sorted(kept["topic"].astype(int)) == sorted(old)
    assert (kept["previous_topic"] == kept["topic"]).all()
    return docs, topics


def test_batches_of_real_papers_of_several_sizes_and_periods(
    store: Store, tmp_path: Path, coherent_calls: list[tuple[int, int]]
) -> None:
    """Older papers, the next quarter, a year as CSV, then all the rest: one run, 4 steps."""
    docs = papers()
    batches = [
        ("older", docs[docs["date"] < "2017"], "parquet"),  # dates before the run's span
        ("quarter", docs[(docs["date"] >= "2020") & (docs["date"] < "2020-04")], "parquet"),
        ("year", docs[docs["date"].str.startswith("2021")], "csv"),  # every cell text
        ("rest", docs[docs["date"] >= "2020"], "parquet"),  # the growing export: 3,143
    ]
    period = open_run(store.run_path("papers")).manifest["period"]
    filtered_and_kept = False
    for step, (name, batch, fmt) in enumerate(batches, 1):
        path = tmp_path / f"{name}.{fmt}"
        batch.to_parquet(path) if fmt == "parquet" else batch.to_csv(path, index=False)
        before = Snapshot(store)
        coherent_calls.clear()
        result = update("papers", str(path), store)
        m = result.manifest
        assert m["update"]["step"] == step
        assert m["update"]["new_documents"] == len(set(batch["id"]) - set(before.docs.index))
        after, _ = check_update(before, result.run_dir)
        min_size = m["timings"]["assign"]["min_new_topic_size"]
        filtered_and_kept |= any(min_size <= k < n for n, k in coherent_calls)
        # The run keeps its period; its span and topics over time reach the new dates.
        assert m["period"] == period
        dates = pd.to_datetime(batch["date"])
        assert m["date_span"][0] <= str(dates.min().date())
        assert m["date_span"][1] >= str(dates.max().date())
        over_time = open_run(result.run_dir).read_table("topics_over_time.parquet")
        assert over_time["period_start"].min() <= dates.min()
        assert over_time["count"].sum() == after["date"].notna().sum()
        # A CSV batch on a Parquet run: the metadata keep the run's types.
        assert after["year"].dtype == np.int64 and after["n_labels"].dtype == np.int64
        if name == "rest":
            assert m["update"]["new_topics"], "3,000 later papers bring a new topic"
    assert filtered_and_kept, "no thinned cluster became a topic: the issue-14 line is unreached"


def _crafted(rng: np.random.Generator, sizes: list[tuple[int, int]]) -> np.ndarray:
    """Unit rows: 10 old papers near axis 0, then per cluster ``coherent`` papers near one
    axis each and ``loose`` ones on an axis of their own (unrelated to everything)."""
    dim = 2 + sum(c + 1 + loose for c, loose in sizes)
    rows = [np.eye(dim)[0] + rng.normal(0, 0.05, dim) for _ in range(10)]
    axis = 1
    for coherent, loose in sizes:
        rows += [np.eye(dim)[axis] + rng.normal(0, 0.05, dim) for _ in range(coherent)]
        axis += 1
        for _ in range(loose):
            rows.append(np.eye(dim)[axis])
            axis += 1
    e = np.array(rows, dtype=np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def _fold_with_clusters(
    monkeypatch: pytest.MonkeyPatch, sizes: list[tuple[int, int]]
) -> tuple[upd.Folded, np.ndarray]:
    """fold() over crafted papers, HDBSCAN replaced by one cluster per entry of ``sizes``."""
    e = _crafted(np.random.default_rng(0), sizes)
    found = np.concatenate([np.full(c + loose, i) for i, (c, loose) in enumerate(sizes)])
    strength = np.linspace(0.1, 1.0, len(found)).astype(np.float32)
    monkeypatch.setattr(upd, "detect", lambda emb, size: (found.astype(np.int64), strength))
    n = len(e)
    labels = np.r_[np.zeros(10), np.full(n - 10, -1)].astype(np.int64)
    added = np.r_[np.zeros(10), np.ones(n - 10)].astype(np.int64)
    folded = upd.fold(e, labels, np.ones(n, np.float32), added, 1, 0.5, 5, next_id=7)
    return folded, strength


def test_fold_keeps_each_members_own_strength_when_the_filter_thins_a_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """6 papers on one subject plus 4 unrelated ones that HDBSCAN put in their cluster."""
    folded, strength = _fold_with_clusters(monkeypatch, [(6, 4)])
    assert folded.new_topics == [7]
    assert folded.labels[10:16].tolist() == [7] * 6, "the coherent six form the topic"
    assert folded.labels[16:].tolist() == [-1] * 4, "the unrelated four stay out"
    assert np.allclose(folded.probs[10:16], strength[:6]), "each member keeps its own strength"
    assert (folded.probs[16:] == 0).all() and folded.in_new_topics == 6
    assert folded.labels[:10].tolist() == [0] * 10 and (folded.probs[:10] == 1).all()


def test_fold_numbers_new_topics_by_what_the_filter_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HDBSCAN's larger cluster (5 + 3 loose) keeps 5, its smaller one (6) keeps 6: the
    six-paper topic is the larger and gets the first id."""
    folded, strength = _fold_with_clusters(monkeypatch, [(5, 3), (6, 0)])
    assert folded.new_topics == [7, 8]
    assert folded.labels[10:15].tolist() == [8] * 5 and folded.labels[15:18].tolist() == [-1] * 3
    assert folded.labels[18:24].tolist() == [7] * 6
    assert np.allclose(folded.probs[18:24], strength[8:14])


def test_an_empty_batch_is_one_line_and_writes_nothing(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    before = store.previous_build("papers")
    path = tmp_path / "empty.csv"
    papers().head(0).to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_:
        main(["update", "papers", str(path), "--cache-dir", str(store.root)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "no rows" in err, err
    assert "at least 20" not in err, "an update takes any number of documents"
    assert store.previous_build("papers") == before


def test_a_batch_that_is_all_outliers(
    store: Store, tmp_path: Path, coherent_calls: list[tuple[int, int]]
) -> None:
    """Cooking notes, then 24 texts of random words: nothing joins a topic or forms one."""
    cooking = planted_corpus(n_per_topic=6)
    cooking = cooking[cooking["planted"] == "cooking"].drop(columns=["planted", "venue"])
    cooking.to_csv(tmp_path / "cooking.csv", index=False)
    before = Snapshot(store)
    result = update("papers", str(tmp_path / "cooking.csv"), store)
    docs, _ = check_update(before, result.run_dir)
    assert (docs.loc[cooking["id"], "topic"] == -1).all()
    assert (
        result.manifest["update"]["assigned"] == 0 and not result.manifest["update"]["new_topics"]
    )

    rng = random.Random(0)
    words = [f"{a}{b}{c}" for a in "bdfgklmnprst" for b in "aeiou" for c in "nrstlm"]
    noise = pd.DataFrame(
        {
            "id": [f"noise-{i}" for i in range(24)],
            "title": [" ".join(rng.sample(words, 3)) for _ in range(24)],
            "abstract": [" ".join(rng.sample(words, 40)) for _ in range(24)],
            "date": "2020-05",
        }
    )
    noise.to_csv(tmp_path / "noise.csv", index=False)
    before = Snapshot(store)
    result = update("papers", str(tmp_path / "noise.csv"), store)
    docs, _ = check_update(before, result.run_dir)
    assert (docs.loc[noise["id"], "topic"] == -1).all()
    assert not result.manifest["update"]["new_topics"]
    over_time = open_run(result.run_dir).read_table("topics_over_time.parquet")
    assert over_time["count"].sum() == docs["date"].notna().sum()


def test_an_undated_batch_on_a_dated_run(store: Store, tmp_path: Path) -> None:
    """Added without dates: counted in the topics, left out of time, the span unchanged."""
    before = Snapshot(store)
    span = open_run(store.run_path("papers")).manifest["date_span"]
    batch = papers().query("date >= '2022'").head(60).drop(columns=["date", "year"])
    batch.to_csv(tmp_path / "undated.csv", index=False)
    result = update("papers", str(tmp_path / "undated.csv"), store)
    docs, _ = check_update(before, result.run_dir)
    m = result.manifest
    assert m["dated"] and m["date_span"] == span
    assert docs.loc[batch["id"], "date"].isna().all()
    assert m["counts"]["dated_documents"] == len(before.docs)
    over_time = open_run(result.run_dir).read_table("topics_over_time.parquet")
    assert over_time["count"].sum() == len(before.docs)


def test_metadata_columns_new_missing_and_of_another_type(store: Store, tmp_path: Path) -> None:
    """A new column, a dropped one, numbers as text: kept; a value of another type: refused."""
    later = papers().query("date >= '2021'")
    batch = later.head(40).drop(columns=["all_labels"]).assign(venue="ICML", pages="12")
    batch = batch.astype({"year": str})
    batch.to_parquet(tmp_path / "meta.parquet")
    before = Snapshot(store)
    result = update("papers", str(tmp_path / "meta.parquet"), store)
    docs, _ = check_update(before, result.run_dir)
    assert docs["year"].dtype == np.int64
    assert docs.loc[batch["id"], "year"].tolist() == batch["year"].astype(int).tolist()
    assert docs.loc[before.docs.index, "venue"].isna().all()
    assert (docs.loc[batch["id"], "venue"] == "ICML").all()
    assert docs.loc[batch["id"], "all_labels"].isna().all()
    assert "venue" in result.manifest["corpus"]["metadata_columns"]

    bad = later.iloc[40:50].assign(n_labels="several")
    bad.to_parquet(tmp_path / "bad.parquet")
    current = store.previous_build("papers")
    with pytest.raises(UserError) as err:
        update("papers", str(tmp_path / "bad.parquet"), store)
    message = str(err.value)
    assert "\n" not in message
    for part in ("bad.parquet", "column 'n_labels'", bad["id"].iloc[0], "'several'", "a number"):
        assert part in message, message
    assert store.previous_build("papers") == current, "nothing is published"


def test_conform_metadata_reads_each_value_as_the_runs_type() -> None:
    prev = pd.DataFrame(
        {
            "n": [1, 2],
            "score": [0.5, 1.5],
            "flag": [True, False],
            "when": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "venue": ["A", "B"],
            "tags": [[1], [2]],
            "empty": [None, None],
        }
    )
    new = pd.DataFrame(
        {
            "doc_id": ["x", "y"],
            "n": ["3", ""],
            "score": [" 2.5", None],
            "flag": ["true", "No"],
            "when": ["2022-03-04", None],
            "venue": [7, None],
            "tags": [[3], None],
            "empty": [1, 2],
        }
    )
    out = upd.conform_metadata(prev, new, list(prev.columns), Path("b.csv"), "run")
    both = pd.concat([prev, out], ignore_index=True)
    assert both["n"].tolist()[:3] == [1, 2, 3] and pd.isna(both["n"].iloc[3])
    assert both["score"].tolist()[:3] == [0.5, 1.5, 2.5]
    assert both["flag"].tolist() == [True, False, True, False]
    assert both["when"].iloc[2] == pd.Timestamp("2022-03-04") and pd.isna(both["when"].iloc[3])
    assert both["venue"].tolist()[:3] == ["A", "B", "7"]
    assert out["tags"].tolist() == [[3], None] and out["empty"].tolist() == [1, 2]
    both.drop(columns=["tags"]).to_parquet(io.BytesIO())  # one Arrow type per column
    for col, value, words in (
        ("n", "three", "a number"),
        ("flag", "maybe", "true or false"),
        ("when", "soon", "a date"),
    ):
        with pytest.raises(
            UserError, match=f"column '{col}', document 'x': '{value}' is not {words}"
        ):
            upd.conform_metadata(prev, new.assign(**{col: [value, None]}), [col], Path("b"), "r")
