"""Topics over time (pipeline.stages.over_time)."""

from __future__ import annotations

import pandas as pd

from pipeline.stages.over_time import topics_over_time


def test_shares_are_of_every_document_in_the_period_outliers_included() -> None:
    dates = pd.Series(
        pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-25", "2024-02-02", None])
    )
    topics = pd.Series([0, 0, -1, 1, 0])
    out = topics_over_time(dates, topics, "month")
    jan = out[out["period_start"] == pd.Timestamp("2024-01-01")].set_index("topic")
    assert jan.loc[0, "count"] == 2 and jan.loc[0, "period_total"] == 3
    assert abs(jan.loc[0, "share"] - 2 / 3) < 1e-12
    assert out["count"].sum() == 4  # the undated document is left out
    assert list(out.columns) == ["topic", "period_start", "count", "share", "period_total"]
