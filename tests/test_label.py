"""LLM labels: unique, cached by keyword fingerprint, and never the reason a build fails."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.flows import build, update
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.llm_server import fake_llm
from tests.update_corpus import LATE, STEADY, hashing_config, monthly_corpus, write_csv


def _topics(*keywords: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "topic": range(len(keywords)),
            "label": ["x"] * len(keywords),
            "keywords": [list(k) for k in keywords],
            "representative_doc_ids": [[] for _ in keywords],
        }
    )


TOPICS = _topics(["galaxy", "telescope"], ["recipe", "oven"], ["vaccine", "trial"])


def _cfg(url: str, **llm: object) -> Config:
    return Config().with_overrides(
        {"represent": {"labels": "llm"}, "llm": {"base_url": url, "timeout": 0.3, **llm}}
    )


def test_labels_come_from_the_server_and_are_cached(tmp_path: Path) -> None:
    from pipeline.stages.label import label_topics

    with fake_llm() as fake:
        out, info = label_topics(TOPICS, {}, _cfg(fake.url), tmp_path)
        assert list(out["label"]) == [
            "Studies of galaxy",
            "Studies of recipe",
            "Studies of vaccine",
        ]
        assert set(out["label_source"]) == {"llm"} and info["requests"] == 3
        changed = _topics(["galaxy", "telescope"], ["recipe", "baking"], ["vaccine", "trial"])
        again, info = label_topics(changed, {}, _cfg(fake.url), tmp_path)
    assert info == {"requests": 1, "from_cache": 2, "fallback": 0}, "only the changed topic"
    assert len(fake.requests) == 4
    assert list(again["label"]) == list(out["label"])


@pytest.mark.parametrize("mode", ["slow", "error", "badjson", "refuse"])
def test_a_failure_keeps_the_keyword_label_warns_and_is_not_cached(
    mode: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pipeline.stages.label import label_topics

    with fake_llm(mode, delay=1.0) as fake, caplog.at_level(logging.WARNING):
        out, info = label_topics(TOPICS, {}, _cfg(fake.url, max_failures=5), tmp_path)
    assert list(out["label"]) == ["galaxy · telescope", "recipe · oven", "vaccine · trial"]
    assert set(out["label_source"]) == {"keywords"} and info["fallback"] == 3
    assert "keep their keyword label" in caplog.text
    assert not list((tmp_path / "labels").glob("*.json")), "a fallback label is never cached"


def test_repeated_failures_stop_the_asking(tmp_path: Path) -> None:
    from pipeline.stages.label import label_topics

    many = _topics(*[[f"word{i}", "other"] for i in range(10)])
    with fake_llm("error") as fake:
        _, info = label_topics(many, {}, _cfg(fake.url, max_failures=2, concurrency=1), tmp_path)
    assert len(fake.requests) == 2 and info["fallback"] == 10


def test_duplicates_are_asked_again_then_told_apart(tmp_path: Path) -> None:
    from pipeline.stages.label import label_topics

    with fake_llm("dup") as fake:
        out, info = label_topics(TOPICS, {}, _cfg(fake.url), tmp_path)
    # The first topic keeps "Same label"; the other two are asked again and answer apart.
    assert list(out["label"]) == ["Same label", "Studies of recipe", "Studies of vaccine"]
    assert info["requests"] == 5
    with fake_llm("dup") as fake:
        out, _ = label_topics(TOPICS, {}, _cfg(fake.url, retries=0), tmp_path / "b")
    assert list(out["label"]) == ["Same label", "Same label (recipe)", "Same label (vaccine)"]


def test_a_missing_key_variable_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages.label import label_topics

    monkeypatch.delenv("TT_NO_SUCH_KEY", raising=False)
    with fake_llm() as fake:
        out, info = label_topics(TOPICS, {}, _cfg(fake.url, api_key_env="TT_NO_SUCH_KEY"), tmp_path)
    assert not fake.requests and info["fallback"] == 3


def test_build_and_update_ask_only_about_new_keywords_and_never_store_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A build asks once per topic; a rebuild asks nothing; an update asks about its new topics."""
    secret = "sk-never-on-disk-4242"
    monkeypatch.setenv("TT_TEST_LLM_KEY", secret)
    corpus = monthly_corpus()
    steady = write_csv(corpus[corpus["label"].isin(STEADY)], tmp_path / "steady.csv")
    store = Store(tmp_path / "cache")
    with fake_llm() as fake, caplog.at_level(logging.DEBUG):
        cfg = hashing_config().with_overrides(
            {
                "represent": {"labels": "llm"},
                "llm": {"base_url": fake.url, "api_key_env": "TT_TEST_LLM_KEY"},
            }
        )
        first = build(str(steady), cfg, store, name="sim")
        topics = open_run(first.run_dir).read_table("topics.parquet")
        assert len(fake.requests) == len(topics) and set(topics["label_source"]) == {"llm"}
        assert topics["label"].str.startswith("Studies of ").all() and topics["label"].is_unique
        assert fake.requests[0]["headers"]["Authorization"] == f"Bearer {secret}"
        build(str(steady), cfg, store, name="sim", force=True)
        assert len(fake.requests) == len(topics), "a rebuild finds every label in the cache"
        late = write_csv(corpus[corpus["label"] == LATE], tmp_path / "late.csv")
        result = update("sim", str(late), store)
        new = result.manifest["update"]["new_topics"]
        assert new and len(fake.requests) == len(topics) + len(new)
    after = open_run(result.run_dir).read_table("topics.parquet")
    assert set(after["label_source"]) == {"llm"} and after["label"].is_unique
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in caplog.text


def test_a_build_with_fallback_labels_is_not_up_to_date(tmp_path: Path, planted_csv: Path) -> None:
    """The server was down: the next plain build asks again instead of reusing the run."""
    store = Store(tmp_path / "cache")
    base = Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})
    with fake_llm("error") as fake:  # the same server (same config) down, then up
        cfg = base.with_overrides({"represent": {"labels": "llm"}, "llm": {"base_url": fake.url}})
        down = build(str(planted_csv), cfg, store)
        assert down.manifest["timings"]["label"]["fallback"] > 0
        fake.mode, asked = "ok", len(fake.requests)
        up = build(str(planted_csv), cfg, store)
        assert not up.up_to_date and len(fake.requests) > asked
        assert build(str(planted_csv), cfg, store).up_to_date, "all named: nothing to ask"
    topics = open_run(up.run_dir).read_table("topics.parquet")
    assert set(topics["label_source"]) == {"llm"}
    assert up.manifest["stage_keys"] == down.manifest["stage_keys"], "no stage recomputed"


def test_keyword_labels_keep_every_key_and_llm_labels_recompute_no_stage() -> None:
    """The setting and the [llm] section are new: builds that do not use them keep their run
    key and stage keys (so their caches and published runs stay current)."""
    from pipeline.flows.run import run_key, settings

    plain = Config()
    llm = Config().with_overrides({"represent": {"labels": "llm"}, "llm": {"model": "m"}})
    assert plain.represent.key() == llm.represent.key()
    recorded = settings(plain, sampled=False)
    assert "llm" not in recorded and "labels" not in recorded["represent"]
    assert settings(llm, sampled=False)["llm"]["model"] == "m"
    assert run_key("c", plain) != run_key("c", llm)
