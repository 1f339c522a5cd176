"""Phrases (pipeline.stages.phrases): the terms keywords are made of."""

from __future__ import annotations

import numpy as np

from pipeline.config import RepresentConfig
from pipeline.stages.phrases import PhraseAnalyzer, stop_words_for


def test_ngrams_keep_hyphens_and_never_cross_punctuation_or_stop_words() -> None:
    analyse = PhraseAnalyzer(stop_words_for(RepresentConfig()), 2)
    terms = analyse("In-context learning (ICL) improves the retrieval models.")
    assert "in-context learning" in terms and "icl" in terms
    assert "learning icl" not in terms  # across the parenthesis
    assert not any(t.split()[0] in {"the", "improves"} for t in terms if " " in t)


def test_no_stop_words_when_switched_off() -> None:
    none = stop_words_for(RepresentConfig(stop_words="none"))
    assert none == frozenset()
    assert "the" in PhraseAnalyzer(none, 1)("the model")


def test_social_text_drops_links_handles_retweet_markers_and_entities() -> None:
    from pipeline.stages.phrases import account_names, social_text

    text = (
        "RT @everydayhealth: Cold sore tips http://t.co/AbC123 via @NYTHealth &amp; more "
        "at www.cnn.com/health, bit.ly/3xY or cnn.com http… mail me@mit.edu, Recall@10"
    )
    kept = social_text(text).split()
    for gone in ("RT", "@everydayhealth:", "http://t.co/AbC123", "@NYTHealth", "&amp;", "http…"):
        assert gone not in kept, gone
    assert not [w for w in kept if "cnn" in w or "bit.ly" in w]
    assert {"Cold", "sore", "tips", "via", "more", "Recall@10"} <= set(kept)
    assert social_text("Sport results: start of the season") == "Sport results: start of the season"
    assert account_names([text, "@CNN hi"]) == {"everydayhealth", "nythealth", "cnn"}


def test_account_names_are_not_keywords_even_without_the_at() -> None:
    texts = ["RT @everydayhealth: flu shots now", "everydayhealth says flu shots work"]
    analyse = PhraseAnalyzer(stop_words_for(RepresentConfig(), texts), 2)
    terms = [t for doc in texts for t in analyse(doc)]
    assert "flu shots" in terms
    assert not [t for t in terms if "everydayhealth" in t or t.split()[0] == "rt"]


def test_tweets_build_topics_described_without_social_noise(tmp_path, fast_config) -> None:  # noqa: ANN001
    """A tweet-like corpus: keywords and labels carry no retweet marker, handle, account
    name or link fragment, while documents.parquet keeps every tweet as written."""
    import random

    import pandas as pd

    from pipeline.flows import build
    from pipeline.store.artifacts import open_run
    from pipeline.store.cache import Store
    from tests.conftest import PLANTED_VOCAB

    rng = random.Random(3)
    accounts = ("everydayhealth", "nytscience", "foodnetwork", "nasa_news", "goodhome")
    # Each account writes its own way, so its noise is distinctive of its topic (c-TF-IDF
    # would rank it), as "rt · everydayhealth" was on a real news-tweet corpus.
    styles = (
        "RT @{a}: {w} http://t.co/{x}",
        "{w} http://nyti.ms/{x} via @{a}",
        "{w} &amp; more at www.{a}.com/{x}",
        "{a} says: {w} bit.ly/{x} @{a}",
        "{w} https://t.co/{x}… rt @{a}",
    )
    rows = []
    for (topic, vocab), account, style in zip(PLANTED_VOCAB.items(), accounts, styles, strict=True):
        for i in range(40):
            text = style.format(a=account, w=" ".join(rng.choices(vocab, k=4)), x=f"{i:03x}q")
            rows.append({"id": f"{topic}-{i}", "text": text, "date": f"2015-{i % 12 + 1:02d}-01"})
    corpus = tmp_path / "tweets.csv"
    pd.DataFrame(rows).to_csv(corpus, index=False)
    run = open_run(build(str(corpus), fast_config, Store(tmp_path / "cache")).run_dir)
    topics = run.read_table("topics.parquet")
    per_period = run.read_table("topic_keywords_over_time.parquet")
    words = [w for kws in [*topics["keywords"], *per_period["keywords"]] for w in kws]
    words += " ".join(topics["label"]).replace("·", " ").split()
    noise = {"rt", "amp", "http", "https", "co", "www", "com", "via", "nyti", "ms", "bit", "ly"}
    noise |= set(accounts)
    assert words and not [w for w in words if set(w.split()) & noise], set(words) & noise
    docs = run.read_table("documents.parquet").set_index("doc_id")
    assert set(docs["text"]) == {r["text"] for r in rows}


TOPICS = {
    "jobs": ["wages", "jobs", "workers", "labor", "employment", "unions", "hours"],
    "tariff": ["tariff", "duties", "imports", "customs", "revenue", "trade", "goods"],
    "navy": ["navy", "ships", "fleet", "officers", "harbor", "guns", "sailors"],
}


