"""A run with update history for the dashboard tests, written by hand from two real builds.

Stand-in for ``topictrends update`` until the pipeline has it: build the first corpus, then
the grown one under the same name, and turn the second build into what an update publishes
(docs/artifacts.md, issue 7): topic ids of the current build renumbered so a topic that
carries over keeps its previous id, ``documents.added_step``, ``lineage.parquet`` from the
documents both builds share, ``topic_history.parquet`` for steps 0 and 1, and
``manifest["update"]``. Everything is republished through ``Store.publish_run`` with fresh
checksums, so ``open_run`` verifies it like any other run. The BERTopic model directory is
copied as it was (the dashboard does not read it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.cache import Store, load_npy, save_files, sha256_file, write_json
from pipeline.config import Config
from pipeline.runner import build

SPLIT_SHARE = 0.25  # a previous topic "flows" into every current topic holding this share of it
THIS_BUILD = "(this build)"  # in a ``build`` column: replaced by the stamp of the build written


def republish(
    store: Store,
    name: str,
    frames: dict[str, pd.DataFrame] | None = None,
    arrays: dict[str, np.ndarray] | None = None,
    manifest_patch: dict[str, Any] | None = None,
    source: Path | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Publish a new build of ``name``: the files of ``source`` (default: its current build)
    with ``frames``/``arrays`` (by stem) replaced or added, the artifacts and manifest keys
    in ``drop`` left out, every checksum recomputed."""
    src = (source or store.run_path(name)).resolve()
    manifest = json.loads((src / "manifest.json").read_text())
    manifest.update(manifest_patch or {})
    for key in drop:
        manifest.pop(key, None)
        manifest["artifacts"].pop(key, None)
    frames = dict(frames or {})
    arrays = dict(arrays or {})

    stamps: list[str] = []

    def write(tmp: Path) -> None:
        stamps.append(tmp.name.removeprefix(".tmp-").rsplit("-", 1)[0])  # atomic_dir's naming
        for frame in frames.values():
            if "build" in frame.columns:
                frame["build"] = frame["build"].replace(THIS_BUILD, stamps[0])
        save_files(tmp, arrays=arrays, frames=frames)
        for rel in manifest["artifacts"]:
            if not (tmp / rel).exists():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, tmp / rel)
        for stem in frames:
            manifest["artifacts"].setdefault(f"{stem}.parquet", {})
        for stem in arrays:
            manifest["artifacts"].setdefault(f"{stem}.npy", {})
        for rel, info in manifest["artifacts"].items():
            info["sha256"] = sha256_file(tmp / rel)
            info["bytes"] = (tmp / rel).stat().st_size
            stem = rel.rsplit(".", 1)[0]
            if stem in frames:
                info["rows"] = int(len(frames[stem]))
        write_json(tmp / "manifest.json", manifest)

    path = store.publish_run(name, write)
    assert path.resolve().name == stamps[0], "atomic_dir's temp naming changed: fix THIS_BUILD"
    return path


def _read(run_dir: Path, stem: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / f"{stem}.parquet")


def match_topics(
    prev_docs: pd.DataFrame, cur_docs: pd.DataFrame, prev_sizes: dict[int, int]
) -> pd.DataFrame:
    """Lineage rows (before renumbering) from the documents both builds share.

    A previous topic flows into every current topic holding at least ``SPLIT_SHARE`` of its
    shared documents: one such topic is ``same``/``grew``, several are a ``split``, several
    previous topics flowing into one current topic a ``merged``; a previous topic flowing
    nowhere is ``gone``, a current topic nothing flows into is ``new``.
    """
    both = prev_docs[["doc_id", "topic"]].merge(
        cur_docs[["doc_id", "topic"]], on="doc_id", suffixes=("_prev", "_cur")
    )
    both = both[(both["topic_prev"] >= 0) & (both["topic_cur"] >= 0)]
    pairs = both.groupby(["topic_prev", "topic_cur"]).size().rename("shared").reset_index()
    per_prev = both.groupby("topic_prev").size()
    pairs["overlap"] = pairs["shared"] / pairs["topic_prev"].map(per_prev)
    flows = pairs[pairs["overlap"] >= SPLIT_SHARE]
    succ = flows.groupby("topic_prev")["topic_cur"].nunique()
    pred = flows.groupby("topic_cur")["topic_prev"].nunique()
    cur_sizes = cur_docs.loc[cur_docs["topic"] >= 0, "topic"].value_counts()
    rows = []
    for r in flows.itertuples(index=False):
        p, t = int(r.topic_prev), int(r.topic_cur)
        if succ[p] > 1:
            rel = "split"
        elif pred[t] > 1:
            rel = "merged"
        else:
            rel = "grew" if cur_sizes[t] > 1.2 * prev_sizes[p] else "same"
        rows.append((p, t, rel, float(r.overlap), int(r.shared)))
    for p in sorted(set(prev_sizes) - set(flows["topic_prev"])):
        rows.append((p, None, "gone", np.nan, 0))
    for t in sorted(set(int(t) for t in cur_sizes.index) - set(flows["topic_cur"])):
        rows.append((None, t, "new", np.nan, 0))
    return pd.DataFrame(
        rows,
        columns=["previous_topic", "topic", "relation", "document_overlap", "shared_documents"],
    )


