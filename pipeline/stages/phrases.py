"""Phrases: how documents are cut into the terms topic keywords are made of.

Words keep inner hyphens ("in-context"), n-grams never cross punctuation, and the
boilerplate of abstracts and web pages is a stop word. Shared by the topics' keywords
(``pipeline.stages.represent``) and the keywords per period (``pipeline.stages.keywords``).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable

from pipeline.config import RepresentConfig

# Words of 2+ characters, keeping inner hyphens ("in-context", "gpt-4"), starting with a letter.
TOKEN_RE = re.compile(r"(?u)\b[^\W\d_](?:\w|-(?=\w))+\b")
# N-grams never cross punctuation: "in-context learning (ICL) improves" must not yield "learning icl".
PHRASE_SPLIT = re.compile(r"[.,;:!?()\[\]{}\"“”‘’|/\\]|\s[-–—]\s")
# Boilerplate of abstracts and web scrapes that c-TF-IDF would otherwise rank as topical.
EXTRA_STOP_WORDS = frozenset(
    [
        "paper",
        "propose",
        "proposed",
        "proposes",
        "present",
        "presents",
        "presented",
        "show",
        "shows",
        "shown",
        "using",
        "use",
        "used",
        "uses",
        "based",
        "approach",
        "approaches",
        "method",
        "methods",
        "result",
        "results",
        "work",
        "works",
        "study",
        "studies",
        "new",
        "novel",
        "existing",
        "including",
        "demonstrate",
        "demonstrates",
        "achieve",
        "achieves",
        "achieved",
        "et",
        "al",
        "however",
        "furthermore",
        "respectively",
        "significantly",
        "state-of-the-art",
        "extensive",
        "experiments",
        "experimental",
        "code",
        "https",
        "http",
        "www",
        "com",
        "github",
        "org",
        "available",
        "introduce",
        "introduces",
        "introduced",
        "address",
        "addresses",
        "recent",
        "recently",
        "various",
        "different",
        "provide",
        "provides",
        "effective",
        "effectively",
        "improve",
        "improves",
        "improved",
        "significant",
    ]
)


def _phrase_terms(stop_words: frozenset[str], ngram_max: int, phrase: str) -> tuple[str, ...]:
    toks = TOKEN_RE.findall(phrase)
    ok = [t not in stop_words and len(t) > 1 for t in toks]
    terms: list[str] = []
    for n in range(1, ngram_max + 1):
        for i in range(len(toks) - n + 1):
            if all(ok[i : i + n]) and (n == 1 or len(set(toks[i : i + n])) == n):
                terms.append(" ".join(toks[i : i + n]))
    return tuple(terms)


_PHRASE_MEMOS: dict[tuple[frozenset[str], int], Callable[[str], tuple[str, ...]]] = {}
_PHRASE_MEMOS_LOCK = threading.Lock()


def _phrase_memo(stop_words: frozenset[str], ngram_max: int) -> Callable[[str], tuple[str, ...]]:
    """One memo per tokenisation, shared by every analyzer in the process."""
    key = (stop_words, ngram_max)
    with _PHRASE_MEMOS_LOCK:
        if key not in _PHRASE_MEMOS:
            _PHRASE_MEMOS[key] = functools.lru_cache(maxsize=500_000)(
                functools.partial(_phrase_terms, stop_words, ngram_max)
            )
        return _PHRASE_MEMOS[key]


class PhraseAnalyzer:
    """CountVectorizer analyzer: n-grams within punctuation-free phrases, no stop-word edges."""

    def __init__(self, stop_words: frozenset[str], ngram_max: int) -> None:
        self.stop_words = stop_words
        self.ngram_max = ngram_max
        # c-TF-IDF, the hierarchy and the per-period keywords (trends) re-analyse the same
        # sentences in different concatenations; one memo per tokenisation, shared across
        # analyzers and stages, makes every analysis after the first nearly free.
        self._phrase = _phrase_memo(stop_words, ngram_max)

    def __call__(self, doc: str) -> list[str]:
        terms: list[str] = []
        for phrase in PHRASE_SPLIT.split(doc.lower()):
            terms.extend(self._phrase(phrase))
        return terms


def stop_words_for(cfg: RepresentConfig) -> frozenset[str]:
    if cfg.stop_words == "none":
        return frozenset()
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOP_WORDS
