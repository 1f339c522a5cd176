"""Small bar charts as PNG (mail clients strip SVG) and as text, with no plotting library.

A digest's chart is a topic's share per period: a few dozen bars. matplotlib and kaleido
are not dependencies, and a bar chart needs no anti-aliasing, so the PNG is written here
with ``zlib`` (PNG is a signature, IHDR, IDAT of filtered scanlines, IEND).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

BARS = " ▁▂▃▄▅▆▇█"
BACKGROUND = (255, 255, 255)
BAR = (160, 174, 192)
RECENT = (221, 72, 72)  # the digest window's periods


def sparkline(values: Sequence[float]) -> str:
    """The series as block characters (for Markdown, plain text and feeds)."""
    top = max(values, default=0.0)
    if top <= 0:
        return BARS[1] * len(values)
    return "".join(BARS[1 + round(v / top * (len(BARS) - 2))] for v in values)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bar_png(
    values: Sequence[float], recent: int = 0, width: int = 160, height: int = 40, gap: int = 1
) -> bytes:
    """A PNG bar chart of ``values``; the last ``recent`` bars in the accent colour."""
    n = max(len(values), 1)
    bar_w = max(1, (width - gap * (n - 1)) // n)
    width = n * bar_w + gap * (n - 1)
    top = max(values, default=0.0) or 1.0
    heights = [max(1, round(v / top * (height - 2))) if v > 0 else 0 for v in values]
    rows = []
    for y in range(height):
        line = bytearray([0])  # filter type 0 for each scanline
        for i in range(n):
            colour = RECENT if i >= n - recent else BAR
            filled = height - y <= heights[i] if i < len(heights) else False
            line += bytes(colour if filled else BACKGROUND) * bar_w
            if i < n - 1:
                line += bytes(BACKGROUND) * gap
        rows.append(bytes(line))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
