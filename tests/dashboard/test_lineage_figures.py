"""lineage_figures: the Sankey of an update and a topic's history, escaped."""

from __future__ import annotations

import pandas as pd
from frames import EVIL, raw_markup

from dashboard import figure_style, lineage_figures
from dashboard.lineage_data import (
    lineage_rows,
)


def test_lineage_sankey_nodes_links_and_escaping(lineage):
    fig = lineage_figures.lineage_sankey(
        lineage_rows(lineage), current_sizes={6: 12}, previous_sizes={4: 7}
    )
    (sankey,) = fig.data
    labels = list(sankey.node.label)
    left = [lab for lab, x in zip(labels, sankey.node.x, strict=True) if x < 0.5]
    right = [lab for lab, x in zip(labels, sankey.node.x, strict=True) if x > 0.5]
    assert sorted(left) == sorted(
        ["#0 a", "#1 b", "#2 two", "#3 c", figure_style.esc(f"#4 {EVIL}", 50), "(new)"]
    )
    assert sorted(right) == ["#0 a", "#1 b", "#2 two", "#5 b2", "#6 six", "(gone)"]
    assert not any("<script>" in lab for lab in labels) and any(
        "&lt;script&gt;" in lab for lab in labels
    )

    def link(src: str, dst: str) -> tuple[float, str]:
        for s, t, v, c in zip(
            sankey.link.source,
            sankey.link.target,
            sankey.link.value,
            sankey.link.color,
            strict=True,
        ):
            if labels[s].startswith(src) and labels[t].startswith(dst) and s < len(left) <= t:
                return v, c
        raise AssertionError(f"no link {src} -> {dst}")

    assert link("#1 ", "#5 ")[0] == 4  # shared documents
    assert link("(new)", "#6 ")[0] == 12  # a new topic: its size
    assert link("#4 ", "(gone)")[0] == 7  # a gone topic: its previous size
    assert link("#3 ", "#2 ")[1] == lineage_figures._rgba(
        lineage_figures.RELATION_COLORS["merged"], 0.45
    )
    assert link("#1 ", "#1 ")[1] == lineage_figures._rgba(
        lineage_figures.RELATION_COLORS["split"], 0.45
    )
    assert len(sankey.link.source) == len(lineage)
    assert raw_markup(fig.to_json()) == []


def test_lineage_sankey_of_an_empty_lineage():
    fig = lineage_figures.lineage_sankey(lineage_rows(pd.DataFrame()))
    assert len(fig.data[0].node.label) == 0 and len(fig.data[0].link.source) == 0


def test_topic_history_figure_marks_relations_and_label_changes(history):
    fig = lineage_figures.topic_history_figure(history, 0)
    assert list(fig.data[0].x) == [0, 1, 2] and list(fig.data[0].y) == [20, 30, 31]
    notes = {a.x: a.text for a in fig.layout.annotations}
    assert notes[0] == "new" and notes[1] == "grew"
    assert notes[2].startswith("label: &lt;script&gt;")  # same relation, new label
    assert raw_markup(fig.to_json()) == []
