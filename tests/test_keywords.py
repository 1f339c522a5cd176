"""Keywords over time (pipeline.stages.keywords)."""

from __future__ import annotations

import pandas as pd

from pipeline.config import RepresentConfig
from pipeline.stages.keywords import keywords_over_time
from tests.trends_planted import LATE, labelled_documents


def test_keywords_per_period_never_look_ahead() -> None:
    docs = labelled_documents()
    docs = docs[
        docs["label"].isin(["Federated_Learning", "Keyword_Spotting", "Mamba", LATE])
    ].reset_index(drop=True)
    texts = (docs["title"] + ". " + docs["text"]).tolist()
    codes, names = pd.factorize(docs["label"], sort=True)
    half = len(docs) // 2
    dates = pd.Series(pd.to_datetime(["2022-01-15"] * half + ["2022-02-15"] * (len(docs) - half)))
    rep = RepresentConfig()
    full = keywords_over_time(texts, dates, codes, "month", rep, top_n=5)
    # The same first month with every later document removed gives the same keywords.
    early = keywords_over_time(texts[:half], dates[:half], codes[:half], "month", rep, top_n=5)
    jan = full[full["period_start"] == pd.Timestamp("2022-01-01")].reset_index(drop=True)
    pd.testing.assert_frame_equal(jan, early)
    # And they describe the topic: the federated-learning topic's January keywords say so.
    fl = int(list(names).index("Federated_Learning"))
    kws = jan.loc[jan["topic"] == fl, "keywords"].iloc[0]
    assert len(kws) == 5 and any("federated" in k for k in kws), kws
    assert set(full.columns) == {"topic", "period_start", "count", "keywords", "keyword_weights"}
    assert len(full) > len(jan) and (full.groupby(["topic", "period_start"]).size() == 1).all()


def test_keywords_per_period_count_one_period_at_a_time(monkeypatch) -> None:  # noqa: ANN001
    # Memory is bounded by the largest period's vocabulary: no count matrix of every document.
    from sklearn.feature_extraction.text import CountVectorizer

    seen: list[int] = []
    fit = CountVectorizer.fit_transform

    def spy(self, raw_documents, y=None):  # noqa: ANN001, ANN202
        seen.append(len(raw_documents))
        return fit(self, raw_documents, y)

    monkeypatch.setattr(CountVectorizer, "fit_transform", spy)
    texts = ["alpha beta gamma", "alpha beta delta", "gamma delta epsilon", "beta gamma zeta"] * 3
    dates = pd.Series(pd.to_datetime(["2022-01-10"] * 4 + ["2022-02-10"] * 4 + ["2022-03-10"] * 4))
    out = keywords_over_time(texts, dates, [0, 0, 1, 1] * 3, "month", RepresentConfig(), top_n=2)
    assert seen == [4, 4, 4]
    assert len(out) == 6 and out["period_start"].nunique() == 3


def test_periods_in_parallel_give_the_same_keywords(monkeypatch) -> None:  # noqa: ANN001
    """From ``PARALLEL_MIN`` dated documents the periods are tokenised by several
    processes; the table is the same, row for row, as one process gives."""
    import pipeline.stages.keywords as kw
    from tests.trends_planted import ARXIV

    docs = pd.read_parquet(ARXIV).tail(600).reset_index(drop=True)  # several months
    texts = (docs["title"] + ". " + docs["text"]).tolist()
    dates = pd.Series(pd.to_datetime(docs["date"]))
    codes = pd.factorize(docs["label"], sort=True)[0] % 8
    rep = RepresentConfig()
    one = keywords_over_time(texts, dates, codes, "month", rep, top_n=5)
    monkeypatch.setattr(kw, "PARALLEL_MIN", 0)
    monkeypatch.setattr(kw, "parallel_jobs", lambda n: 2)
    calls: list[int] = []
    real = kw._period
    monkeypatch.setattr(kw, "_period", lambda *a: calls.append(1) or real(*a))
    many = keywords_over_time(texts, dates, codes, "month", rep, top_n=5)
    pd.testing.assert_frame_equal(many, one)
    assert calls == []  # the periods ran in the worker processes, not here


def test_keywords_per_period_tell_boilerplate_by_the_periods_own_documents() -> None:
    from tests.test_phrases import _speeches

    texts, labels = _speeches()  # "work" is a topic only in the jobs topic (0)
    dates = pd.Series(pd.to_datetime(["2022-01-10"] * len(texts)))
    out = keywords_over_time(texts, dates, labels, "month", RepresentConfig(), top_n=10)
    jobs = out.loc[out["topic"] == 0, "keywords"].iloc[0]
    assert "work" in jobs, jobs
    words = {w for kws in out["keywords"] for kw in kws for w in kw.split()}
    assert not words & {"new", "present"}, words
    # A period too small to tell (fewer than 5 documents per topic) keeps the whole list.
    few = keywords_over_time(texts[:4], dates[:4], labels[:4], "month", RepresentConfig())
    assert not any("work" in kw for kw in few["keywords"].iloc[0])
