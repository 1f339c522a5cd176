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

import numpy as np

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


# Link fragments: never a topic, in any corpus.
WEB_STOP_WORDS = frozenset(["https", "http", "www", "com", "org", "github"])
# Boilerplate of paper abstracts ("we propose a novel method ... results show"). On a
# corpus of other writing some are topical ("work" in speeches about jobs, "new" in "New
# Deal"), so under ``[represent] boilerplate = "auto"`` each is a stop word only where the
# corpus uses it as boilerplate (``boilerplate_words``).
PAPER_STOP_WORDS = frozenset(
    [
        "paper",
        "propose",
        "proposed",
        "proposes",
        "present",
        "presents",
        "presented",
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
        "furthermore",
        "respectively",
        "significantly",
        "state-of-the-art",
        "extensive",
        "experiments",
        "experimental",
        "code",
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
MAX_PHRASE_MEMOS = 4


def _phrase_memo(stop_words: frozenset[str], ngram_max: int) -> Callable[[str], tuple[str, ...]]:
    """One memo per tokenisation, shared by every analyzer in the process."""
    key = (stop_words, ngram_max)
    with _PHRASE_MEMOS_LOCK:
        if key not in _PHRASE_MEMOS:
            # The stop words depend on the corpus (its account names): a process that
            # builds many corpora keeps the latest memos only.
            while len(_PHRASE_MEMOS) >= MAX_PHRASE_MEMOS:
                _PHRASE_MEMOS.pop(next(iter(_PHRASE_MEMOS)))
            _PHRASE_MEMOS[key] = functools.lru_cache(maxsize=500_000)(
                functools.partial(_phrase_terms, stop_words, ngram_max)
            )
        return _PHRASE_MEMOS[key]


class PhraseAnalyzer:
    """CountVectorizer analyzer: n-grams within punctuation-free phrases, no stop-word edges.

    ``drop`` are stop words too, told apart per corpus or per period (the paper
    boilerplate, ``paper_words``): leaving out every term that holds one of them gives the
    same terms as tokenising with them as stop words, while the memo stays the one of
    ``stop_words`` alone, shared by the analyzers whose ``drop`` differ.
    """

    def __init__(
        self, stop_words: frozenset[str], ngram_max: int, drop: frozenset[str] = frozenset()
    ) -> None:
        self.stop_words = stop_words
        self.ngram_max = ngram_max
        self.drop = drop
        # c-TF-IDF, the hierarchy and the per-period keywords (trends) re-analyse the same
        # sentences in different concatenations; one memo per tokenisation, shared across
        # analyzers and stages, makes every analysis after the first nearly free.
        self._phrase = _phrase_memo(stop_words, ngram_max)

    def __call__(self, doc: str) -> list[str]:
        terms: list[str] = []
        for phrase in PHRASE_SPLIT.split(social_text(doc).lower()):
            terms.extend(self._phrase(phrase))
        if self.drop:
            drop = self.drop
            terms = [
                t
                for t in terms
                if t not in drop and (" " not in t or drop.isdisjoint(t.split(" ")))
            ]
        return terms


# A listed word is topical where a topic holds it this many times as often as the
# documents outside it do, in at least BOILERPLATE_MIN_DOCS of its documents (chosen on
# the tuning halves of the benchmark corpora, BENCHMARKS.md).
BOILERPLATE_LIFT = 4.0
BOILERPLATE_MIN_DOCS = 5
BOILERPLATE_MAX_DOCS = 20_000  # documents sampled to decide (a seeded sample above that)


def lift(held: np.ndarray, size: np.ndarray) -> np.ndarray:
    """How many times as often each class holds each word as the documents outside it.

    ``held``: documents holding each word, classes x words; ``size``: documents per class
    (outliers a class too: they count as outside every topic)."""
    held = np.asarray(held, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    rest = (held.sum(axis=0) - held) / np.maximum(size.sum() - size, 1)[:, None]
    rate = held / np.maximum(size, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(held > 0, rate / rest, 0.0)


def topical(held: np.ndarray, size: np.ndarray, is_topic: np.ndarray) -> np.ndarray:
    """Per word: whether some topic (a class where ``is_topic``) concentrates it, holding
    it in ``BOILERPLATE_MIN_DOCS`` or more documents at ``BOILERPLATE_LIFT`` times the rate
    of the documents outside it."""
    hit = (np.asarray(held) >= BOILERPLATE_MIN_DOCS) & (lift(held, size) >= BOILERPLATE_LIFT)
    return hit[np.asarray(is_topic, dtype=bool)].any(axis=0)


def concentration(
    texts: list[str],
    labels: np.ndarray,
    words: frozenset[str],
    max_docs: int = BOILERPLATE_MAX_DOCS,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``words`` (sorted), the documents holding each (classes x words) and the documents
    per class: the topics, then the outliers as the last class."""
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(len(texts))
    if len(texts) > max_docs:  # a seeded sample bounds the cost at a million documents
        rows = np.sort(np.random.default_rng(0).choice(len(texts), max_docs, replace=False))
    vocab = sorted(words)
    index = {w: i for i, w in enumerate(vocab)}
    k = int(labels.max()) + 1 if len(labels) and (labels >= 0).any() else 0
    held = np.zeros((k + 1, len(vocab)))  # the last row: outliers
    size = np.zeros(k + 1)
    for r in rows:
        t = labels[r] if labels[r] >= 0 else k
        size[t] += 1
        for w in set(TOKEN_RE.findall(social_text(texts[r]).lower())) & words:
            held[t, index[w]] += 1
    return vocab, held, size


def boilerplate_words(
    texts: list[str],
    labels: np.ndarray,
    words: frozenset[str] = PAPER_STOP_WORDS,
    max_docs: int = BOILERPLATE_MAX_DOCS,
) -> frozenset[str]:
    """The ``words`` this corpus uses as boilerplate: every one that no topic concentrates.

    A word is topical where some topic holds it in at least ``BOILERPLATE_MIN_DOCS`` of its
    documents at ``BOILERPLATE_LIFT`` times the rate of the documents outside that topic
    (outliers included): "work" in a topic about jobs and wages. Everywhere else it is a
    stop word, as it is in abstracts, where "propose" and "method" are spread over every
    topic. The list stays because c-TF-IDF alone ranks such words: their spread lowers
    their weight but not below a small topic's idiosyncrasies.
    """
    vocab, held, size = concentration(texts, labels, words, max_docs)
    hit = topical(held, size, np.arange(len(size)) < len(size) - 1)
    return frozenset(w for w, h in zip(vocab, hit, strict=True) if not h)


def paper_words(
    cfg: RepresentConfig, texts: list[str] | None = None, labels: np.ndarray | None = None
) -> frozenset[str]:
    """The paper boilerplate left out of keywords (``[represent] boilerplate``): under
    "auto", the listed words ``texts`` use as boilerplate (without the topics, ``labels``,
    there is nothing to tell it by: the whole list)."""
    if cfg.boilerplate == "none" or cfg.stop_words == "none":
        return frozenset()
    if cfg.boilerplate == "auto" and texts is not None and labels is not None:
        return boilerplate_words(texts, labels)
    return PAPER_STOP_WORDS


def stop_words_for(
    cfg: RepresentConfig, texts: list[str] | None = None, labels: np.ndarray | None = None
) -> frozenset[str]:
    """The words never made keywords: the stop words, the link fragments, the paper
    boilerplate (``paper_words``), and the account names in ``texts``."""
    return base_stop_words(cfg, texts) | paper_words(cfg, texts, labels)


def base_stop_words(cfg: RepresentConfig, texts: list[str] | None = None) -> frozenset[str]:
    """The stop words that do not depend on the topics: the English ones and the link
    fragments (``[represent] stop_words``), and the account names in ``texts``."""
    names = account_names(texts) if texts is not None else frozenset()
    if cfg.stop_words == "none":
        return names
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | WEB_STOP_WORDS | names


def analyzer_for(
    cfg: RepresentConfig, texts: list[str] | None = None, labels: np.ndarray | None = None
) -> PhraseAnalyzer:
    """The analyzer keywords are made with: ``stop_words_for``'s words, the paper
    boilerplate as ``drop`` so that the memo is shared with the keywords per period."""
    return PhraseAnalyzer(
        base_stop_words(cfg, texts), cfg.ngram_max, paper_words(cfg, texts, labels)
    )
