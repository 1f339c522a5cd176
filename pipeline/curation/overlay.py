"""From the log to the state in effect: which topics are renamed, merged, hidden, noted.

An entry names topic ids as they were at the build step it was made on. ``TopicMap``
carries them to the current build through the run's own lineage: topic ids survive
``update`` and ``build --refit`` whenever a topic is ``same`` or ``grew``, so the edit
simply stays; a topic involved in a ``split`` or ``merged`` keeps the edit and is flagged
for review; a topic whose id is gone follows its largest successor (flagged), and with
none the entry is an orphan (listed by ``curate log``, applied to nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline.curation.log import CurationError, Entry

REVIEW_RELATIONS = ("split", "merged")


@dataclass(frozen=True)
class TopicMap:
    """The current build's topic ids, its step, and the lineage that leads to it."""

    topics: frozenset[int]
    step: int = 0
    history: pd.DataFrame | None = None
    lineage: pd.DataFrame | None = None

    def place(self, topic: int | None, step: int) -> tuple[int | None, str | None]:
        """(current id or None, why it needs review or None) for ``topic`` at ``step``."""
        if topic is None:
            return None, None
        if step >= self.step:
            return (topic if topic in self.topics else None), None
        if topic in self.topics:
            return topic, self._review(topic, step)
        return self._successor(topic, step)

    def _review(self, topic: int, step: int) -> str | None:
        h = self.history
        if h is None or h.empty:
            return None
        rows = h[(h["topic"] == topic) & (h["step"] > step)]
        for r in rows.itertuples(index=False):
            if str(r.relation) in REVIEW_RELATIONS:
                return f"{r.relation} at update step {int(r.step)}"
        return None

    def _successor(self, topic: int, step: int) -> tuple[int | None, str | None]:
        lin = self.lineage
        if lin is None or lin.empty or step < self.step - 1:
            return None, None
        rows = lin[
            (lin["previous_topic"] == topic)
            & lin["relation"].isin(REVIEW_RELATIONS)
            & lin["topic"].notna()
        ]
        if rows.empty:
            return None, None
        best = rows.sort_values("shared_documents", ascending=False).iloc[0]
        return int(best["topic"]), f"{best['relation']} at update step {self.step}"


@dataclass
class State:
    """The curation in effect on the current build."""

    labels: dict[int, str] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)  # topic -> the topic it went into
    hidden: set[int] = field(default_factory=set)
    notes: dict[int, str] = field(default_factory=dict)
    review: dict[int, str] = field(default_factory=dict)  # topic -> why to look again
    live: list[Entry] = field(default_factory=list)  # entries in effect, oldest first
    orphans: list[Entry] = field(default_factory=list)  # their topic is gone

    def root(self, topic: int) -> int:
        """Where a topic's documents are now: follows merges (a cycle stops where it closes)."""
        seen = {topic}
        while topic in self.merged and self.merged[topic] not in seen:
            topic = self.merged[topic]
            seen.add(topic)
        return topic

    @property
    def membership_changed(self) -> bool:
        """Merges or hides move documents, so trends must be recomputed for this view."""
        return bool(self.merged or self.hidden)

    def visible(self, topic: int) -> bool:
        return topic not in self.merged and topic not in self.hidden


def live_entries(entries: list[Entry]) -> list[Entry]:
    """The entries not cancelled by an undo (undo lines themselves left out)."""
    undone = {e.target for e in entries if e.action == "undo"}
    return [e for e in entries if e.action != "undo" and e.id not in undone]


def last_live(entries: list[Entry]) -> Entry | None:
    live = live_entries(entries)
    return live[-1] if live else None


def state_of(entries: list[Entry], topics: TopicMap) -> State:
    """Replay the live entries on the current build's topics."""
    st = State()
    for e in live_entries(entries):
        t, why = topics.place(e.topic, e.step)
        into, why_into = topics.place(e.into, e.step) if e.action == "merge" else (None, None)
        if t is None or (e.action == "merge" and into is None):
            st.orphans.append(e)
            continue
        st.live.append(e)
        _apply(st, e, t, into)
        for topic, reason in ((t, why), (into, why_into)):
            if reason and topic is not None:
                st.review[st.root(topic)] = reason
    return st


def _apply(st: State, e: Entry, t: int, into: int | None) -> None:
    if e.action == "rename":
        st.labels[t] = str(e.value)
    elif e.action == "note":
        st.notes[t] = str(e.value)
    elif e.action == "hide":
        st.hidden.add(t)
    elif e.action == "unhide":
        st.hidden.discard(t)
    elif e.action == "merge" and into is not None and st.root(into) != t:
        st.merged[t] = into


def check_action(
    st: State, action: str, topic: int | None, into: int | None, current: set[int]
) -> None:
    """Refuse an edit that makes no sense on the curated view, in one line with the fix."""
    for t in (topic, into):
        if t is not None and t not in current:
            raise CurationError(
                f"there is no topic {t} in this run; `topictrends topics RUN` lists them"
            )
    if topic is not None and topic in st.merged:
        raise CurationError(
            f"topic {topic} was merged into topic {st.root(topic)}; edit that one, or undo the merge"
        )
    if action == "merge":
        if into in st.merged:
            raise CurationError(
                f"topic {into} was merged into topic {st.root(into)}; merge into that one"
            )
        if topic == into:
            raise CurationError(f"cannot merge topic {topic} into itself; name two topics")
    if action == "hide" and topic in st.hidden:
        raise CurationError(f"topic {topic} is already hidden; `unhide {topic}` shows it again")
    if action == "unhide" and topic not in st.hidden:
        raise CurationError(f"topic {topic} is not hidden")