def stable_ids(lineage: pd.DataFrame, n_topics: int, previous_ids: set[int]) -> dict[int, int]:
    """Current topic id -> its published id: a topic that carries over takes its
    (largest-overlap) predecessor's id; every other topic gets a fresh id above every id
    the run has used, so an id never changes meaning (ids are no longer 0..K-1)."""
    carried = lineage.dropna(subset=["previous_topic", "topic"]).sort_values(
        "shared_documents", ascending=False, kind="stable"
    )
    new_id: dict[int, int] = {}
    taken: set[int] = set()
    for r in carried.itertuples(index=False):
        t, p = int(r.topic), int(r.previous_topic)
        if t not in new_id and p not in taken:
            new_id[t] = p
            taken.add(p)
    fresh = max(previous_ids, default=-1) + 1
    for t in range(n_topics):
        if t not in new_id:
            new_id[t] = fresh
            fresh += 1
    return new_id


def _renumber(run_dir: Path, new_id: dict[int, int]) -> dict[str, Any]:
    """Every table and array of ``run_dir`` that names topics, with ids mapped by ``new_id``.

    Row ``i`` of ``topic_embeddings`` stays topic ``i``'s centroid (zero rows for ids no
    topic holds); hierarchy merge nodes move above the largest topic id.
    """
    k = len(new_id)
    top = max(new_id.values())

    def one(t: int) -> int:
        return -1 if t < 0 else new_id[int(t)]

    def ids(s: pd.Series) -> pd.Series:
        return s.map(one).astype(np.int64)

    frames: dict[str, pd.DataFrame] = {}
    docs = _read(run_dir, "documents")
    docs["topic"] = ids(docs["topic"])
    frames["documents"] = docs
    topics = _read(run_dir, "topics")
    topics["topic"] = ids(topics["topic"])
    frames["topics"] = topics
    for stem in ("topics_over_time", "trends", "topic_keywords_over_time"):
        if (run_dir / f"{stem}.parquet").exists():
            t = _read(run_dir, stem)
            t["topic"] = ids(t["topic"])
            frames[stem] = t
    hier = _read(run_dir, "hierarchy")

    def node(n: int) -> int:
        return -1 if n < 0 else (new_id[int(n)] if n < k else top + 1 + int(n) - k)

    for col in ("node", "parent", "left", "right"):
        hier[col] = hier[col].map(node).astype(np.int64)
    hier["topics"] = hier["topics"].map(lambda ts: sorted(new_id[int(t)] for t in ts))
    frames["hierarchy"] = hier
    emb = load_npy(run_dir / "topic_embeddings.npy")
    out = np.zeros((top + 1, emb.shape[1]), dtype=emb.dtype)
    for old, new in new_id.items():
        out[new] = emb[old]
    return {"frames": frames, "arrays": {"topic_embeddings": out}}


def history_rows(
    topics: pd.DataFrame, step: int, build: str, created_at: str, relation: dict[int, str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": np.int64(step),
            "build": build,
            "created_at": created_at,
            "topic": topics["topic"].astype(np.int64).to_numpy(),
            "label": topics["label"].astype(str).to_numpy(),
            "size": topics["size"].astype(np.int64).to_numpy(),
            "relation": [relation.get(int(t), "new") for t in topics["topic"]],
        }
    )


