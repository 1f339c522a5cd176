"""Phrases: how documents are cut into the terms topic keywords are made of.

Words keep inner hyphens ("in-context"), n-grams never cross punctuation, and the
boilerplate of abstracts and web pages is a stop word. Text from social media loses its
retweet markers, @handles, account names and links here, in what keywords are made of
only: the documents' text stays as written. Shared by the topics' keywords
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
# What keywords leave out of social-media text. Every pattern starts with a literal
# ("@", "http", ".", "&") so the regex engine skips ahead: cleaning costs a small share
# of the tokenising it precedes, on corpora that have none of it too.
HANDLE_RE = re.compile(r"@(\w{1,30})")
LINK_RE = re.compile(r"https?\S*|www\.\S*")  # whole or cut short ("http…")
DOMAIN_RE = re.compile(r"\.(?:com|org|net|ly|co|io|gov|edu|me|tv|gl|uk)\b(?:/\S*)?")
DOMAIN_HEAD = re.compile(r"[\w.-]+$")
ENTITY_RE = re.compile(r"&(?:amp|lt|gt|quot|#\d+);")
RETWEET_RE = re.compile(r"(?<!\w)[rRmM][tT]:?\s*$")  # "RT @user", "MT @user", "rt: @user"


def _social_spans(doc: str) -> list[tuple[int, int]]:
    """Where ``doc`` holds a link, an @handle with its retweet marker, or an HTML entity."""
    spans: list[tuple[int, int]] = []
    if "@" in doc:
        for m in HANDLE_RE.finditer(doc):
            s = m.start()
            if s and (doc[s - 1].isalnum() or doc[s - 1] in "._@"):
                continue  # an e-mail address, "recall@10"
            marker = RETWEET_RE.search(doc, max(0, s - 6), s)
            spans.append((marker.start() if marker else s, m.end()))
    if "http" in doc or "www." in doc:
        spans += [m.span() for m in LINK_RE.finditer(doc)]
    if "." in doc:
        for m in DOMAIN_RE.finditer(doc):
            head = DOMAIN_HEAD.search(doc, max(0, m.start() - 64), m.start())
            if head:  # "bit.ly/x", "www.cnn.com", "cnn.com"
                spans.append((head.start(), m.end()))
    if "&" in doc:
        spans += [m.span() for m in ENTITY_RE.finditer(doc)]
    if doc[:3].lower() in ("rt ", "rt:"):
        spans.append((0, 3))
    return spans


def social_text(doc: str) -> str:
    """``doc`` without links, @handles, retweet markers and HTML entities: what keywords are
    made of (the document itself stays as written)."""
    spans = _social_spans(doc)
    if not spans:
        return doc
    parts, at = [], 0
    for s, e in sorted(spans):
        if e <= at:
            continue
        parts.append(doc[at : max(s, at)])
        at = e
    parts.append(doc[at:])
    return " ".join(parts)


def account_names(texts: list[str]) -> frozenset[str]:
    """Every name the corpus uses as an @handle: not a keyword even where written without the @."""
    names: set[str] = set()
    for t in texts:
        if "@" in t:
            names.update(
                m.group(1).lower()
                for m in HANDLE_RE.finditer(t)
                if not m.start() or not (t[m.start() - 1].isalnum() or t[m.start() - 1] in "._@")
            )
    return frozenset(names)


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
        for phrase in PHRASE_SPLIT.split(social_text(doc).lower()):
            terms.extend(self._phrase(phrase))
        return terms


def stop_words_for(cfg: RepresentConfig, texts: list[str] | None = None) -> frozenset[str]:
    """The words never made keywords: the stop words, and the account names in ``texts``."""
    names = account_names(texts) if texts is not None else frozenset()
    if cfg.stop_words == "none":
        return names
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOP_WORDS | names
