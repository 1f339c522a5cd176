"""What an update changed: lineage and history tables for the Lineage, Overview and Topics
pages. The files' names, columns and relations are the pipeline's contract; this module
only orders and shapes them for display. No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.store.contract import RELATIONS

LINEAGE_TABLE_COLUMNS: tuple[str, ...] = (
    "relation",
    "previous_topic",
    "previous_label",
    "topic",
    "label",
    "shared_documents",
    "document_overlap",
    "similarity",
)
HISTORY_TABLE_COLUMNS: tuple[str, ...] = ("step", "date", "build", "label", "size", "relation")
NO_HISTORY = "This run has no update history yet"


def update_command(run_name: str) -> str:
    """The command that adds documents to a run (shown where a run has no updates yet)."""
    return f"topictrends update {run_name} NEW_INPUT"


@dataclass
class UpdateInfo:
    """What the latest update of a run changed: for the Overview's "New since the last update"."""

    kind: str  # "update" or "refit"
    step: int
    previous_build: str | None
    created_at: str | None
    new_documents: int
    new_topics: pd.DataFrame  # topic, label, size (current topics with no predecessor)
    ids_kept: int | None
    ids_previous: int | None


def update_info(
    manifest: dict[str, Any],
    docs: pd.DataFrame,
    topics: pd.DataFrame,
    lineage: pd.DataFrame | None,
) -> UpdateInfo | None:
    """The latest update of a run, or None when it has none (a first build, an older run).

    New documents are those with ``added_step`` equal to this step (the manifest's count
    for a run without the column); new topics are the manifest's ``new_topics`` plus the
    ``new`` rows of the lineage, as far as they are topics of this build.
    """
    u = manifest.get("update")
    if not isinstance(u, dict):
        return None
    try:
        step = int(u.get("step") or 0)
    except (TypeError, ValueError):
        return None
    if step <= 0:
        return None
    if "added_step" in docs.columns:
        n_new = int((pd.to_numeric(docs["added_step"], errors="coerce") == step).sum())
    else:
        n_new = int(u.get("new_documents") or 0)
    ids: set[int] = set()
    for t in u.get("new_topics") or []:
        try:
            ids.add(int(t))
        except (TypeError, ValueError):
            continue
    if lineage is not None and len(lineage):
        new_rows = lineage[(lineage["relation"] == "new") & lineage["topic"].notna()]
        ids |= {int(t) for t in new_rows["topic"]}
    new = topics[topics["topic"].isin(sorted(ids))][["topic", "label", "size"]]
    new = new.sort_values(["size", "topic"], ascending=[False, True]).reset_index(drop=True)

    def opt_int(key: str) -> int | None:
        v = u.get(key)
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    return UpdateInfo(
        kind=str(u.get("kind") or "update"),
        step=step,
        previous_build=u.get("previous_build"),
        created_at=manifest.get("created_at"),
        new_documents=n_new,
        new_topics=new,
        ids_kept=opt_int("ids_kept"),
        ids_previous=opt_int("ids_previous"),
    )


def lineage_rows(lineage: pd.DataFrame, relations: list[str] | None = None) -> pd.DataFrame:
    """The lineage as a table: every contract column (missing ones empty), rows of the chosen
    ``relations`` only, ordered by relation (same .. gone) then topic ids."""
    out = pd.DataFrame(index=lineage.index)
    for col in LINEAGE_TABLE_COLUMNS:
        if col in lineage.columns:
            out[col] = lineage[col]
        else:
            out[col] = pd.NA
    for col in ("previous_topic", "topic", "shared_documents"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for col in ("document_overlap", "similarity"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("relation", "previous_label", "label"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    if relations is not None:
        out = out[out["relation"].isin(relations)]
    rank = {r: i for i, r in enumerate(RELATIONS)}
    order = out.assign(_r=out["relation"].map(rank).fillna(len(RELATIONS)))
    order = order.sort_values(
        ["_r", "previous_topic", "topic"], na_position="last", kind="stable"
    ).drop(columns="_r")
    return order.reset_index(drop=True)


def relation_counts(lineage: pd.DataFrame) -> dict[str, int]:
    """Rows per relation, in the order of ``RELATIONS`` (unknown relations after them)."""
    vc = lineage["relation"].astype(str).value_counts()
    out = {r: int(vc[r]) for r in RELATIONS if r in vc.index}
    out.update({str(r): int(n) for r, n in vc.items() if r not in out})
    return out


def topic_lineage(lineage: pd.DataFrame, topic: int) -> pd.DataFrame:
    """Where ``topic`` came from: its own lineage rows (its predecessors, with every partner of
    a merge) and the other current topics its predecessors split into."""
    rows = lineage_rows(lineage)
    mine = rows["topic"] == topic
    parents = rows.loc[mine, "previous_topic"].dropna()
    siblings = rows["previous_topic"].isin(list(parents)) & (rows["topic"] != topic).fillna(True)
    return rows[mine | siblings].reset_index(drop=True)


def topic_history_rows(history: pd.DataFrame, topic: int) -> pd.DataFrame:
    """One topic's rows of ``topic_history.parquet``: step, date (of the build), build, label,
    size, relation; oldest first."""
    h = history[history["topic"] == topic].sort_values("step", kind="stable")
    date = h["created_at"] if "created_at" in h.columns else pd.Series("", index=h.index)
    out = pd.DataFrame(
        {
            "step": h["step"].astype("int64"),
            "date": [str(d)[:10] if isinstance(d, str) else "" for d in date],
            "build": h["build"].astype(str) if "build" in h.columns else "",
            "label": h["label"].astype(str),
            "size": h["size"].astype("int64"),
            "relation": h["relation"].astype(str),
        }
    )
    return out[list(HISTORY_TABLE_COLUMNS)].reset_index(drop=True)


def sizes_at_step(history: pd.DataFrame | None, step: int) -> dict[int, int]:
    """Topic id -> size at ``step`` of the history (empty when there is none)."""
    if history is None or history.empty:
        return {}
    h = history[history["step"] == step]
    return dict(zip(h["topic"].astype(int), h["size"].astype(int), strict=True))
