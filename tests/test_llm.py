"""The chat-completions client: strict parsing, plain labels, every failure one LabelFailure."""

from __future__ import annotations

import json

import pytest

from pipeline.settings.llm import LLMConfig
from pipeline.stages.llm import LabelFailure, ask, clean_label, messages, parse_answer, prompt_key
from tests.llm_server import fake_llm


def _reply(content: str, **message: object) -> bytes:
    return json.dumps({"choices": [{"message": {"content": content, **message}}]}).encode()


def test_parse_answer_takes_the_label_of_a_json_answer() -> None:
    assert parse_answer(_reply('{"label": "Galaxy surveys"}')) == "Galaxy surveys"
    assert parse_answer(_reply('```json\n{"label": "Galaxy surveys"}\n```')) == "Galaxy surveys"


@pytest.mark.parametrize(
    "body",
    [
        b"<html>gateway</html>",
        json.dumps({"choices": []}).encode(),
        _reply("Galaxy surveys"),
        _reply('{"label": 3}'),
        _reply('["Galaxy surveys"]'),
        _reply('{"label": "   "}'),
        _reply('{"label": "I\'m sorry, I cannot help with that."}'),
        _reply("", refusal="I will not"),
    ],
)
def test_parse_answer_refuses_anything_else(body: bytes) -> None:
    with pytest.raises(LabelFailure):
        parse_answer(body)


def test_clean_label_keeps_plain_words_only() -> None:
    raw = "**Cold sores** <script>x</script> `rm` RT @everydayhealth http://t.co/x\n# Tips"
    label = clean_label(raw)
    assert not set(label) & set("*<>`#@\n")
    assert "everydayhealth" not in label and "t.co" not in label and "http" not in label
    assert label.startswith("Cold sores script")
    assert len(clean_label("word " * 50).split()) == 8


def test_messages_cut_snippets_and_name_the_taken_label() -> None:
    cfg = LLMConfig(max_snippets=2, snippet_chars=20)
    chat = messages(["galaxy", "telescope"], ["a" * 100, "b", "c"], cfg, taken="Astronomy")
    user = chat[-1]["content"]
    assert "galaxy, telescope" in user and "a" * 20 in user and "a" * 21 not in user
    assert "3. c" not in user and '"Astronomy" is already used' in user
    assert prompt_key(cfg) != prompt_key(LLMConfig(model="other"))


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("slow", "no answer within"),
        ("error", "HTTP 500"),
        ("badjson", "not JSON"),
        ("refuse", "refused"),
    ],
)
def test_every_failure_is_one_label_failure(mode: str, reason: str) -> None:
    with fake_llm(mode, delay=1.0) as fake:
        cfg = LLMConfig(base_url=fake.url, timeout=0.2)
        with pytest.raises(LabelFailure, match=reason):
            ask(cfg, None, messages(["galaxy"], [], cfg))


def test_ask_posts_a_json_mode_request_with_the_bearer_key() -> None:
    with fake_llm() as fake:
        cfg = LLMConfig(base_url=fake.url + "/", model="m1")
        assert ask(cfg, "sk-test", messages(["galaxy"], ["doc"], cfg)) == "Studies of galaxy"
    (req,) = fake.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["body"]["model"] == "m1" and req["body"]["response_format"]["type"] == "json_object"


def test_an_unreachable_server_is_a_label_failure() -> None:
    with fake_llm() as fake:
        url = fake.url
    with pytest.raises(LabelFailure, match="cannot reach"):
        ask(LLMConfig(base_url=url, timeout=2), None, [])
