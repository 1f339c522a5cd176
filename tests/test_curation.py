"""Curation: the locked append-only log, undo, the overlay on read, lineage across updates."""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.curation.edit import ENV_DIR, Place, edit, locate
from pipeline.curation.log import CurationError, read_log
from pipeline.curation.overlay import TopicMap, state_of
from pipeline.curation.view import Overlay

RUN = "papers"
MANIFEST: dict = {"update": {"step": 0}}


def topics_frame(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic": np.arange(n),
            "label": [f"kw{t} · words" for t in range(n)],
            "size": [10] * n,
            "share": [0.25] * n,
            "keywords": [[f"kw{t}"] for t in range(n)],
        }
    )


def do(place: Place, action: str, *args: object, who: str = "ann", **kw: object):  # noqa: ANN201
    topic = args[0] if args else None
    into = args[1] if action == "merge" else None
    value = args[1] if action in ("rename", "note") else None
    return edit(place, RUN, MANIFEST, topics_frame(), who, action, topic, into, value, **kw)


def overlay(place: Place, manifest: dict = MANIFEST, **kw: object) -> Overlay:
    return Overlay.of(read_log(place.directory, RUN), manifest, topics_frame(), **kw)


def _writer(directory: str, who: str, n: int) -> None:
    place = Place(Path(directory), True)
    for i in range(n):
        do(place, "note", i % 4, f"{who} {i}", who=who)


def test_two_editors_at_once_lose_no_entry(tmp_path: Path) -> None:
    """Two processes and two threads append at the same time: every entry is there, whole."""
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"p{k}", 40)) for k in range(2)]
    threads = [
        threading.Thread(target=_writer, args=(str(tmp_path), f"t{k}", 40)) for k in range(2)
    ]
    for w in [*procs, *threads]:
        w.start()
    for w in [*procs, *threads]:
        w.join()
    assert all(p.exitcode == 0 for p in procs)
    lines = (tmp_path / f"{RUN}.jsonl").read_text().splitlines()
    assert len(lines) == 160
    entries = [json.loads(line) for line in lines]
    assert len({e["id"] for e in entries}) == 160
    for who in ("p0", "p1", "t0", "t1"):
        assert sorted(int(e["value"].split()[1]) for e in entries if e["who"] == who) == list(
            range(40)
        )


def test_each_entry_records_who_when_and_the_value_before(tmp_path: Path) -> None:
    place = Place(tmp_path, True)
    do(place, "rename", 1, "Vision-language models", who="bob@example.com")
    do(place, "rename", 1, "VLMs")
    first, second = read_log(tmp_path, RUN)
    assert first.who == "bob@example.com" and first.before == "kw1 · words"
    assert second.before == "Vision-language models" and second.at
    assert overlay(place).topics(topics_frame()).set_index("topic").loc[1, "label"] == "VLMs"


def test_undo_cancels_the_latest_live_edit_only(tmp_path: Path) -> None:
    place = Place(tmp_path, True)
    do(place, "rename", 0, "Alpha")
    do(place, "hide", 2)
    do(place, "undo")
    view = overlay(place).topics(topics_frame())
    assert 2 in set(view["topic"]) and view.set_index("topic").loc[0, "label"] == "Alpha"
    do(place, "undo")
    assert overlay(place).topics(topics_frame()).set_index("topic").loc[0, "label"] == "kw0 · words"
    with pytest.raises(CurationError, match="nothing to undo"):
        do(place, "undo")
    assert len(read_log(tmp_path, RUN)) == 4  # nothing is rewritten: two edits, two undos


