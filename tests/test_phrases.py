"""Phrases (pipeline.stages.phrases): the terms keywords are made of."""

from __future__ import annotations

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
