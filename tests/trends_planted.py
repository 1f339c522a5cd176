"""Planted-trend corpora for the trend tests: real labelled arXiv abstracts, assigned dates.

Every single-label abstract of the bundled arXiv sample whose label has at least
``MIN_LABEL_DOCS`` documents is kept, and each gets a date drawn from a density over the
span that depends on its label's planted role:

* the whole corpus grows: every label's density carries a ``1 + GROWTH * t`` factor
  (t = 0 at the start of the span, 1 at its end), so the volume at the end is 3x the start;
* ``RISERS`` carry an extra ``1 + G * (t**K - c)`` and ``FALLERS`` an extra
  ``1 - G' * (t**K - c)``, where c is the volume-weighted mean of t**K, so the factor leaves
  each label's total unchanged. G = 1 / c makes a riser's share start at 0;
  G' = G * (riser documents / faller documents) makes the risers' gain exactly the fallers'
  loss at every moment, so the steady labels' shares stay constant (a planted "steady"
  label must be steady in share, not just in volume); the fallers' density stays positive;
* ``LATE`` only has documents in the last ``1 - LATE_FROM`` of the span (it takes its ~6%
  of the recent documents from everyone, the one planted shift the steady labels share);
* every other label is steady.

The span starts and ends mid-week and mid-month, so the first and last periods are partial.
The null version permutes the same dates across the documents: no label has a trend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ARXIV = Path(__file__).resolve().parent.parent / "pipeline" / "corpora" / "arxiv-sample.parquet"
MIN_LABEL_DOCS = 50
RISERS = ("Federated_Learning", "Knowledge_Distillation", "Active_Learning")
FALLERS = ("Imitation_Learning", "Domain_Adaptation", "Object_Tracking")
LATE = "VLA"
START = pd.Timestamp("2021-03-17")  # a Wednesday, mid-month
END = pd.Timestamp("2023-11-08")  # a Wednesday, mid-month
GROWTH = 2.0
K = 3
LATE_FROM = 0.85


def labelled_documents() -> pd.DataFrame:
    docs = pd.read_parquet(ARXIV)
    docs = docs[docs["n_labels"] == 1]
    sizes = docs["label"].value_counts()
    docs = docs[docs["label"].isin(sizes[sizes >= MIN_LABEL_DOCS].index)]
    return docs[["id", "title", "text", "label"]].sort_values("id").reset_index(drop=True)


def role(label: str) -> str:
    if label in RISERS:
        return "riser"
    if label in FALLERS:
        return "faller"
    if label == LATE:
        return "late"
    return "steady"


def _density(kind: str, t: np.ndarray, gain: float, faller_gain: float, c: float) -> np.ndarray:
    base = 1.0 + GROWTH * t
    if kind == "riser":
        return base * (1.0 + gain * (t**K - c))
    if kind == "faller":
        return base * (1.0 - faller_gain * (t**K - c))
    if kind == "late":
        return base * (t >= LATE_FROM)
    return base


def planted_dates(labels: pd.Series, seed: int = 0) -> pd.Series:
    """A date for each document, drawn from its label's planted density (inverse CDF)."""
    rng = np.random.default_rng(seed)
    days = (END - START).days
    grid = np.linspace(0.0, 1.0, 4001)
    out = np.empty(len(labels), dtype="datetime64[ns]")
    labels = labels.reset_index(drop=True)
    roles = labels.map(role).to_numpy()
    n_risers, n_fallers = (roles == "riser").sum(), (roles == "faller").sum()
    base = 1.0 + GROWTH * grid
    c = float((base * grid**K).sum() / base.sum())
    gain = 1.0 / c
    faller_gain = gain * n_risers / max(n_fallers, 1)
    assert faller_gain * (1 - c) <= 1.0, "too few faller documents to balance the risers"
    for kind in ("riser", "faller", "late", "steady"):
        idx = np.where(roles == kind)[0]
        if not len(idx):
            continue
        cdf = np.cumsum(_density(kind, grid, gain, faller_gain, c))
        cdf = cdf / cdf[-1]
        t = np.interp(rng.random(len(idx)), cdf, grid)
        out[idx] = (START + pd.to_timedelta(np.round(t * days), unit="D")).to_numpy()
    return pd.Series(out)


def planted_corpus(seed: int = 0, permute: bool = False) -> pd.DataFrame:
    """The labelled documents with planted dates; ``permute`` shuffles the dates (the null)."""
    docs = labelled_documents()
    dates = planted_dates(docs["label"], seed=seed)
    if permute:
        dates = pd.Series(np.random.default_rng(seed + 1000).permutation(dates.to_numpy()))
    docs["date"] = dates.dt.strftime("%Y-%m-%d")
    docs["role"] = docs["label"].map(role)
    return docs