def build_updated_run(
    store: Store, name: str, first: str, grown: str, cfg: Config | None = None
) -> Path:
    """Build ``first`` as ``name``, then ``grown`` (``first`` plus new documents), and
    publish the second build as step 1 of the run; returns the run's path."""
    cfg = cfg or Config().with_overrides({"embed": {"backend": "hashing"}})
    build(first, cfg, store, name=name)
    step0 = store.run_path(name).resolve()
    m0 = json.loads((step0 / "manifest.json").read_text())
    prev_topics = _read(step0, "topics")
    step0_history = history_rows(prev_topics, 0, THIS_BUILD, m0["created_at"], {})
    republish(
        store,
        name,
        frames={
            "documents": _read(step0, "documents").assign(added_step=np.int64(0)),
            "topic_history": step0_history,
        },
        manifest_patch={"update": _update(0, "build", None, len(prev_topics), 0, [], 0, 0)},
    )
    step0 = store.run_path(name).resolve()
    step0_history = _read(step0, "topic_history")
    prev_docs = _read(step0, "documents")

    build(grown, cfg, store, name=name, force=True)
    cur = store.run_path(name).resolve()
    m1 = json.loads((cur / "manifest.json").read_text())
    prev_sizes = dict(
        zip(prev_topics["topic"].astype(int), prev_topics["size"].astype(int), strict=True)
    )
    raw = match_topics(prev_docs, _read(cur, "documents"), prev_sizes)
    new_id = stable_ids(raw, int(m1["counts"]["topics"]), set(prev_sizes))
    out = _renumber(cur, new_id)
    frames = out["frames"]
    topics = frames["topics"]
    lineage = raw.copy()
    lineage["topic"] = lineage["topic"].map(lambda t: None if pd.isna(t) else new_id[int(t)])
    lineage["previous_topic"] = lineage["previous_topic"].astype("Int64")
    lineage["topic"] = lineage["topic"].astype("Int64")
    lineage["shared_documents"] = lineage["shared_documents"].astype("Int64")
    labels_now = dict(zip(topics["topic"].astype(int), topics["label"].astype(str), strict=True))
    labels_before = dict(
        zip(prev_topics["topic"].astype(int), prev_topics["label"].astype(str), strict=True)
    )
    lineage["previous_label"] = lineage["previous_topic"].map(
        lambda p: None if pd.isna(p) else labels_before[int(p)]
    )
    lineage["label"] = lineage["topic"].map(lambda t: None if pd.isna(t) else labels_now[int(t)])
    lineage["similarity"] = np.nan  # the hashing space is not meaningful here
    lineage = lineage[
        [
            "previous_topic",
            "topic",
            "relation",
            "similarity",
            "document_overlap",
            "shared_documents",
            "previous_label",
            "label",
        ]
    ]
    # A topic's relation at this step: split/merged win over grew/same.
    relation: dict[int, str] = {}
    for r in lineage.dropna(subset=["topic"]).itertuples(index=False):
        t, rel = int(r.topic), str(r.relation)
        if relation.get(t) not in ("split", "merged"):
            relation[t] = rel
    history = pd.concat(
        [
            step0_history,
            history_rows(topics, 1, THIS_BUILD, m1["created_at"], relation),
        ],
        ignore_index=True,
    )
    docs = frames["documents"]
    docs["added_step"] = np.where(docs["doc_id"].isin(set(prev_docs["doc_id"])), 0, 1).astype(
        np.int64
    )
    frames["lineage"] = lineage
    frames["topic_history"] = history
    new_topics = sorted(int(t) for t in lineage.loc[lineage["relation"] == "new", "topic"])
    kept = len(set(new_id.values()) & set(prev_sizes))
    update = _update(
        1,
        "update",
        step0.name,
        int(len(topics)),
        int((docs["added_step"] == 1).sum()),
        new_topics,
        kept,
        len(prev_sizes),
    )
    return republish(
        store, name, frames=frames, arrays=out["arrays"], manifest_patch={"update": update}
    )


def _update(
    step: int,
    kind: str,
    previous: str | None,
    n_topics: int,
    new_documents: int,
    new_topics: list[int],
    ids_kept: int,
    ids_previous: int,
) -> dict[str, Any]:
    del n_topics  # not part of the contract; kept for the call sites' readability
    return {
        "kind": kind,
        "step": step,
        "previous_build": previous,
        "new_documents": new_documents,
        "new_topics": new_topics,
        "ids_kept": ids_kept,
        "ids_previous": ids_previous,
    }
