"""DataMapPlot's picture of a run's map, for comparison with the dashboard's (docs/dashboard.md).

Same coordinates (``documents.parquet`` x, y) and the same labels as the Topic map draws
(a topic's first two label words; outliers unlabelled). DataMapPlot is not a dependency of
topictrends: run this with a separate environment that has it, offline, e.g.

    python -m venv /tmp/dmp && /tmp/dmp/bin/pip install datamapplot
    /tmp/dmp/bin/python bench/datamapplot_compare.py cache/runs/arxiv docs/img/map-datamapplot.png

Only pandas, numpy and datamapplot are imported, so the project's venv is left alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main(run: Path, out: Path) -> None:
    import datamapplot

    docs = pd.read_parquet(run / "documents.parquet", columns=["x", "y", "topic"])
    topics = pd.read_parquet(run / "topics.parquet", columns=["topic", "label"])
    short = {
        int(t): " · ".join(str(label).split(" · ")[:2])
        for t, label in zip(topics["topic"], topics["label"], strict=True)
    }
    labels = np.array(
        [short.get(int(t), "Unlabelled") if t >= 0 else "Unlabelled" for t in docs["topic"]]
    )
    t0 = time.perf_counter()
    fig, _ = datamapplot.create_plot(
        docs[["x", "y"]].to_numpy(),
        labels,
        noise_label="Unlabelled",
        font_family="DejaVu Sans",  # a system font: nothing is fetched
        label_font_size=9,
        figsize=(10, 6.4),
        dpi=100,
    )
    fig.savefig(out, dpi=100, bbox_inches="tight")
    print(
        f"{out}: {len(docs):,} points, {len(set(labels)) - 1} labels, {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
