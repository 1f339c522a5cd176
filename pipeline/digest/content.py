"""What a digest says, as plain data (every format renders this, the dashboard shows it).

The run is read through the curation overlay (``pipeline.curation.view``): curated labels,
merges and hides apply. The trend section is the run's trend scores, or, for a window
(``--last N`` periods, ``--since DATE``), scores recomputed with that window as the recent
one by the trends stage's own statistics. The theme section lists the hierarchy nodes that
carry a call (``pipeline.curation.themes.headline_calls``), rising then fading; their
topics are left out of the topic sections. The nodes are scored with the topics: the run's
own scores, or recomputed with them for a window or when curation moved documents, on the
hierarchy carried onto curated topic ids (``curated_hierarchy``: merged topics map to their
target, a node a merge cuts across is left out and ``themes_note`` says so in one line).
The change section is the run's lineage since the previous digest
(``topic_history.parquet``: new, gone, split, merged topics).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from pipeline.curation.themes import CUT, by_direction, covered_topics, headline_calls
from pipeline.curation.view import CuratedRun, recompute_trends, trends_config, update_step
from pipeline.errors import UserError
from pipeline.periods import period_label, period_start
from pipeline.store.contract import HISTORY_FILE, TOO_FEW

SECTIONS = ("new", "emerging", "rising", "fading")  # the categories a digest reports
THEME_SECTIONS = ("rising", "fading")  # new/emerging/rising themes; declining/fading ones
DOCS_PER_TOPIC = 3
SERIES_PERIODS = 12
MAX_PER_SECTION = 15
_LINK = ("http://", "https://")


def window_periods(view: CuratedRun, since: dt.date | None, last: int | None) -> int | None:
    """The recent window's length in periods: ``last``, or the complete periods from the
    one holding ``since`` on; None for the run's own window."""
    if last is not None:
        return last
    if since is None:
        return None
    ot = view.over_time
    period = str(view.handle.manifest.get("period"))
    start = period_start(pd.Series([pd.Timestamp(since)]), period).iloc[0]
    periods = ot.drop_duplicates("period_start") if ot is not None else pd.DataFrame()
    if periods.empty:
        raise UserError(f"run '{view.handle.name}' has no dates, so --since cannot apply. Drop it.")
    inside = periods[(periods["period_start"] >= start) & ~periods["partial"].astype(bool)]
    if inside.empty:
        last_p = period_label(periods["period_start"].max(), period)
        raise UserError(
            f"--since {since}: no complete {period} of the run starts then or later (the last is "
            f"{last_p}). Pick an earlier date."
        )
    return len(inside)


def trend_table(
    view: CuratedRun, n: int | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict[str, Any]]:
    """(topic scores, theme scores, window info) for the digest window."""
    manifest = view.handle.manifest
    if n is None:
        return view.trends, view.themes, dict(manifest.get("trends") or {})
    if not manifest.get("dated"):
        raise UserError(f"run '{view.handle.name}' has no dates, so --last/--since cannot apply.")
    cfg = replace_recent(trends_config(manifest), n)
    info: dict[str, Any] = {}
    period = str(manifest.get("period"))
    table, themes = recompute_trends(view.docs, period, cfg, info, hierarchy=view.hierarchy)
    return table, themes, info


def replace_recent(cfg, n: int):  # noqa: ANN001, ANN201 - TrendsConfig
    return cfg.model_copy(update={"recent_periods": n, "previous_periods": None})


def _series(view: CuratedRun, topic: int) -> list[dict[str, Any]]:
    ot = view.over_time
    if ot is None:
        return []
    mine = ot[ot["topic"] == topic].set_index("period_start")["share"]
    grid = sorted(ot["period_start"].unique())[-SERIES_PERIODS:]
    period = str(view.handle.manifest.get("period"))
    return [
        {"period": period_label(pd.Timestamp(p), period), "share": float(mine.get(p, 0.0))}
        for p in grid
    ]


