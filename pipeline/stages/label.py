"""The label stage: topic labels from an LLM when ``[represent] labels = "llm"``.

Runs after the topics are described (``represent`` and ``hierarchy`` in a build,
``describe`` in an update) and is never stage-cached: its answers are cached per topic
instead, by the topic's keyword fingerprint plus the model and prompt
(``LabelCache``), so an update asks only about topics whose keywords changed, and a
topic the server could not name (a fallback) is asked again at the next build. Labels are
unique among all of a run's topics (so among siblings in the hierarchy too): a duplicate
is asked again up to ``[llm] retries`` times, then told apart by a keyword. Nothing here
can fail a build: every failure keeps the topic's keyword label, with one warning.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import Config
from pipeline.settings.base import stable_hash
from pipeline.settings.llm import LLMConfig
from pipeline.stages.base import Context
from pipeline.stages.llm import LabelFailure, api_key, ask, clean_label, messages, prompt_key
from pipeline.stages.represent import make_label

log = logging.getLogger("topictrends")
LABEL_DIR = "labels"  # under the cache root: one JSON file per labelled keyword fingerprint

Ask = Callable[[list[dict[str, str]]], "str | None"]


class LabelCache:
    """LLM labels by fingerprint, one small JSON file each (atomic rename; never pickle).

    One file per fingerprint means concurrent builds of different runs never rewrite each
    other's entries. A file that cannot be read is a miss.
    """

    def __init__(self, root: Path) -> None:
        self.dir = root / LABEL_DIR

    def get(self, fingerprint: str) -> str | None:
        try:
            data = json.loads((self.dir / f"{fingerprint}.json").read_text(encoding="utf-8"))
            return clean_label(data["label"]) or None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, fingerprint: str, label: str, model: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{fingerprint}.json"
        tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
        tmp.write_text(json.dumps({"label": label, "model": model}) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def fingerprint(keywords: list[str], prompt: str) -> str:
    return stable_hash([list(keywords), prompt])


class Asker:
    """Requests with a breaker: after ``max_failures`` failures in a row, stop asking."""

    def __init__(self, cfg: LLMConfig, key: str | None) -> None:
        self.cfg, self.key = cfg, key
        self.lock = threading.Lock()
        self.requests = 0
        self.in_a_row = 0
        self.reasons: Counter[str] = Counter()

    def __call__(self, chat: list[dict[str, str]]) -> str | None:
        with self.lock:
            if self.in_a_row >= self.cfg.max_failures:
                self.reasons["not asked after repeated failures"] += 1
                return None
            self.requests += 1
        try:
            label = ask(self.cfg, self.key, chat)
        except LabelFailure as exc:
            with self.lock:
                self.in_a_row += 1
                self.reasons[str(exc)] += 1
            return None
        with self.lock:
            self.in_a_row = 0
        return label


def keyword_labels(topics: pd.DataFrame, label_words: int) -> dict[int, str]:
    """Each topic's keyword label, told apart by its id where two are the same (as represent does)."""
    out: dict[int, str] = {}
    used: set[str] = set()
    for t, kws in zip(topics["topic"], topics["keywords"], strict=True):
        label = make_label(list(kws), label_words)
        if label in used:
            label = f"{label} ({t})"
        used.add(label)
        out[int(t)] = label
    return out


def _told_apart(label: str, keywords: list[str], topic: int, seen: set[str]) -> str:
    """A duplicate label made unique deterministically: by its first keyword not in it."""
    for kw in keywords:
        if kw.lower() not in label.lower():
            candidate = f"{label} ({kw})"
            if candidate.casefold() not in seen:
                return candidate
    return f"{label} (topic {topic})"


def _duplicates(
    order: list[int], answers: dict[int, str | None], fallback: dict[int, str]
) -> list[int]:
    """Topics whose LLM label repeats the label of a topic earlier in ``order``."""
    seen: set[str] = set()
    dups = []
    for t in order:
        label = answers.get(t) or fallback[t]
        if label.casefold() in seen and answers.get(t):
            dups.append(t)
        seen.add(label.casefold())
    return dups


