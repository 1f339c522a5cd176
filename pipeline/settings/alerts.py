"""``[alerts]``: the watchlist a digest puts first (docs/digests.md).

Not part of any stage key nor of the run key: a digest only reads a run.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from pipeline.settings.base import Section


class AlertsConfig(Section):
    watch: tuple[str, ...] = Field(
        (),
        description='Watchlist: a word or phrase matched (case-insensitively) against a topic\'s curated label and keywords, or "topic:ID" for one topic, e.g. ["agents", "topic:12"]. Matching topics come first in a digest; `topictrends digest --fail-on-match` exits 3 when any matches.',
    )

    @field_validator("watch")
    @classmethod
    def _entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not entry.strip():
                raise ValueError("an empty watch entry matches everything; remove it")
            if entry.startswith("topic:") and not entry[6:].strip().lstrip("-").isdigit():
                raise ValueError(f"{entry!r}: write topic:ID with a topic number, like topic:12")
        return value
