"""RunData: runs listed, artifacts read once and verified, documents prepared."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from dashboard import run_data
from dashboard.run_data import RunData
from pipeline.errors import CacheError


def test_list_runs_names_every_run_directory(dashboard_runs):
    names = [r.name for r in run_data.list_runs(dashboard_runs.root)]
    assert names == sorted(
        ["arxiv", "broken", "evil", "trending", "updates", "refits", "evil-updates"]
    )


def test_list_runs_of_an_empty_root_is_empty(empty_root):
    assert run_data.list_runs(empty_root) == []


def test_docs_are_prepared_once_with_labels_and_safe_links(dated_run):
    docs = dated_run.docs
    assert docs is dated_run.docs  # read once, then kept
    assert {"topic_label", "date_str"} <= set(docs.columns)
    outliers = docs[docs["topic"] == run_data.OUTLIER]
    assert len(outliers) and (outliers["topic_label"] == run_data.OUTLIER_LABEL).all()
    labelled = docs[docs["topic"] >= 0].iloc[0]
    assert labelled["topic_label"] == dated_run.labels[int(labelled["topic"])]
    assert docs["url"].notna().any()
    assert docs["url"].map(lambda u: pd.isna(u) or u.startswith("http")).all()
    assert docs["date_str"].str.fullmatch(r"\d{4}-\d{2}").all()  # arXiv dates are months


def test_javascript_links_are_dropped(dashboard_runs):
    evil = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.evil)
    assert pd.isna(evil.docs["url"].iloc[1])  # a missing value of pandas' str dtype
    assert run_data.safe_url("javascript:alert(1)") is None
    assert run_data.safe_url(" https://arxiv.org/abs/1 ") == "https://arxiv.org/abs/1"
    assert run_data.safe_url(float("nan")) is None


def test_damaged_artifact_raises_cache_error_with_rebuild_command(dashboard_runs):
    run = RunData.open(dashboard_runs.root / "runs" / dashboard_runs.broken)
    with pytest.raises(
        CacheError, match=r"documents\.parquet: checksum mismatch.*topictrends build"
    ):
        _ = run.docs


def test_missing_optional_artifact_fails_only_where_used(dashboard_runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree((dashboard_runs.root / "runs" / dashboard_runs.dated).resolve(), copy)
    (copy / "hierarchy.parquet").unlink()
    run = RunData.open(copy)
    assert len(run.docs) == 300  # the core tables still load
    with pytest.raises(CacheError, match=r"hierarchy\.parquet: missing"):
        _ = run.hierarchy


def test_date_strings_follow_precision():
    dates = pd.Series(pd.to_datetime(["2024-03-05", "2024-03-01", "2024-01-01", None]))
    prec = pd.Series(["day", "month", "year", None], dtype=object)
    assert run_data.date_strings(dates, prec).tolist() == ["2024-03-05", "2024-03", "2024", ""]
