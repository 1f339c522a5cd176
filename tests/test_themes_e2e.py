"""Themes end to end: the issue's fragmented corpus on real abstracts through ``build``.

15 arXiv categories of 60 abstracts over 36 months (tests/trends_fragmented.py): the
pipeline (hashing embedder) finds its own topics and hierarchy, and may split a category
into fragments too small for the trend test. The rising and fading categories must still be
called, at the level of the hierarchy where their documents are, and no steady category may
be called anything. One build of 900 documents.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.flows import build
from pipeline.stages.themes import DOWN, UP
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.trends_fragmented import arxiv_fragmented


@pytest.fixture(scope="module")
def fragmented_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("themes")
    docs = arxiv_fragmented(seed=0)
    path = tmp / "fragmented.csv"
    docs.to_csv(path, index=False)
    cfg = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    return open_run(build(str(path), cfg, Store(tmp / "cache")).run_dir)


def test_split_categories_are_called_at_the_hierarchy_level(fragmented_run) -> None:  # noqa: ANN001
    run = fragmented_run
    docs = run.read_table("documents.parquet")
    trends, hier = run.read_table("trends.parquet"), run.read_table("hierarchy.parquet")
    assert run.manifest["period"] == "month"
    clustered = docs[docs["topic"] >= 0]
    units = [([t], c) for t, c, h in trends[["topic", "category", "headline"]].values if h]
    units += [(list(ts), c) for ts, c, h in hier[["topics", "category", "headline"]].values if h]
    print("\nheadline calls:")
    for ts, c in units:
        mine = clustered[clustered["topic"].isin(ts)]
        print(c, ts, mine["label"].value_counts().head(3).to_dict())
    for label, mine in clustered.groupby("label"):
        role = mine["role"].iloc[0]
        want = {"rising": UP, "late": UP, "fading": DOWN}.get(role)
        held = [(mine["topic"].isin(ts).mean(), c) for ts, c in units]
        if want is None:  # steady: no call holds most of it
            assert max((h for h, _ in held), default=0) <= 0.5, (label, held)
        else:
            best = max((h for h, c in held if c in want), default=0)
            assert best > 0.5, (label, role, mine["topic"].value_counts().to_dict())
    # No document is called twice.
    heads = [set(ts) for ts, _ in units]
    assert sum(map(len, heads)) == len(set().union(*heads))
    assert not pd.Series([c for _, c in units]).isin(["stable", "too few documents"]).any()
