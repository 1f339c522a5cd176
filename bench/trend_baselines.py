"""The two baseline detectors of bench/trends.py, written from their definitions (that
module's docstring says how each calls a topic). Pure functions of a topics-over-time table
(``topic``, ``period_start``, ``count``, ``period_total``), so tests can feed them series."""

from __future__ import annotations

import numpy as np
import pandas as pd


def bertrend_calls(counts: pd.DataFrame, window: int = 3) -> dict[int, str]:
    """BERTrend's popularity and signal classes (see the module docstring)."""
    table = counts[counts["topic"] >= 0].pivot_table(
        index="period_start", columns="topic", values="count", aggfunc="sum", fill_value=0
    )
    pop = np.zeros(table.shape)
    for k in range(table.shape[1]):
        last, since = 0.0, 0
        for t, c in enumerate(table.iloc[:, k].to_numpy()):
            if c > 0:
                last, since = last + c, 0
                pop[t, k] = last
            else:
                since += 1
                pop[t, k] = last * np.exp(-0.01 * since**2)

    def classes(t: int) -> np.ndarray:
        vals = pop[max(0, t - window + 1) : t + 1].ravel()
        vals = vals[vals > 0]
        if not len(vals):
            return np.zeros(pop.shape[1], dtype=int)
        lo, hi = np.percentile(vals, [10, 75])
        return (pop[t] >= lo).astype(int) + (pop[t] > hi).astype(int)

    end = len(pop) - 1
    now, before = classes(end), classes(max(0, end - window))
    out = {}
    for k, topic in enumerate(table.columns):
        if now[k] > before[k] and now[k] >= 1:
            out[int(topic)] = "rising"
        elif now[k] < before[k]:
            out[int(topic)] = "fading"
    return out


def kleinberg_calls(counts: pd.DataFrame, s: float = 2.0, gamma: float = 1.0) -> dict[int, str]:
    """Two-state batched burst automaton (Viterbi); a burst in the last period is a call."""
    table = counts[counts["topic"] >= 0].pivot_table(
        index="period_start", columns="topic", values="count", aggfunc="sum", fill_value=0
    )
    totals = counts.groupby("period_start")["period_total"].first().reindex(table.index).to_numpy()
    n = len(totals)
    out = {}
    for topic in table.columns:
        r = table[topic].to_numpy().astype(float)
        p0 = r.sum() / totals.sum()
        if p0 <= 0:
            continue
        ps = np.array([p0, min(s * p0, 0.9999)])
        cost = -(r[:, None] * np.log(ps) + (totals - r)[:, None] * np.log(1 - ps))
        up = gamma * np.log(n)
        best = np.array([cost[0, 0], cost[0, 1] + up])
        for t in range(1, n):
            best = np.array(
                [min(best[0], best[1]) + cost[t, 0], min(best[0] + up, best[1]) + cost[t, 1]]
            )
        if best[1] < best[0]:
            out[int(topic)] = "rising"
    return out
