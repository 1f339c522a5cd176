"""The refit step (pipeline.flows.refit): a fresh fit published under the previous ids."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.update_corpus import (
    hashing_config,
    majority_label,
)


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