def test_merge_and_hide_rewrite_sizes_documents_and_trends(tmp_path: Path) -> None:
    place = Place(tmp_path, True)
    do(place, "merge", 1, 3)
    do(place, "hide", 0)
    ov = overlay(place)
    view = ov.topics(topics_frame())
    assert list(view["topic"]) == [2, 3]
    assert view.set_index("topic").loc[3, "size"] == 20 and view.iloc[1]["merged_from"] == [1]
    assert list(ov.doc_topics(np.array([0, 1, 2, 3, -1]))) == [-1, 3, 2, 3, -1]
    # Trends come from the trends stage's statistics on the curated documents.
    rng = np.random.default_rng(0)
    dates = pd.Series(pd.date_range("2020-01-01", periods=12, freq="MS").repeat(40))
    topic = rng.integers(0, 4, len(dates))
    docs = pd.DataFrame({"topic": topic, "date": dates, "date_precision": "day"})
    raw = pd.DataFrame({"topic": [0, 1, 2, 3]})
    tr = ov.trends(raw, docs, {"period": "month"})
    assert sorted(tr["topic"]) == [2, 3]
    counts = tr.set_index("topic")["recent_count"] + tr.set_index("topic")["previous_count"]
    in_windows = counts.sum()
    assert counts[3] > counts[2] * 1.5 and in_windows <= ((topic == 1) | (topic >= 2)).sum()


def test_edits_that_make_no_sense_are_refused_in_one_line(tmp_path: Path) -> None:
    place = Place(tmp_path, True)
    do(place, "merge", 1, 3)
    for args, needle in [
        (("rename", 9, "x"), "no topic 9"),
        (("rename", 1, "x"), "merged into topic 3"),
        (("merge", 2, 1), "merge into that one"),
        (("merge", 2, 2), "into itself"),
        (("rename", 2, "  "), "empty"),
        (("note", 2, "a\x00b"), "control characters"),
        (("unhide", 2), "not hidden"),
    ]:
        with pytest.raises(CurationError, match=needle):
            do(place, *args)
    with pytest.raises(CurationError, match="editing is off"):
        do(Place(None, False, "editing is off: no mount"), "hide", 1)


def test_a_damaged_log_names_its_file_and_line(tmp_path: Path) -> None:
    place = Place(tmp_path, True)
    do(place, "hide", 1)
    with (tmp_path / f"{RUN}.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(CurationError, match=rf"{RUN}.jsonl: line 2: not valid JSON"):
        read_log(tmp_path, RUN)


def test_where_the_log_lives(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    local = locate(root, env={})
    assert local.writable and local.directory == root / "curation"
    hosted = locate(root, hosted=True, env={})
    assert not hosted.writable and "editing is off" in hosted.why
    mount = tmp_path / "mount"
    mount.mkdir()
    assert locate(root, hosted=True, env={ENV_DIR: str(mount)}) == Place(mount.resolve(), True)
    assert locate(root, str(mount), hosted=True, env={}).writable
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    assert not locate(root, str(ro), env={}).writable or __import__("os").geteuid() == 0


def test_edits_follow_topics_through_lineage() -> None:
    """same/grew keep the edit; split/merged keep it flagged; a gone topic is an orphan."""
    from pipeline.curation.log import new_entry

    entries = [
        new_entry("rename", "ann", 0, topic=0, value="Kept"),
        new_entry("rename", "ann", 0, topic=1, value="Split one"),
        new_entry("rename", "ann", 0, topic=2, value="Merged away"),
        new_entry("note", "ann", 0, topic=5, value="gone"),
    ]
    history = pd.DataFrame(
        {"step": [1, 1, 1], "topic": [0, 1, 3], "relation": ["grew", "split", "merged"]}
    )
    lineage = pd.DataFrame(
        {
            "previous_topic": [0, 1, 1, 2, 4, 5],
            "topic": [0, 1, 6, 3, 3, None],
            "relation": ["grew", "split", "split", "merged", "merged", "gone"],
            "shared_documents": [10, 6, 4, 8, 7, None],
        }
    )
    st = state_of(entries, TopicMap(frozenset({0, 1, 3, 6}), 1, history, lineage))
    assert st.labels == {0: "Kept", 1: "Split one", 3: "Merged away"}
    assert set(st.review) == {1, 3} and "split" in st.review[1]
    assert [e.value for e in st.orphans] == ["gone"]