def _documents(view: CuratedRun, row: pd.Series) -> list[dict[str, Any]]:
    docs = view.docs
    ids = [str(i) for i in list(row.get("representative_doc_ids", []))[:DOCS_PER_TOPIC]]
    by_id = docs.set_index(docs["doc_id"].astype(str))
    out = []
    for i in ids:
        if i not in by_id.index:
            continue
        d = by_id.loc[i]
        d = d.iloc[0] if isinstance(d, pd.DataFrame) else d
        url = d.get("url")
        out.append(
            {
                "doc_id": i,
                "title": str(d.get("title") or "(untitled)"),
                "url": url
                if isinstance(url, str) and url.strip().lower().startswith(_LINK)
                else None,
                "date": None if pd.isna(d.get("date")) else str(pd.Timestamp(d.get("date")).date()),
            }
        )
    return out


def _num(x: object) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else round(float(x), 4)


def watched(row: pd.Series, watch: tuple[str, ...]) -> list[str]:
    """The watch entries a topic matches: ``topic:ID``, or a word in its label or keywords."""
    words = " ".join([str(row["label"]), *[str(k) for k in row.get("keywords", [])]]).lower()
    hits = []
    for w in watch:
        if w.startswith("topic:"):
            if int(w[6:]) == int(row["topic"]):
                hits.append(w)
        elif w.strip().lower() in words:
            hits.append(w)
    return hits


def _scores(tr: pd.Series) -> dict[str, Any]:
    """A unit's (topic's or theme's) call and the numbers behind it."""
    return {
        "category": str(tr["category"]),
        "growth": _num(tr["growth"]),
        "growth_ci_low": _num(tr["growth_ci_low"]),
        "growth_ci_high": _num(tr["growth_ci_high"]),
        "q_value": _num(tr["q_value"]),
        "recent_share": _num(tr["recent_share"]),
        "previous_share": _num(tr["previous_share"]),
        "recent_count": int(tr["recent_count"]),
    }


def _item(view: CuratedRun, row: pd.Series, tr: pd.Series, watch: tuple[str, ...]) -> dict:
    return {
        "topic": int(row["topic"]),
        "label": str(row["label"]),
        **_scores(tr),
        "note": str(row.get("note") or ""),
        "watch": watched(row, watch),
        "series": _series(view, int(row["topic"])),
        "documents": _documents(view, row),
    }


def _theme(
    view: CuratedRun, node: pd.Series, own: dict[int, str], watch: tuple[str, ...]
) -> dict[str, Any]:
    """A headline theme: its call, its topics (curated labels, each with its own call),
    the summed share of its topics per period, and documents taken in turn from them."""
    topics = view.topics.set_index("topic", drop=False)
    rows = [topics.loc[t] for t in node["topics"] if t in topics.index]
    rows.sort(key=lambda r: (-int(r["size"]), int(r["topic"])))
    series = [_series(view, int(r["topic"])) for r in rows]
    docs = [_documents(view, r) for r in rows]
    turns = [d[i] for i in range(DOCS_PER_TOPIC) for d in docs if i < len(d)]
    return {
        "node": int(node["node"]),
        "label": str(node.get("label") or ""),
        **_scores(node),
        "topics": [
            {
                "topic": int(r["topic"]),
                "label": str(r["label"]),
                "category": own.get(int(r["topic"]), TOO_FEW),
            }
            for r in sorted(rows, key=lambda r: int(r["topic"]))
        ],
        "note": "",
        "watch": list(dict.fromkeys(w for r in rows for w in watched(r, watch))),
        "series": [
            {"period": p["period"], "share": round(sum(s[i]["share"] for s in series), 6)}
            for i, p in enumerate(series[0] if series else [])
        ],
        "documents": turns[:DOCS_PER_TOPIC],
    }


