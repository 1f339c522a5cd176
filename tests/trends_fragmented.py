"""The issue's fragmented corpus, without the pipeline: themes split into small topics.

15 themes of 60 papers each over 36 months, every paper dated the 15th of its month (issue
19): 3 rising (monthly density ``0.05 + 4 t**6``, t from 0 to 1: most papers in the last
third), 3 fading (the mirror image), 1 late (its papers in the last 9 months only) and 8
steady, whose papers follow the volume of all the others, so that their share of every
month is constant (a theme steady in volume would lose share to the late one). Each theme
is then split at random into 2 or 3 fragments of 15-30 papers, the topics a clustering
would make of it, and a hierarchy over the fragments is given in hierarchy.parquet's
columns: a theme's fragments merge first, then the themes merge pairwise up to one root.
Used by tests/test_themes.py, which scores the fragments as topics (statistics only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MONTHS = 36
PER_THEME = 60
ROLES = ("rising",) * 3 + ("fading",) * 3 + ("late",) + ("steady",) * 8
LATE_MONTHS = 9


def _density(role: str) -> np.ndarray:
    """Expected papers per month of one theme of ``role`` (PER_THEME in all)."""
    t = (np.arange(MONTHS) + 0.5) / MONTHS
    if role == "steady":  # the volume of everything else: a constant share of each month
        return sum(_density(r) for r in ROLES if r != "steady") * (PER_THEME / len(ROLES))
    shape = {
        "rising": 0.05 + 4 * t**6,
        "fading": 0.05 + 4 * (1 - t) ** 6,
        "late": (np.arange(MONTHS) >= MONTHS - LATE_MONTHS).astype(float),
    }[role]
    return PER_THEME * shape / shape.sum()


def _months(role: str, rng: np.random.Generator) -> np.ndarray:
    p = _density(role)
    return np.sort(rng.choice(MONTHS, PER_THEME, p=p / p.sum()))


def _split(rng: np.random.Generator) -> list[int]:
    """Fragment sizes of one theme: 2 or 3 parts of 15-30 papers that sum to PER_THEME."""
    while True:
        k = int(rng.integers(2, 4))
        cuts = np.sort(rng.choice(np.arange(1, PER_THEME), k - 1, replace=False))
        sizes = np.diff(np.concatenate([[0], cuts, [PER_THEME]]))
        if sizes.min() >= 15 and sizes.max() <= 30:
            return [int(s) for s in sizes]


def fragmented(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(documents: date, theme, role, topic; hierarchy in hierarchy.parquet's columns)."""
    rng = np.random.default_rng(seed)
    rows, fragments = [], []  # fragments: the topic ids of each theme
    topic = 0
    for theme, role in enumerate(ROLES):
        months = rng.permutation(_months(role, rng))
        mine, at = [], 0
        for size in _split(rng):
            for m in months[at : at + size]:
                rows.append(
                    (pd.Timestamp("2021-01-15") + pd.DateOffset(months=int(m)), theme, role, topic)
                )
            mine.append(topic)
            topic, at = topic + 1, at + size
        fragments.append(mine)
    docs = pd.DataFrame(rows, columns=["date", "theme", "role", "topic"])
    return docs, _hierarchy(fragments, topic)


def _hierarchy(fragments: list[list[int]], n_topics: int) -> pd.DataFrame:
    """Fragments of a theme merge first (left to right), then the themes pairwise."""
    rows: list[dict] = []
    leaves = {t: [t] for t in range(n_topics)}
    next_id = n_topics

    def merge(a: int, b: int) -> int:
        nonlocal next_id
        node, next_id = next_id, next_id + 1
        leaves[node] = sorted(leaves[a] + leaves[b])
        rows.append({"node": node, "left": a, "right": b, "topics": leaves[node]})
        return node

    level = []
    for parts in fragments:
        top = parts[0]
        for p in parts[1:]:
            top = merge(top, p)
        level.append(top)
    while len(level) > 1:
        level = [
            merge(*level[i : i + 2]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    parent = {c: r["node"] for r in rows for c in (r["left"], r["right"])}
    df = pd.DataFrame(rows)
    df["parent"] = df["node"].map(lambda n: parent.get(n, -1))
    df["distance"], df["label"] = df["node"].astype(float), "node"
    return df[["node", "parent", "left", "right", "distance", "label", "topics"]]
