"""Hosted mode is safe from its URLs and its cache: no traversal, no pickle, no writes.

The app runs in AppTest (in this process) with ``TOPICTRENDS_READ_ONLY=1``, and a Python
audit hook (PEP 578) records every file the process opens or lists, every write-type
filesystem call and every ``pickle.find_class`` while it runs. That is the ground truth:

- path traversal: every URL parameter the dashboard reads (found in its source, so a new
  one is covered too) carries ``../`` paths, absolute paths, an encoded traversal, a NUL
  byte, a very long string and the name of a symlink that points out of the cache root;
  nothing outside the root is opened and every page renders;
- no pickle: pickle files planted in a run and in the cache, an object-array ``.npy`` and a
  Parquet field that claims a pickled extension type (checksums updated so they pass) are
  never unpickled; the ``.npy`` gives a CacheError on that run's page only;
- read-only: no write, rename, delete or mkdir happens under the cache root.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import nav

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "streamlit_app.py"
PAGES = tuple(nav.PAGES)
WRITE_EVENTS = {
    "os.remove",
    "os.rename",
    "os.mkdir",
    "os.rmdir",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.chmod",
    "os.utime",
    "shutil.rmtree",
    "shutil.move",
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Recorder:
    """What the process touches while ``active``: opened/listed paths, writes, unpickling."""

    def __init__(self) -> None:
        self.active = False
        self.lock = threading.Lock()
        self.read: list[str] = []
        self.written: list[tuple[str, str]] = []
        self.unpickled: list[str] = []

    def hook(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event == "pickle.find_class":
            self.unpickled.append(f"{args[0]}.{args[1]}")
        elif event == "open":
            path, mode, flags = args
            if isinstance(path, str | bytes | os.PathLike):
                p = os.fsdecode(path)
                writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & _WRITE_FLAGS
                )
                (self.written.append(("open", p)) if writes else self.read.append(p))
        elif event in ("os.listdir", "os.scandir") and args:
            if isinstance(args[0], str | bytes | os.PathLike):
                self.read.append(os.fsdecode(args[0]))
        elif event in WRITE_EVENTS and args and isinstance(args[0], str | bytes | os.PathLike):
            self.written.append((event, os.fsdecode(args[0])))

    def __enter__(self) -> Recorder:
        self.read.clear()
        self.written.clear()
        self.unpickled.clear()
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False


_RECORDER = Recorder()
sys.addaudithook(_RECORDER.hook)  # hooks cannot be removed; it is idle unless recording


def url_parameters() -> set[str]:
    """Every URL parameter named in a ``state.<call>("name", ...)`` in the dashboard, or in
    one of the ``ui`` helpers that bind a widget to a parameter (view switch, search box)."""
    names: set[str] = set()
    call = re.compile(
        r"(?:state\.(?:get|get_str|get_int|get_ints|put|bound|choice|text)|ui\.(?:view_switch|search_box))"
        r"\(\s*(?:st\.\w+,\s*)?\"([\w.]+)\""
    )
    for path in (REPO / "dashboard").rglob("*.py"):
        names |= set(call.findall(path.read_text()))
    return names


class Boom:
    """Unpickling this would create ``marker``: proof that code ran."""

    marker = ""

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hostile_root(dashboard_runs, tmp_path_factory):
    """A copy of the test cache with a canary outside it, an escaping symlink run, and a
    run (``planted``) carrying pickles where artifacts should be."""
    base = tmp_path_factory.mktemp("hostile")
    root = base / "cache"
    shutil.copytree(dashboard_runs.root, root, symlinks=True)
    outside = base / "outside"
    shutil.copytree((root / "runs" / "arxiv").resolve(), outside)
    (outside / "canary.txt").write_text("root:x:0:0 secret")
    (root / "runs" / "escape").symlink_to(outside)

    marker = base / "PWNED"
    Boom.marker = str(marker)
    payload = pickle.dumps(Boom())
    planted = root / "runs" / "planted"
    shutil.copytree((root / "runs" / "arxiv").resolve(), planted)
    for name in ("documents.pkl", "model.pickle", "topics.parquet.pkl"):
        (planted / name).write_bytes(payload)
    (root / "evil.pkl").write_bytes(payload)
    (root / ".store" / "evil.joblib").write_bytes(payload)
    manifest = json.loads((planted / "manifest.json").read_text())
    # topic_embeddings.npy: an object array, i.e. a pickle inside a valid .npy header.
    npy = planted / "topic_embeddings.npy"
    np.save(npy, np.array([Boom()], dtype=object), allow_pickle=True)
    manifest["artifacts"]["topic_embeddings.npy"]["sha256"] = _sha(npy)
    # hierarchy.parquet: a field whose metadata claims pyarrow's pickled extension type.
    hier = planted / "hierarchy.parquet"
    table = pq.read_table(hier)
    i = table.schema.get_field_index("label")
    field = table.schema.field(i).with_metadata(
        {
            b"ARROW:extension:name": b"arrow.py_extension_type",
            b"ARROW:extension:metadata": payload,
        }
    )
    pq.write_table(table.cast(table.schema.set(i, field)), hier)
    manifest["artifacts"]["hierarchy.parquet"]["sha256"] = _sha(hier)
    (planted / "manifest.json").write_text(json.dumps(manifest))
    return root, outside, marker


@pytest.fixture
def hosted_app(hostile_root, monkeypatch):
    root, _, _ = hostile_root
    monkeypatch.setenv("TOPICTRENDS_CACHE", str(root))
    monkeypatch.setenv("TOPICTRENDS_READ_ONLY", "1")
    monkeypatch.setenv("TOPICTRENDS_AUTH", "off")  # hosted mode requires sign-in otherwise

    def run(params: dict[str, str]) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        for k, v in params.items():
            at.query_params[k] = v
        return at.run()

    return run


def assert_contained(rec: Recorder, root: Path, outside: Path) -> None:
    for p in rec.read:
        resolved = Path(p).resolve() if "\x00" not in p else Path(p)
        assert not resolved.is_relative_to(outside), f"opened outside the cache root: {p}"
        assert "passwd" not in p and "%2F" not in p, p
    assert not any(Path(p).resolve().is_relative_to(root) for _, p in rec.written), rec.written
    assert_only_cache_data_unpickles(rec)


# st.cache_data keeps each cached value as a pickle in memory (its documented behaviour;
# the dashboard never persists it to disk) and unpickles it on every hit: those classes are
# the dashboard's own return values. Anything else being unpickled came from outside.
OWN_VALUES = (
    "streamlit.",
    "dashboard.",
    "pyarrow.lib.",
    "numpy",
    "pandas",
    "builtins.",
    "collections.",
    "datetime.",
    "copyreg.",
    "_codecs.",
)


def assert_only_cache_data_unpickles(rec: Recorder) -> None:
    foreign = [c for c in rec.unpickled if not c.startswith(OWN_VALUES)]
    assert foreign == [], foreign
    assert not any(
        c.startswith("builtins.") and c.split(".")[1] in ("eval", "exec", "getattr", "__import__")
        for c in rec.unpickled
    )


@pytest.mark.slow  # 25 app runs, ~30 s on 2 cores
def test_every_url_parameter_resists_path_traversal(hostile_root, hosted_app):
    root, outside, _ = hostile_root
    params = url_parameters()
    core = {"page", "run", "topic", "node", "view", "color", "outliers", "gran", "tt"}
    core |= {"tq", "sem", "k", "hview", "topics", "from", "to", "q"}
    assert core <= params, core - params  # the scan finds the parameters it should
    params |= {"f.label", "f.year", "f.n_labels"}  # facet filters, one per metadata column
    payloads = [
        "../../../../../../etc/passwd",
        str(outside / "canary.txt"),
        str(outside),
        "../../outside/canary.txt",
        "..%2F..%2Foutside%2Fcanary.txt",
        "escape",
        "arxiv\x00../../etc/passwd",
        "/" + "A" * 5000,
        "~/../../etc/passwd",
    ]
    names = sorted(params - {"page", "run"})
    cases = []
    for bad in payloads:  # the run and the page themselves, with everything else hostile too
        cases.append({"run": bad, "page": bad, **dict.fromkeys(names, bad)})
    for i, page in enumerate(PAGES):  # every page, its parameters rotated through the payloads
        for r in range(2):
            row = {n: payloads[(j + i + r * 4) % len(payloads)] for j, n in enumerate(names)}
            cases.append({"run": "arxiv", "page": page, **row})
    with _RECORDER as rec:
        for case in cases:
            at = hosted_app(case)
            assert not at.exception, (case, [e.value for e in at.exception])
            assert at.query_params["run"] in ("arxiv", "broken", "evil", "planted", "trending")
            shown = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]  # md-escaped
            assert not any(str(root) in w for w in shown)  # no server paths shown
    assert_contained(rec, root, outside)
    runs = {Path(p).name for p in rec.read if "/runs/" in p}
    assert "escape" not in runs


def test_no_artifact_loader_unpickles(hostile_root, hosted_app):
    root, outside, marker = hostile_root
    with _RECORDER as rec:
        for page in PAGES:
            at = hosted_app({"run": "planted", "page": page})
            assert not at.exception, (page, [e.value for e in at.exception])
        detail = hosted_app({"run": "planted", "page": "topics", "topic": "0"})
        semantic = hosted_app({"run": "planted", "page": "documents", "sem": "speech"})
        other = hosted_app({"run": "arxiv", "page": "topics", "topic": "0"})
    assert_only_cache_data_unpickles(rec)
    assert not marker.exists() and not any("mkdir" in c for c in rec.unpickled)
    planted = [p for p in rec.read if p.endswith((".pkl", ".pickle", ".joblib"))]
    assert planted == []
    # The object-array .npy is refused cleanly, on that run's page only.
    assert not detail.exception
    errors = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in detail.error))  # md-escaped
    assert "topic_embeddings.npy" in errors and "unreadable array" in errors
    assert not semantic.exception and not semantic.error
    assert any("by similarity to the query" in c.value for c in semantic.caption), (
        "the hosted semantic search ranked the documents"
    )
    assert not other.exception and not other.error
    assert_contained(rec, root, outside)