def theme_sections(
    view: CuratedRun,
    themes: pd.DataFrame | None,
    table: pd.DataFrame | None,
    watch: tuple[str, ...],
) -> tuple[dict[str, list[dict]], set[int]]:
    """({"rising": [...], "fading": [...]} headline themes, the topics they cover)."""
    heads = headline_calls(themes)
    own = (
        {}
        if table is None
        else dict(zip(table["topic"].astype(int), table["category"].astype(str), strict=True))
    )
    out = {}
    for name, part in zip(THEME_SECTIONS, by_direction(heads), strict=True):
        out[name] = [_theme(view, r, own, watch) for _, r in part.head(MAX_PER_SECTION).iterrows()]
    return out, covered_topics(heads)


def themes_note(view: CuratedRun, themes: pd.DataFrame | None) -> str | None:
    """One line when curated merges cut across hierarchy nodes, which were left out."""
    cut = int((view.hierarchy.attrs.get(CUT, 0) if view.hierarchy is not None else 0) or 0)
    if not cut or themes is None:
        return None
    return (
        f"{cut} theme(s) of the hierarchy left out: a curated merge joins topics from "
        "inside and outside them."
    )


def changes(view: CuratedRun, since_step: int | None) -> dict[str, Any]:
    """Topics new, gone, split and merged in the updates after ``since_step`` (default:
    the step before the current one)."""
    step = update_step(view.handle.manifest)
    since = step - 1 if since_step is None else since_step
    out: dict[str, Any] = {"since_step": max(since, 0), "step": step, "new": [], "gone": []}
    out.update(split=[], merged=[])
    h = view.handle.read_table(HISTORY_FILE) if view.handle.has(HISTORY_FILE) else None
    if h is None or step <= 0 or since >= step:
        return out
    labels = dict(zip(view.topics["topic"].astype(int), view.topics["label"], strict=True))
    later = h[h["step"] > since]
    for rel in ("new", "split", "merged"):
        ids = sorted({int(t) for t in later.loc[later["relation"] == rel, "topic"]})
        out[rel] = [
            {"topic": t, "label": labels.get(t, f"topic {t} (hidden)")} for t in ids if t in labels
        ]
    before = h[h["step"] == since]
    current = set(h.loc[h["step"] == step, "topic"].astype(int))
    out["gone"] = [
        {"topic": int(r.topic), "label": str(r.label)}
        for r in before.itertuples()
        if int(r.topic) not in current
    ]
    return out


def build_digest(
    view: CuratedRun,
    watch: tuple[str, ...] = (),
    since: dt.date | None = None,
    last: int | None = None,
    since_step: int | None = None,
) -> dict[str, Any]:
    """The digest of a curated run as a JSON-able dict (see the module docstring)."""
    n = window_periods(view, since, last)
    table, themes, info = trend_table(view, n)
    topics = view.topics.set_index("topic", drop=False)
    sections: dict[str, list[dict]] = {s: [] for s in SECTIONS}
    theme_items, covered = theme_sections(view, themes, table, watch)
    watched_items = [i for items in theme_items.values() for i in items if i["watch"]]
    if table is not None and len(table):
        tr = table.set_index("topic", drop=False)
        for t in topics.index:
            if t not in tr.index or t in covered:
                continue
            row, score = topics.loc[t], tr.loc[t]
            item = _item(view, row, score, watch)
            if item["category"] in sections:
                sections[item["category"]].append(item)
            if item["watch"] and item["category"] not in ("stable", TOO_FEW):
                watched_items.append(item)
    for name, items in sections.items():
        items.sort(key=lambda i: -(abs(i["growth"]) if i["growth"] is not None else 0))
        sections[name] = items[:MAX_PER_SECTION]
    return {
        "run": view.handle.name,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "period": view.handle.manifest.get("period"),
        "recent_window": info.get("recent_window"),
        "previous_window": info.get("previous_window"),
        "note": info.get("note"),
        "watch": list(watch),
        "matches": watched_items,
        "themes": theme_items,
        "themes_note": themes_note(view, themes),
        "sections": sections,
        "changes": changes(view, since_step),
        "step": update_step(view.handle.manifest),
    }
