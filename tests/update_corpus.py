"""The monthly arXiv feed the update, refit and CLI tests share (see tests/test_update.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store

REPO = Path(__file__).resolve().parent.parent
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


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """All steady papers (6 labels x 36) built once; tests work on copies of the cache."""
    root = tmp_path_factory.mktemp("base")
    corpus = monthly_corpus()
    path = write_csv(corpus[corpus["label"].isin(STEADY)], root / "steady.csv")
    build(str(path), hashing_config(), Store(root / "cache"), name="base")
    return root / "cache", path
