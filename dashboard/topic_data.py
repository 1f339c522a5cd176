"""The Topics page's tables: the topic list, a topic's keywords, neighbours and documents.

Pure functions of a run's frames; no Streamlit here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.time_data import share_matrix


def nearest_topics(topic_embeddings: np.ndarray, topic: int, k: int = 5) -> list[tuple[int, float]]:
    """The ``k`` topics whose centroids are closest (cosine) to ``topic``'s.

    Rows of zeros are ids no topic holds (after an update, ids of gone topics stay unused)
    and are never offered as neighbours.
    """
    if topic < 0 or topic >= len(topic_embeddings) or len(topic_embeddings) < 2:
        return []
    emb = topic_embeddings.astype(np.float32)
    norms = np.linalg.norm(emb, axis=1)
    unused = norms == 0
    norms[unused] = 1.0
    emb = emb / norms[:, None]
    sims = emb @ emb[topic]
    sims[topic] = -np.inf
    sims[unused] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(int(i), float(sims[i])) for i in order if np.isfinite(sims[i])]


def representative_docs(docs: pd.DataFrame, topics: pd.DataFrame, topic: int) -> pd.DataFrame:
    row = topics[topics["topic"] == topic]
    if row.empty:
        return docs.iloc[0:0]
    ids = [str(i) for i in row.iloc[0]["representative_doc_ids"]]
    by_id = docs[docs["doc_id"].astype(str).isin(ids)]
    order = {d: i for i, d in enumerate(ids)}
    return by_id.iloc[np.argsort([order[d] for d in by_id["doc_id"].astype(str)], kind="stable")]


def label_note(topics: pd.DataFrame, topic: int, manifest: dict) -> str | None:
    """Where a topic's label came from, when an LLM named it (``label_source``, LLM runs only).

    The model's name comes from the run's config; the note is plain text for ``st.caption``
    after ``md_escape`` (a model name is the user's text, not ours).
    """
    if "label_source" not in topics.columns:
        return None
    row = topics[topics["topic"] == topic]
    if row.empty or row.iloc[0]["label_source"] != "llm":
        return None
    model = ((manifest.get("config") or {}).get("llm") or {}).get("model")
    by = f"an LLM ({model})" if model else "an LLM"
    return f"Label suggested by {by} from the keywords and representative documents."


def keyword_table(topics: pd.DataFrame, topic: int) -> pd.DataFrame:
    row = topics[topics["topic"] == topic]
    if row.empty:
        return pd.DataFrame(columns=["keyword", "weight"])
    r = row.iloc[0]
    return pd.DataFrame(
        {
            "keyword": [str(k) for k in r["keywords"]],
            "weight": [float(w) for w in r["keyword_weights"]],
        }
    )


def topics_table(
    topics: pd.DataFrame,
    over_time: pd.DataFrame | None,
    trends: pd.DataFrame | None,
    query: str = "",
) -> pd.DataFrame:
    """The Topics page table: one row per topic, optionally searched by label or keyword."""
    t = topics[["topic", "label", "size", "share"]].copy()
    t["keywords"] = topics["keywords"].map(lambda k: ", ".join(list(k)[:8]))
    if over_time is not None and not over_time.empty:
        m = share_matrix(over_time)
        t["share_over_time"] = [
            m.loc[i].fillna(0.0).round(5).tolist() if i in m.index else [] for i in t["topic"]
        ]
    if trends is not None and len(trends):
        cols = [c for c in ("category", "growth", "q_value") if c in trends.columns]
        t = t.merge(trends[["topic", *cols]], on="topic", how="left")
    if query.strip():
        words = query.lower().split()
        hay = (t["label"].astype(str) + " " + t["keywords"]).str.lower()
        t = t[np.logical_and.reduce([hay.str.contains(w, regex=False) for w in words])]
    return t.reset_index(drop=True)
