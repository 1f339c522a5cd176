"""What every figure shares: the palette, colours, and escaping of corpus text.

Every string that comes from the corpus (titles, labels, metadata values) goes through
``esc`` before it reaches a figure: Plotly renders a subset of HTML in text and hover
labels (``<a href>``, ``<b>``...), and escaped text is shown literally instead.
"""

from __future__ import annotations

import html

from plotly.colors import qualitative

from dashboard.run_data import OUTLIER

PALETTE: tuple[str, ...] = tuple(qualitative.Dark24 + qualitative.Alphabet + qualitative.Light24)
# The map's topic colours (map_layout.distinct_colors spreads them so neighbours differ):
# the 24 strong colours, without the pale ones that vanish on the density image.
MAP_PALETTE: tuple[str, ...] = tuple(qualitative.Dark24)
OUTLIER_COLOR = "#c4c4c4"
OTHER_COLOR = "#9e9e9e"
SELECTED_COLOR = "#e4572e"
BAR_COLOR = "#4c78a8"
MAP_HEIGHT = 640


def esc(value: object, limit: int | None = None) -> str:
    """Corpus text made safe and literal for Plotly (and shortened to ``limit`` characters)."""
    s = "" if value is None else str(value)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1].rstrip() + "…"
    return html.escape(s, quote=False)


def topic_color(topic: int) -> str:
    return OUTLIER_COLOR if topic == OUTLIER else PALETTE[topic % len(PALETTE)]
