"""The chat-completions client that names one topic: the prompt, the request, a strict parse.

Any OpenAI-compatible server answers ``POST <base_url>/chat/completions``; the standard
library is enough for one JSON request, so no SDK is needed. Every way a request can go
wrong (a timeout, a refused connection, an HTTP error, an answer that is not the JSON
asked for, a refusal) raises ``LabelFailure`` with a short reason: the caller keeps the
topic's keyword label. The answer is untrusted text: it is cut down to plain words and a
few punctuation marks before it becomes a label.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any

from pipeline.settings.base import stable_hash
from pipeline.settings.llm import LLMConfig
from pipeline.stages.phrases import social_text

SYSTEM = (
    "You name the topics a topic model found in a collection of documents. "
    'Answer with a JSON object of the form {"label": "..."} and nothing else. '
    "The label is a short, specific noun phrase of 2 to 6 words in the language of the "
    "documents, without quotes, hashtags, @handles, links or final punctuation."
)
USER = "Keywords: {keywords}\n\nRepresentative documents:\n{snippets}"
AGAIN = '\n\nThe label "{taken}" is already used by another topic: give a different, more specific label.'
MAX_LABEL_CHARS = 60
MAX_LABEL_WORDS = 8
# Characters a label may keep: letters, digits and these (no markup, no control characters).
LABEL_PUNCTUATION = frozenset(" -,.'&/()+:;!?%")
REFUSALS = ("i'm sorry", "i am sorry", "i cannot", "i can't", "as an ai", "i apologize")


class LabelFailure(Exception):
    """Why a topic keeps its keyword label (one short line, never the API key)."""


def prompt_key(cfg: LLMConfig) -> str:
    """What the label cache is keyed by besides the keywords: the model and the prompt."""
    return stable_hash([cfg.model, SYSTEM, USER, AGAIN, cfg.max_snippets, cfg.snippet_chars])


def api_key(cfg: LLMConfig) -> str | None:
    """The key from the environment variable ``api_key_env`` names (None: send no key).

    Raises ``LabelFailure`` when the variable is named but not set, so nothing is sent
    without the key the user asked for.
    """
    if cfg.api_key_env is None:
        return None
    key = os.environ.get(cfg.api_key_env)
    if not key:
        raise LabelFailure(
            f"the environment variable {cfg.api_key_env} ([llm] api_key_env) is not set"
        )
    return key


def messages(
    keywords: list[str], snippets: list[str], cfg: LLMConfig, taken: str | None = None
) -> list[dict[str, str]]:
    """The chat messages for one topic; ``taken`` is a label to avoid (a sibling's)."""
    cut = [" ".join(s.split())[: cfg.snippet_chars] for s in snippets[: cfg.max_snippets]]
    user = USER.format(
        keywords=", ".join(keywords),
        snippets="\n".join(f"{i}. {s}" for i, s in enumerate(cut, 1)) or "(none)",
    )
    if taken is not None:
        user += AGAIN.format(taken=taken)
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def ask(cfg: LLMConfig, key: str | None, chat: list[dict[str, str]]) -> str:
    """One request; the cleaned label, or ``LabelFailure``."""
    payload: dict[str, Any] = {
        "model": cfg.model,
        "messages": chat,
        "temperature": 0,
        "max_tokens": 64,
    }
    if cfg.json_mode:
        payload["response_format"] = {"type": "json_object"}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        cfg.base_url.rstrip("/") + "/chat/completions",
        data=json.dumps(payload).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout) as response:  # noqa: S310
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        raise LabelFailure(f"HTTP {exc.code} from the server") from None
    except TimeoutError:
        raise LabelFailure(f"no answer within {cfg.timeout:g} s ([llm] timeout)") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise LabelFailure(f"no answer within {cfg.timeout:g} s ([llm] timeout)") from None
        raise LabelFailure(f"cannot reach {cfg.base_url} ({type(reason).__name__})") from None
    return parse_answer(body)


def parse_answer(body: bytes) -> str:
    """The label in a chat-completions response, parsed strictly.

    The response must be JSON with ``choices[0].message.content`` holding a JSON object
    whose ``label`` is a non-empty string (one Markdown code fence around it is allowed:
    small local models add one even in JSON mode). A refusal is a failure.
    """
    try:
        message = json.loads(body)["choices"][0]["message"]
        if message.get("refusal"):
            raise LabelFailure("the model refused")
        content = message["content"].strip()
    except LabelFailure:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise LabelFailure("not a chat-completions response") from None
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", content, re.S)
    if fenced:
        content = fenced.group(1)
    try:
        answer = json.loads(content)
    except ValueError:
        raise LabelFailure("the answer is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("label"), str):
        raise LabelFailure('the answer has no "label" string')
    label = clean_label(answer["label"])
    if not label:
        raise LabelFailure("the label is empty")
    if label.lower().startswith(REFUSALS):
        raise LabelFailure("the model refused")
    return label


def clean_label(text: str) -> str:
    """Untrusted text made a plain label: no links or @handles, no markup or control
    characters, one line, at most MAX_LABEL_WORDS words and MAX_LABEL_CHARS characters."""
    text = social_text(text)
    kept = "".join(c if c.isalnum() or c in LABEL_PUNCTUATION else " " for c in text)
    words = kept.split()[:MAX_LABEL_WORDS]
    label = " ".join(words)
    if len(label) > MAX_LABEL_CHARS:
        label = label[:MAX_LABEL_CHARS].rsplit(" ", 1)[0]
    return label.strip(" -,.:;/&+")
