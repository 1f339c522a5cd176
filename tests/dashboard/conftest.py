"""Tiny prebuilt runs for the dashboard tests, built once per test session.

One cache root holds:

- ``trending``: 60 undated papers from the bundled trending-papers page (a .txt slice);
- ``arxiv``: 300 dated arXiv papers with metadata columns (year, label, all_labels, n_labels);
- ``evil``: 40 dated papers whose titles and abstracts carry ``<script>``, ``<img onerror>``
  and markdown links, for the escaping tests;
- ``broken``: a copy of ``trending`` whose documents.parquet no longer matches its checksum;
- ``updates``: 200 arXiv papers on four subjects, then 80 on speech recognition and Mamba
  added by ``topictrends update`` (step 1: lineage, topic history, ``added_step``);
- ``refits``: the same, then ``topictrends build --refit`` (step 2: splits, merges, a gone
  topic);
- ``evil-updates``: ``refits`` with ``<script>``/``<img onerror>``/markdown-link topic
  labels in its topics, lineage and history.

All are built with the model-free hashing backend, so the whole set takes seconds once the
numba cache is warm.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from frames import history_frame, lineage_frame
from update_fixture import republish, updated_runs

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store.cache import Store

REPO = Path(__file__).resolve().parents[2]
ARXIV = REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"
TRENDING = REPO / "pipeline" / "corpora" / "hf-trending-papers.txt"

EVIL_SCRIPT = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_LINK = "[click](http://evil.example)"
EVIL_TITLE = f"Attack {EVIL_SCRIPT} {EVIL_IMG} {EVIL_LINK}"


@dataclass(frozen=True)
class Fixtures:
    root: Path
    undated: str = "trending"
    dated: str = "arxiv"
    evil: str = "evil"
    broken: str = "broken"
    updated: str = "updates"
    refitted: str = "refits"
    evil_updated: str = "evil-updates"
    evil_strings: tuple[str, ...] = (EVIL_SCRIPT, EVIL_IMG, EVIL_LINK)


def _trending_slice(path: Path, n_docs: int = 60) -> Path:
    lines = [ln for ln in TRENDING.read_text(encoding="utf-8").splitlines() if ln.strip()]
    lines = lines[2:]  # page boilerplate
    lines[0] = lines[0].removeprefix("Subscribe")
    path.write_text("\n".join(lines[: 2 * n_docs]) + "\n", encoding="utf-8")
    return path


def _arxiv_slice(path: Path, n_docs: int = 300) -> Path:
    df = pd.read_parquet(ARXIV)
    top = df["label"].value_counts().index[:6]
    df = df[df["label"].isin(top)].sort_values("id").head(n_docs)
    df.to_parquet(path, index=False)
    return path


def _evil_corpus(path: Path) -> Path:
    df = pd.read_parquet(ARXIV)
    top = df["label"].value_counts().index[:2]
    df = df[df["label"].isin(top)].sort_values("id").head(40).reset_index(drop=True)
    df["title"] = df["title"].astype(object)
    df["text"] = df["text"].astype(object)
    df["source_url"] = df["source_url"].astype(object)
    for i in range(0, len(df), 2):
        df.loc[i, "title"] = f"{EVIL_TITLE} #{i}"
        df.loc[i, "text"] = f"{df.loc[i, 'text']} {EVIL_SCRIPT} {EVIL_IMG} {EVIL_LINK}"
    df.loc[1, "source_url"] = "javascript:alert(1)"
    df["label"] = df["label"].astype(object)
    df.loc[3, "label"] = EVIL_IMG
    df.to_parquet(path, index=False)
    return path


def _update_corpora(base: Path) -> tuple[Path, Path]:
    """The first corpus (four subjects) and the grown one (plus two new subjects)."""
    df = pd.read_parquet(ARXIV)
    old_subjects = [
        "Instance_Segmentation",
        "Imitation_Learning",
        "Semantic_Segmentation",
        "Keyword_Spotting",
    ]
    old = df[df["label"].isin(old_subjects)].sort_values("id").head(200)
    new = df[df["label"].isin(["Speech_Recognition", "Mamba"])].sort_values("id").head(80)
    first, grown = base / "first.parquet", base / "grown.parquet"
    old.to_parquet(first, index=False)
    pd.concat([old, new]).to_parquet(grown, index=False)
    return first, grown


def _evil_labels(store: Store, source: str, name: str) -> None:
    """A copy of run ``source`` whose topic labels carry script, image and link markup."""
    run = store.run_path(source).resolve()
    topics = pd.read_parquet(run / "topics.parquet")
    lineage = pd.read_parquet(run / "lineage.parquet")
    history = pd.read_parquet(run / "topic_history.parquet")
    evil = {int(t): f"{EVIL_TITLE} {int(t)}" for t in topics["topic"]}
    topics["label"] = topics["topic"].map(evil)
    lineage["label"] = lineage["topic"].map(lambda t: None if pd.isna(t) else evil[int(t)])
    lineage["previous_label"] = lineage["previous_topic"].map(
        lambda t: None if pd.isna(t) else f"{EVIL_TITLE} was {int(t)}"
    )
    history["label"] = [
        f"{EVIL_TITLE} {t} at {s}" for t, s in zip(history["topic"], history["step"], strict=True)
    ]
    republish(
        store,
        name,
        frames={"topics": topics, "lineage": lineage, "topic_history": history},
        source=run,
    )


@pytest.fixture(scope="session")
def dashboard_runs(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    base = tmp_path_factory.mktemp("dashboard")
    root = base / "cache"
    store = Store(root)
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}})
    fx = Fixtures(root=root)
    build(str(_trending_slice(base / "trending.txt")), cfg, store, name=fx.undated)
    build(str(_arxiv_slice(base / "arxiv.parquet")), cfg, store, name=fx.dated)
    build(str(_evil_corpus(base / "evil.parquet")), cfg, store, name=fx.evil)
    # A run whose documents table was damaged after the build: a checksum mismatch.
    broken = root / "runs" / fx.broken
    shutil.copytree(store.run_path(fx.undated).resolve(), broken)
    with (broken / "documents.parquet").open("ab") as fh:
        fh.write(b"garbage")
    first, grown = _update_corpora(base)
    # Seed 2: its refit shows every relation the pages draw (split, merged, gone, new);
    # test_the_update_fixtures_are_what_the_pages_are_tested_on checks that it still does.
    seeded = cfg.with_overrides({"reduce": {"seed": 2}})
    updated_runs(store, str(first), str(grown), seeded, fx.updated, fx.refitted)
    _evil_labels(store, fx.refitted, fx.evil_updated)
    return fx


@pytest.fixture
def empty_root(tmp_path: Path) -> Path:
    root = tmp_path / "empty-cache"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def dated_run(dashboard_runs: Fixtures):
    from dashboard.run_data import RunData

    return RunData.open(dashboard_runs.root / "runs" / dashboard_runs.dated)


@pytest.fixture(scope="session")
def undated_run(dashboard_runs: Fixtures):
    from dashboard.run_data import RunData

    return RunData.open(dashboard_runs.root / "runs" / dashboard_runs.undated)


@pytest.fixture(scope="session")
def variant_root(dashboard_runs: Fixtures, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the dated run, each changed one way: an older schema version, a missing
    documents table, and no trends.parquet (a run built before trend scores existed)."""
    import json

    root = tmp_path_factory.mktemp("variants") / "cache"
    src = (dashboard_runs.root / "runs" / dashboard_runs.dated).resolve()

    def copy(name: str) -> tuple[Path, dict]:
        dst = root / "runs" / name
        shutil.copytree(src, dst)
        return dst, json.loads((dst / "manifest.json").read_text())

    dst, m = copy("old-schema")
    m["schema_version"] = 0
    (dst / "manifest.json").write_text(json.dumps(m))
    dst, _ = copy("no-documents")
    (dst / "documents.parquet").unlink()
    dst, m = copy("no-trends")
    for name in ("trends.parquet", "topic_keywords_over_time.parquet"):
        m["artifacts"].pop(name, None)
        (dst / name).unlink(missing_ok=True)
    (dst / "manifest.json").write_text(json.dumps(m))
    return root


@pytest.fixture
def small_topics() -> pd.DataFrame:
    """Two topics with map and intertopic positions, one label with markup in it."""
    return pd.DataFrame(
        {
            "topic": [0, 1],
            "label": ["alpha · beta · gamma", "<b>bold</b> · delta"],
            "size": [25, 25],
            "x": [0.0, 1.0],
            "y": [0.0, 1.0],
            "ix": [-0.5, 0.5],
            "iy": [0.1, -0.1],
        }
    )


@pytest.fixture
def lineage() -> pd.DataFrame:
    """A small lineage with every relation (frames.lineage_frame)."""
    return lineage_frame()


@pytest.fixture
def history() -> pd.DataFrame:
    """A small topic history over three steps (frames.history_frame)."""
    return history_frame()


@pytest.fixture(scope="module")
def provider():
    """An OpenID Connect provider on loopback (oidc-provider-mock), for the sign-in tests."""
    from oidc_provider_mock import run_server_in_thread

    mp = pytest.MonkeyPatch()
    mp.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"
    mp.undo()
