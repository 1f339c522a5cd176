"""Titles shared by many documents name groups, not documents (pipeline.stages.titles)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import SCHEMA_VERSION, __version__
from pipeline.config import Config, stable_hash
from pipeline.flows import build, update
from pipeline.flows.run import settings
from pipeline.stages import titles
from pipeline.stages.ingest import ingest
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import cli, planted_corpus

N_PER_TOPIC = 20  # 100 documents: a hashing build takes a few seconds


def old_modelled_text(title: str, text: str) -> str:
    """How every document was modelled before the setting (the old ``modelled_texts``)."""
    return f"{title}. {text}" if title and text else title or text


def grouped(df: pd.DataFrame, per_group: int = 10) -> pd.DataFrame:
    """The corpus as paragraphs of speeches: every ``per_group`` documents share a title."""
    out = df.copy()
    out["title"] = [f"{1790 + i // per_group} President {i // per_group}" for i in range(len(df))]
    return out


def write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def cfg(mode: str = "auto") -> Config:
    return Config().with_overrides(
        {
            "embed": {"backend": "hashing"},
            "reduce": {"ensemble": 2},
            "ingest": {"title_in_text": mode},
        }
    )


@pytest.fixture
def speeches(tmp_path: Path) -> Path:
    return write(grouped(planted_corpus(N_PER_TOPIC)), tmp_path / "speeches.csv")


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    return write(planted_corpus(N_PER_TOPIC), tmp_path / "papers.csv")


# --------------------------------------------------------------------------- the rule


def test_the_rule_is_fewer_than_half_of_titled_documents_with_a_title_of_their_own() -> None:
    def decide(values: list[str]) -> titles.TitleChoice:
        return titles.decide(pd.Series(values, dtype=object), "auto")

    assert decide(["a", "b", "c", "c"]).in_text  # 2 of 4 own their title: exactly half
    below = decide(["a", "b", "c", "c", "c"])  # 2 of 5
    assert not below.in_text and (below.titled, below.unique, below.distinct) == (5, 2, 3)
    assert decide(["a", "", "", "", ""]).in_text  # untitled documents do not count
    assert decide(["", ""]).in_text and decide(["", ""]).line() is None
    assert titles.decide(pd.Series(["a", "a"]), "always").in_text
    assert not titles.decide(pd.Series(["a", "b"]), "never").in_text


def test_repeated_titles_are_left_out_of_the_modelled_text_but_kept_as_titles(
    tmp_path: Path,
) -> None:
    df = grouped(planted_corpus(N_PER_TOPIC))
    df.loc[0, "abstract"] = ""  # a document with no text keeps its title to be modelled by
    corpus = ingest(write(df, tmp_path / "s.csv"), "s", cfg().ingest)
    assert not corpus.title.in_text and corpus.title.decided_by == "auto"
    by_id = corpus.docs.set_index("doc_id")
    texts = dict(zip(corpus.docs["doc_id"], corpus.texts, strict=True))
    for _, row in df.iterrows():
        assert by_id.loc[row["id"], "title"] == row["title"], "the title is kept as the title"
        assert texts[row["id"]] == (row["abstract"] or row["title"])
    assert corpus.title.line() == (
        "titles repeat across documents (1 title per 10 documents): modelled on the text "
        'alone; set [ingest] title_in_text = "always" to include them'
    )


def test_unique_titles_are_modelled_with_the_text_as_before(papers: Path) -> None:
    corpus = ingest(papers, "p", cfg().ingest)
    df = pd.read_csv(papers)
    assert corpus.title.in_text and corpus.title.line() is None
    assert corpus.texts == [
        old_modelled_text(a, b) for a, b in zip(df["title"], df["abstract"], strict=True)
    ]


@pytest.mark.parametrize(("mode", "in_text"), [("always", True), ("never", False)])
def test_always_and_never_override_the_rule(
    speeches: Path, papers: Path, mode: str, in_text: bool
) -> None:
    for path in (speeches, papers):
        corpus = ingest(path, "x", cfg(mode).ingest)
        df = pd.read_csv(path)
        want = [
            old_modelled_text(a, b) if in_text else b
            for a, b in zip(df["title"], df["abstract"], strict=True)
        ]
        assert corpus.title.decided_by == mode and corpus.texts == want, path.name
        assert corpus.title.line() and mode in corpus.title.line()


# --------------------------------------------------------------------------- builds


def test_the_manifest_records_the_choice_and_build_and_update_say_it(
    tmp_path: Path, speeches: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[embed]\nbackend = "hashing"\n[reduce]\nensemble = 2\n')
    code, out, _ = cli(capsys, "build", str(speeches), "--config", str(config),
                       "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert code == 0 and "titles repeat across documents (1 title per 10 documents)" in out
    corpus = open_run(Path(out.strip().splitlines()[-1])).manifest["corpus"]
    assert corpus["title_in_text"] is False
    decision = corpus["title_decision"]
    assert (decision["decided_by"], decision["titled"], decision["unique"]) == ("auto", 100, 0)
    assert decision["distinct"] == 10 and "modelled on the text alone" in decision["reason"]

    new = grouped(planted_corpus(N_PER_TOPIC, seed=7).head(4))
    new["id"] = [f"new-{i}" for i in range(4)]
    code, out, _ = cli(capsys, "update", "speeches", str(write(new, tmp_path / "new.csv")),
                       "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert code == 0 and "update step 1: 4 new documents" in out
    assert "titles repeat across documents (1 title per 10 documents)" in out, "update says it too"


def test_update_keeps_the_runs_choice_whatever_the_new_batch_would_decide(
    tmp_path: Path, speeches: Path, papers: Path
) -> None:
    store = Store(tmp_path / "cache")
    build(str(speeches), cfg(), store, name="speeches")
    build(str(papers), cfg(), store, name="papers")
    new = planted_corpus(N_PER_TOPIC, seed=7).head(6)
    new["id"] = [f"new-{i}" for i in range(6)]
    new.loc[5, "abstract"] = pd.read_csv(speeches).loc[0, "abstract"]  # another title
    unique = write(new, tmp_path / "unique.csv")  # on its own: titles modelled
    new["title"] = "2024 President X"  # on its own: a group title, left out
    same = write(new, tmp_path / "same.csv")

    m = update("speeches", str(unique), store).manifest
    assert m["corpus"]["title_in_text"] is False
    assert m["update"]["new_documents"] == 6, "content is title and text, modelled or not"
    assert m["timings"]["embed"]["new_documents"] == 5, "the known text has its embedding"
    m = update("papers", str(same), store).manifest
    assert m["corpus"]["title_in_text"] is True, "six paragraphs of one speech flipped it"
    assert m["timings"]["embed"]["new_documents"] == 6, "the run's documents were re-embedded"
    docs = open_run(store.previous_build("papers")).read_table("documents.parquet")
    assert len(docs) == 106


def test_refit_keeps_the_runs_choice_unless_told_otherwise(
    tmp_path: Path, speeches: Path, papers: Path
) -> None:
    store = Store(tmp_path / "cache")
    build(str(speeches), cfg(), store, name="run")
    refit = build(str(papers), cfg(), store, name="run", refit=True).manifest["corpus"]
    assert refit["title_in_text"] is False and refit["title_decision"]["decided_by"] == "auto"
    told = build(str(papers), cfg("always"), store, name="run", refit=True).manifest["corpus"]
    assert told["title_in_text"] is True
    # Back to "auto": the explicit choice is not carried on, the rule decides again.
    again = build(str(speeches), cfg(), store, name="run", refit=True).manifest["corpus"]
    assert again["title_in_text"] is False


# --------------------------------------------------------------------------- keys


def old_run_key(corpus_hash: str, config: Config) -> str:
    """``run_key`` as it was before the setting: the config without ``title_in_text``."""
    record = settings(config, False)
    for section in ("update", "curation", "alerts"):
        record.pop(section, None)
    record.get("scale", {}).pop("max_memory", None)
    record["ingest"].pop("title_in_text")
    return stable_hash([SCHEMA_VERSION, __version__, corpus_hash, record])


def test_unique_titles_keep_every_key(tmp_path: Path, papers: Path) -> None:
    """The run key is the old computation's, and every stage key is the one the old
    modelled text ("title. text", which "always" gives) makes."""
    store = Store(tmp_path / "cache")
    auto = build(str(papers), cfg(), store, name="auto").manifest
    corpus = ingest(papers, "p", cfg().ingest)
    assert auto["run_key"] == old_run_key(corpus.content_hash(), cfg())
    always = build(str(papers), cfg("always"), store, name="always").manifest
    assert auto["stage_keys"] == always["stage_keys"]
    df = pd.read_csv(papers)
    old = [old_modelled_text(a, b) for a, b in zip(df["title"], df["abstract"], strict=True)]
    old_hashes = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in old]
    from pipeline.stages.base import digest
    from pipeline.stages.embed import embedding_key

    assert auto["stage_keys"]["embed"] == stable_hash(
        [embedding_key(cfg().embed), digest(old_hashes)]
    )


def test_a_corpus_modelled_without_titles_reuses_nothing_made_with_them(
    tmp_path: Path, speeches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run built before the setting (titles modelled: ``decide`` says so here) is not up to
    date for the same corpus and config once titles are left out, and no embedding is reused."""
    store = Store(tmp_path / "cache")
    with monkeypatch.context() as patch:
        patch.setattr("pipeline.stages.ingest.decide", lambda t, m: titles.TitleChoice(True, m))
        before = build(str(speeches), cfg(), store, name="s")
    assert before.manifest["corpus"]["title_in_text"] is True
    emb_before = open_run(before.run_dir).read_array("embeddings.npy")
    after = build(str(speeches), cfg(), store, name="s")
    assert not after.up_to_date and after.manifest["run_key"] != before.manifest["run_key"]
    assert after.timings["embed"]["new_documents"] == 100, "an embedding with titles was reused"
    keys_before, keys_after = before.manifest["stage_keys"], after.manifest["stage_keys"]
    assert all(keys_before[s] != keys_after[s] for s in keys_after)
    emb_after = open_run(after.run_dir).read_array("embeddings.npy")
    assert not np.allclose(emb_before, emb_after)
