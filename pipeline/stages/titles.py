"""Whether a document's title is part of the text it is modelled by (``[ingest] title_in_text``).

A title usually says what its document is about, so it is modelled with the text. A title
that many documents share names a group instead: the speech a paragraph comes from, the
thread of a message, the report of a chunk. Modelled with the text, it makes topics of
speakers and years ("richard nixon · richard · nixon ..."), and trends of them: a group's
topic is "new" and then "fading" by construction. The rule of ``"auto"``:

    titles name groups when fewer than half (``UNIQUE_SHARE``) of the documents that have a
    title have one that no other document has; then titles are left out of the modelled
    text (a document with no text keeps its title, or it would have nothing to model).

The title stays in ``documents.parquet`` and everywhere it is shown. The choice is made once,
by a build, on the whole corpus, and recorded in the manifest (``corpus.title_in_text`` and
``corpus.title_decision``); an update and a refit reuse it (``carried``), so a batch of three
paragraphs of one speech never flips it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

UNIQUE_SHARE = 0.5  # titles name groups below this share of documents with a unique title
SETTING = "[ingest] title_in_text"


@dataclass(frozen=True)
class TitleChoice:
    """The run's choice and how it was made (the counts are those of the deciding corpus)."""

    in_text: bool
    decided_by: str  # "auto", "always", "never", or "recorded" (a run from before the setting)
    titled: int = 0  # documents with a title
    unique: int = 0  # documents whose title no other document has
    distinct: int = 0  # distinct titles

    def record(self) -> dict[str, Any]:
        """The manifest's ``corpus.title_decision``."""
        return {**asdict(self), "reason": self.reason()}

    def reason(self) -> str:
        """Why the titles are (not) modelled, in one sentence."""
        where = "part of the modelled text" if self.in_text else "left out of the modelled text"
        if self.decided_by in ("always", "never"):
            return f'titles are {where} ({SETTING} = "{self.decided_by}")'
        if self.decided_by == "recorded":
            return f"titles are {where} (recorded by the run's build)"
        if self.titled == 0:
            return "no document has a title"
        if self.in_text:
            return f"titles are {where}: {self.unique} of {self.titled} titled documents have their own"
        per = self.titled / max(self.distinct, 1)
        return (
            f"titles repeat across documents (1 title per {per:.0f} documents): modelled on "
            f'the text alone; set {SETTING} = "always" to include them'
        )

    def line(self) -> str | None:
        """The build summary's line: only when titles are not simply modelled as before."""
        if self.titled == 0 or (self.in_text and self.decided_by == "auto"):
            return None
        return self.reason()


def decide(titles: pd.Series, mode: str) -> TitleChoice:
    """The choice for a corpus whose (normalised) titles are ``titles``, under ``mode``."""
    named = titles[titles.fillna("").astype(str) != ""].astype(str)
    counts = named.value_counts()
    titled, distinct = len(named), len(counts)
    unique = int((counts == 1).sum())
    if mode in ("always", "never"):
        in_text = mode == "always"
    else:
        in_text = titled == 0 or unique >= UNIQUE_SHARE * titled
    return TitleChoice(in_text, mode, titled, unique, distinct)


def recorded(manifest: dict[str, Any]) -> TitleChoice | None:
    """The choice a build's manifest records (None for a build from before the setting)."""
    decision = (manifest.get("corpus") or {}).get("title_decision")
    if not isinstance(decision, dict) or not isinstance(decision.get("in_text"), bool):
        return None
    counts = {k: int(decision[k]) for k in ("titled", "unique", "distinct") if k in decision}
    return TitleChoice(decision["in_text"], str(decision.get("decided_by", "auto")), **counts)


def carried(manifest: dict[str, Any], mode: str, update: bool) -> TitleChoice | None:
    """The choice a run's build recorded, for its update or refit to reuse.

    An update keeps whatever the run recorded (its documents' embeddings were made so); a
    run from before the setting modelled titles with the text. A refit, which recomputes
    everything, keeps only a choice ``"auto"`` made, and only under ``"auto"``: an explicit
    ``"always"``/``"never"`` in its config wins, a run whose explicit setting was dropped or
    one from before the setting decides afresh (None).
    """
    if mode != "auto" and not update:
        return None
    choice = recorded(manifest)
    if choice is not None and (update or choice.decided_by == "auto"):
        return choice
    return TitleChoice(True, "recorded") if update else None


def modelled_texts(docs: pd.DataFrame, with_title: bool = True) -> list[str]:
    """Each document's modelled text: "title. text", or the text alone without titles."""
    out = []
    for title, text in zip(docs["title"].tolist(), docs["text"].tolist(), strict=True):
        title = title or ""
        text = text or ""
        if not with_title:
            out.append(text or title)
        else:
            out.append(f"{title}. {text}" if title and text else title or text)
    return out
