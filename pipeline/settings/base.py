"""The building block of every config section: frozen, strict, and hashable into a cache key."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict


def stable_hash(obj: Any) -> str:
    """sha256 of canonical JSON, shortened: the building block of every cache key."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class Section(BaseModel):
    """One TOML table. Unknown keys are refused, so a typo never silently means the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def key(self) -> str:
        """Stable hash of this section's values, part of the stage cache key."""
        return stable_hash(self.model_dump(mode="json"))
