"""``[curation]``: where the audited curation logs live (docs/curation.md).

Not part of any stage key nor of the run key: curation is an overlay read on top of a
run's artifacts, so where its log lives never changes what a build computes.
"""

from __future__ import annotations

from pydantic import Field

from pipeline.settings.base import Section


class CurationConfig(Section):
    dir: str | None = Field(
        None,
        description="Directory of the curation logs (one append-only JSON-lines file per run). When unset: $TOPICTRENDS_CURATION_DIR, else curation/ under the cache root when the cache is writable; a hosted dashboard (read-only cache) needs a separate writable mount named here or in $TOPICTRENDS_CURATION_DIR, and without one editing is off (docs/curation.md).",
    )