def _corpus(template: str, per_topic: int = 20) -> tuple[list[str], np.ndarray]:
    """``per_topic`` documents per topic of ``TOPICS``, each ``template`` around 4 of its words."""
    import random

    rng = random.Random(7)
    texts, labels = [], []
    for t, (name, vocab) in enumerate(TOPICS.items()):
        for _ in range(per_topic):
            texts.append(template.format(topic=name, w=" ".join(rng.sample(vocab, 4))))
            labels.append(t)
    return texts, np.array(labels)


# Speeches: "work" only where the topic is jobs; "new" and "present" in every paragraph.
SPEECHES = "{w} at present. New {w}."
# Abstracts: every one proposes a method, shows results and says "in this work".
ABSTRACTS = "In this work we propose a novel method: {w}. Results show the proposed method works."


def _speeches() -> tuple[list[str], np.ndarray]:
    texts, labels = _corpus(SPEECHES)
    return [
        f"{t} Honest work, fair work." if lab == 0 else t
        for t, lab in zip(texts, labels, strict=True)
    ], labels


def test_a_listed_word_is_boilerplate_only_where_no_topic_concentrates_it() -> None:
    from pipeline.stages.phrases import PAPER_STOP_WORDS, boilerplate_words

    texts, labels = _speeches()
    assert PAPER_STOP_WORDS - boilerplate_words(texts, labels) == {"work"}
    texts, labels = _corpus(ABSTRACTS)
    assert boilerplate_words(texts, labels) == PAPER_STOP_WORDS
    auto = stop_words_for(RepresentConfig(), texts, labels)
    assert {"propose", "method", "results", "work", "novel", "https", "the"} <= auto
    # Without the topics there is nothing to tell boilerplate by: the whole list.
    assert stop_words_for(RepresentConfig()) >= PAPER_STOP_WORDS
    papers = stop_words_for(RepresentConfig(boilerplate="papers"), *_speeches())
    none = stop_words_for(RepresentConfig(boilerplate="none"), *_speeches())
    assert "work" in papers and not none & PAPER_STOP_WORDS and {"https", "github"} <= none


def _keywords(texts: list[str], labels: np.ndarray, boilerplate: str) -> dict[int, list[str]]:
    """Each topic's keywords, as the represent stage chooses them, with hashed embeddings."""
    import zlib

    from pipeline.stages.represent import fit_representation

    def encode(words: list[str]) -> np.ndarray:
        vecs = [np.random.default_rng(zlib.crc32(w.encode())).standard_normal(16) for w in words]
        return np.array(vecs) / np.linalg.norm(vecs, axis=1, keepdims=True)

    emb = np.eye(16)[labels] + 0.1 * np.random.default_rng(0).standard_normal((len(labels), 16))
    rep = fit_representation(
        texts,
        (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32),
        labels,
        np.zeros((len(labels), 2)),
        [f"d{i}" for i in range(len(labels))],
        encode,
        RepresentConfig(boilerplate=boilerplate),
    )
    return {int(r.topic): list(r.keywords) for r in rep.topics.itertuples()}


def test_keywords_keep_a_listed_word_where_it_is_a_topic_and_drop_it_where_it_is_boilerplate() -> (
    None
):
    speeches = _keywords(*_speeches(), "auto")
    assert "work" in speeches[0], speeches[0]  # the jobs topic keeps "work" ...
    assert "work" not in _keywords(*_speeches(), "papers")[0]  # ... the old fixed list lost it
    words = {w for kws in speeches.values() for kw in kws for w in kw.split()}
    assert not words & {"new", "present"}, words  # spread over every topic: boilerplate
    abstracts = _keywords(*_corpus(ABSTRACTS), "auto")
    boiler = {"propose", "proposed", "method", "results", "work", "works", "novel", "show"}
    words = {w for kws in abstracts.values() for kw in kws for w in kw.split()}
    assert words and not words & boiler, words & boiler
    kept = {
        w
        for kws in _keywords(*_corpus(ABSTRACTS), "none").values()
        for kw in kws
        for w in kw.split()
    }
    assert kept & boiler  # without the list c-TF-IDF would have made them keywords


def test_dropping_terms_gives_the_terms_of_tokenising_with_those_stop_words() -> None:
    from pipeline.stages.phrases import PAPER_STOP_WORDS

    base = stop_words_for(RepresentConfig(boilerplate="none"))
    docs = [
        "In this work we propose a novel state-of-the-art method: results show new gains.",
        "Paper currency and public works; the proposed line of work (new deal) uses paper.",
        "Work, work work-life balance: code-switching code based on study-based results.",
    ]
    for drop in (PAPER_STOP_WORDS, frozenset({"work", "paper"})):
        for n in (1, 2, 3):
            dropped = PhraseAnalyzer(base, n, drop)
            for doc in docs:
                assert dropped(doc) == PhraseAnalyzer(base | drop, n)(doc), (drop, n, doc)