def label_topics(
    topics: pd.DataFrame,
    snippets: dict[int, list[str]],
    cfg: Config,
    cache_root: Path,
    asker: Ask | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``topics`` with LLM labels (``label_source`` says which came from the LLM) and counts."""
    llm = cfg.llm
    ids = [int(t) for t in topics["topic"]]
    kws = {int(t): list(k) for t, k in zip(topics["topic"], topics["keywords"], strict=True)}
    fallback = keyword_labels(topics, cfg.represent.label_words)
    answers: dict[int, str | None] = {}
    reasons: Counter[str] = Counter()
    cache = LabelCache(cache_root)
    prompt = prompt_key(llm)
    fps = {t: fingerprint(kws[t], prompt) for t in ids}
    cached = {t: label for t in ids if (label := cache.get(fps[t]))}
    answers.update(cached)
    requests = 0
    if asker is None:
        try:
            asker = Asker(llm, api_key(llm))
        except LabelFailure as exc:
            reasons[str(exc)] += len(ids) - len(cached)
            asker = lambda chat: None  # noqa: E731 - nothing is sent without the key
    todo = [t for t in ids if t not in cached]

    def one(t: int, taken: str | None = None) -> str | None:
        return asker(messages(kws[t], snippets.get(t, []), llm, taken))

    with ThreadPoolExecutor(max_workers=llm.concurrency) as pool:
        answers.update(zip(todo, pool.map(one, todo), strict=True))
        pos = {t: i for i, t in enumerate(ids)}
        order = sorted(ids, key=lambda t: (t not in cached, pos[t]))
        for _ in range(llm.retries):
            dups = _duplicates(order, answers, fallback)
            if not dups:
                break
            again = list(pool.map(lambda t: one(t, answers[t]), dups))
            answers.update({t: a for t, a in zip(dups, again, strict=True) if a})
    if isinstance(asker, Asker):
        requests, reasons = asker.requests, reasons + asker.reasons
    final, source, seen = {}, {}, set()
    for t in order:
        label = answers.get(t) or fallback[t]
        if label.casefold() in seen:
            label = _told_apart(label, kws[t], t, seen)
        seen.add(label.casefold())
        final[t], source[t] = label, "llm" if answers.get(t) else "keywords"
    for t in ids:
        if source[t] == "llm" and cached.get(t) != final[t]:
            cache.put(fps[t], final[t], llm.model)  # never a fallback label
    failed = sum(1 for t in ids if source[t] == "keywords")
    if failed:
        why = "; ".join(f"{r} ({n})" for r, n in reasons.most_common(3))
        log.warning(
            "LLM labels: %d of %d topics keep their keyword label: %s", failed, len(ids), why
        )
    out = topics.copy()
    out["label"] = [final[t] for t in ids]
    out["label_source"] = [source[t] for t in ids]
    info = {"requests": requests, "from_cache": len(cached), "fallback": failed}
    return out, info


def _snippets(topics: pd.DataFrame, texts: list[str], doc_ids: list[str]) -> dict[int, list[str]]:
    """Each topic's representative documents' text (the ones nearest its centroid)."""
    need = {d for ids in topics["representative_doc_ids"] for d in ids}
    by_id = {d: texts[i] for i, d in enumerate(doc_ids) if d in need}
    return {
        int(t): [by_id[d] for d in ids if d in by_id]
        for t, ids in zip(topics["topic"], topics["representative_doc_ids"], strict=True)
    }


def run(ctx: Context) -> dict[str, Any]:
    """The label stage: LLM labels, or (the default) the keyword labels left as they are."""
    topics = ctx.get("topics")
    if ctx.cfg.represent.labels != "llm":
        if "label_source" in topics.columns:  # an update of a run once labelled by an LLM
            topics = topics.assign(label_source=topics["label_source"].fillna("keywords"))
        return {"topics": topics}
    snippets = _snippets(topics, ctx.inputs["texts"], ctx.inputs["doc_ids"])
    topics, info = label_topics(topics, snippets, ctx.cfg, ctx.store.root)
    ctx.record.update(info)
    return {"topics": topics}
