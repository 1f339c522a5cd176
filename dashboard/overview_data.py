"""What the Overview and Trends pages summarise: counts, the largest topics, the movers.

Pure functions of a run's frames; no Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.run_data import OUTLIER

RISING = ("new", "emerging", "rising")
FADING = ("fading", "declining")


def counts_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    counts = manifest.get("counts", {})
    span = manifest.get("date_span")
    return {
        "documents": int(counts.get("documents") or 0),
        "topics": int(counts.get("topics") or 0),
        "outlier_share": float(counts.get("outlier_share") or 0.0),
        "date_span": f"{span[0]} .. {span[1]}" if span else "undated",
        "period": manifest.get("period"),
    }


def largest_topics(topics: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    cols = ["topic", "label", "size", "share", "keywords"]
    out = topics.sort_values(["size", "topic"], ascending=[False, True]).head(n)[cols].copy()
    out["keywords"] = out["keywords"].map(lambda k: ", ".join(list(k)[:6]))
    return out.reset_index(drop=True)


def share_change(over_time: pd.DataFrame, window: int | None = None) -> pd.DataFrame:
    """Each topic's share of the last ``window`` periods vs the ``window`` before them.

    The fallback when a run has no trends.parquet: shares are of all documents in the
    window, so a growing corpus does not lift every topic. ``window`` defaults to a third
    of the periods, between 1 and 4.
    """
    cols = ["topic", "recent_share", "previous_share", "change"]
    tot = over_time[over_time["topic"] != OUTLIER]
    periods = np.sort(over_time["period_start"].unique())
    if len(periods) < 2:
        return pd.DataFrame(columns=cols)
    w = window or max(1, min(4, len(periods) // 3))
    recent, previous = periods[-w:], periods[-2 * w : -w]
    totals = over_time.drop_duplicates("period_start").set_index("period_start")["period_total"]

    def window_share(ps: np.ndarray) -> pd.Series:
        denom = float(totals.reindex(ps).sum())
        got = tot[tot["period_start"].isin(ps)].groupby("topic")["count"].sum()
        return got / denom if denom else got * 0.0

    out = pd.DataFrame(
        {"recent_share": window_share(recent), "previous_share": window_share(previous)}
    ).fillna(0.0)
    out["change"] = out["recent_share"] - out["previous_share"]
    return out.rename_axis("topic").reset_index()[cols]


@dataclass
class Movers:
    rising: pd.DataFrame
    fading: pd.DataFrame
    source: str  # "trends" (trends.parquet) or "share change" (computed here)


def movers(
    topics: pd.DataFrame,
    trends: pd.DataFrame | None,
    over_time: pd.DataFrame | None,
    n: int = 5,
    exclude: set[int] | None = None,
) -> Movers:
    """Topics rising and fading most: trend scores when the run has them, else share change.

    ``exclude``: topics whose call a theme (a hierarchy node) carries, listed under it
    instead (``dashboard.theme_data``), so no document is called twice.
    """
    labels = topics.set_index("topic")["label"]
    if trends is not None and len(trends):
        t = trends.copy()
        t["label"] = t["topic"].map(labels)
        t = t[(t["topic"] != OUTLIER) & ~t["topic"].isin(exclude or set())]
        keep = [
            c
            for c in (
                "topic",
                "label",
                "category",
                "recent_share",
                "previous_share",
                "growth",
                "q_value",
            )
            if c in t.columns
        ]
        t = t[np.isfinite(t["growth"].astype(float))]
        # Significant movers (by their category) first, then the rest by the size of the change.
        t = t.assign(_up=~t["category"].isin(RISING), _down=~t["category"].isin(FADING))
        rising = t[t["growth"] > 0].sort_values(["_up", "growth"], ascending=[True, False])
        fading = t[t["growth"] < 0].sort_values(["_down", "growth"], ascending=[True, True])
        rising, fading = rising.head(n)[keep], fading.head(n)[keep]
        return Movers(rising.reset_index(drop=True), fading.reset_index(drop=True), "trends")
    if over_time is None or over_time.empty:
        empty = pd.DataFrame(columns=["topic", "label", "recent_share", "previous_share", "change"])
        return Movers(empty, empty.copy(), "share change")
    ch = share_change(over_time)
    ch["label"] = ch["topic"].map(labels)
    ch = ch[["topic", "label", "recent_share", "previous_share", "change"]]
    rising = ch[ch["change"] > 0].sort_values("change", ascending=False).head(n)
    fading = ch[ch["change"] < 0].sort_values("change", ascending=True).head(n)
    return Movers(rising.reset_index(drop=True), fading.reset_index(drop=True), "share change")


def movers_brief(frame: pd.DataFrame) -> pd.DataFrame:
    """A compact movers table: topic, label, trend category (if scored), and 'before → recent' share."""
    out = pd.DataFrame({"topic": frame["topic"].astype(int), "label": frame["label"].astype(str)})
    if "category" in frame.columns:
        out["trend"] = frame["category"].astype(str)
    out["share"] = [
        f"{p:.1%}→{r:.1%}"
        for p, r in zip(frame["previous_share"], frame["recent_share"], strict=True)
    ]
    return out.reset_index(drop=True)


def mover_notes(brief: pd.DataFrame) -> list[str]:
    """One short note per mover for a topic list: its trend category (if scored) and share change."""
    cats = brief["trend"] if "trend" in brief.columns else [None] * len(brief)
    return [f"{c}, {s}" if c else s for c, s in zip(cats, brief["share"], strict=True)]


def biggest_movers(
    topics: pd.DataFrame, trends: pd.DataFrame | None, over_time: pd.DataFrame | None, n: int = 5
) -> list[int]:
    """Default topics for the trend lines: the strongest risers and faders, else the largest."""
    m = movers(topics, trends, over_time, n=n)
    picked: list[int] = []
    for a, b in zip(
        list(m.rising["topic"]) + [None] * n, list(m.fading["topic"]) + [None] * n, strict=False
    ):
        for t in (a, b):
            if t is not None and int(t) not in picked and len(picked) < n:
                picked.append(int(t))
    for t in largest_topics(topics, n)["topic"]:
        if len(picked) >= n:
            break
        if int(t) not in picked:
            picked.append(int(t))
    return picked
