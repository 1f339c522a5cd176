"""The scaling benchmark's corpus: SOTU sentences regrouped, with a planted time structure.

``synthetic_corpus`` is described in ``bench/scale.py``'s docstring, which writes it once per
size under the work directory (``corpus_path``, ``update_corpus``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOTU = REPO.parent / "shared" / "corpora" / "sotu_paragraphs.parquet"
WORK = REPO / "bench" / ".scale-work"
MONTHS = 48


def _groups(sotu: Any) -> list[tuple[str, list[list[str]]]]:  # noqa: ANN401 - pandas
    """Per president: the sentences of each paragraph (paragraphs with at least 2)."""
    out = []
    for president, group in sotu.groupby("president", sort=True):
        paras = []
        for text in group["text"]:
            sents = [s for s in re.split(r"(?<=[.!?])\s+", str(text)) if len(s) > 20]
            if len(sents) >= 2:
                paras.append(sents)
        if len(paras) >= 5:
            out.append((str(president), paras))
    return out


def _profiles(n_groups: int, rng: Any) -> Any:  # noqa: ANN401 - numpy
    """A (groups x months) matrix of shares: flat, rising, fading or a burst per group."""
    import numpy as np

    t = np.linspace(0.0, 1.0, MONTHS)
    rows = []
    for g in range(n_groups):
        kind = g % 4
        if kind == 0:
            w = np.ones(MONTHS)
        elif kind == 1:
            w = 0.1 + 2.0 * t  # rising
        elif kind == 2:
            w = 2.1 - 2.0 * t  # fading
        else:
            centre = rng.uniform(0.2, 0.9)
            w = 0.05 + 3.0 * np.exp(-(((t - centre) / 0.06) ** 2))  # a burst
        rows.append(w * rng.uniform(0.5, 1.5))
    m = np.array(rows)
    return m / m.sum(axis=0, keepdims=True)


def synthetic_corpus(n: int, seed: int = 0) -> Any:  # noqa: ANN401 - pandas
    """``n`` distinct dated documents with a planted topic per document (``group``)."""
    import numpy as np
    import pandas as pd

    groups = _groups(pd.read_parquet(SOTU, columns=["president", "text"]))
    rng = np.random.default_rng(seed)
    shares = _profiles(len(groups), rng)
    month_sizes = rng.uniform(0.5, 1.5, MONTHS) * np.linspace(0.6, 1.4, MONTHS)
    month_sizes /= month_sizes.sum()
    start = np.datetime64("2022-01-01", "M")
    seen: set[str] = set()
    texts: list[str] = []
    labels: list[int] = []
    months: list[int] = []
    while len(texts) < n:
        want = int((n - len(texts)) * 1.1) + 100
        month = rng.choice(MONTHS, size=want, p=month_sizes)
        u = rng.random(want)
        cum = shares.cumsum(axis=0)  # (groups, months)
        group = np.minimum((u[None, :] > cum[:, month]).sum(axis=0), len(groups) - 1)
        draws = rng.random((want, 6))
        for i in range(want):
            paras = groups[group[i]][1]
            a = paras[int(draws[i, 0] * len(paras))]
            b = paras[int(draws[i, 1] * len(paras))]
            la = 1 + int(draws[i, 2] * min(3, len(a)))
            lb = 1 + int(draws[i, 3] * min(2, len(b)))
            sa = int(draws[i, 4] * (len(a) - la + 1))
            sb = int(draws[i, 5] * (len(b) - lb + 1))
            text = " ".join(a[sa : sa + la] + b[sb : sb + lb])
            if text in seen:  # ingest would drop a duplicate
                continue
            seen.add(text)
            texts.append(text)
            labels.append(int(group[i]))
            months.append(int(month[i]))
            if len(texts) == n:
                break
    days = rng.integers(0, 28, size=n)
    dates = (start + np.array(months)).astype("datetime64[D]") + days
    return pd.DataFrame(
        {
            "id": [f"syn-{i:07d}" for i in range(n)],
            "text": texts,
            "date": pd.Series(dates).dt.strftime("%Y-%m-%d"),
            "group": [groups[g][0] for g in labels],
        }
    )


def update_corpus(n: int) -> Path:
    """1% of ``n`` new documents (seed 1, ids ``upd-``), dated in the month after the corpus."""
    path = WORK / "corpora" / f"update-{n}.parquet"
    if not path.exists():
        import numpy as np

        new = synthetic_corpus(max(1, n // 100), seed=1)
        new["id"] = [f"upd-{i:07d}" for i in range(len(new))]
        month = np.datetime64("2022-01-01", "M") + MONTHS
        days = np.random.default_rng(1).integers(0, 28, size=len(new))
        new["date"] = [str(month.astype("datetime64[D]") + int(d)) for d in days]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        new.to_parquet(tmp, index=False)
        tmp.replace(path)
    return path


def corpus_path(n: int) -> Path:
    """The corpus of ``n`` documents, written once under the work directory."""
    path = WORK / "corpora" / f"synthetic-{n}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        synthetic_corpus(n).to_parquet(tmp, index=False, row_group_size=50_000)
        tmp.replace(path)
    return path
