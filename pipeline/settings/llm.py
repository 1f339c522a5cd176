"""``[llm]``: the chat-completions server that names topics when ``[represent] labels = "llm"``.

Any OpenAI-compatible server works (llama.cpp's server, Ollama, vLLM, a hosted API). The
API key itself is never a setting: only the name of the environment variable holding it,
so the key is not in the config file, the manifest, the label cache or the logs.
This section enters no stage key and, while labels are keyword labels, not the run key
either (``pipeline.flows.run.settings``): builds that do not use it are keyed as before.
"""

from __future__ import annotations

from pydantic import Field

from pipeline.settings.base import Section


class LLMConfig(Section):
    base_url: str = Field(
        "http://127.0.0.1:8080/v1",
        min_length=1,
        description="OpenAI-compatible API root; requests go to <base_url>/chat/completions (llama.cpp server: http://127.0.0.1:8080/v1, Ollama: http://127.0.0.1:11434/v1).",
    )
    model: str = Field(
        "default",
        min_length=1,
        description="Model name sent with each request; part of the label cache key, so a new model relabels every topic.",
    )
    api_key_env: str | None = Field(
        None,
        description="Name of the environment variable holding the API key, sent as a Bearer token; unset: no key is sent (local servers). The key is never written anywhere.",
    )
    timeout: float = Field(
        30.0,
        gt=0.0,
        le=600.0,
        description="Seconds to wait for one answer before using the keyword label.",
    )
    max_snippets: int = Field(
        3, ge=0, le=10, description="Representative documents sent with a topic's keywords."
    )
    snippet_chars: int = Field(
        300, ge=20, le=4000, description="Each snippet is cut to this many characters."
    )
    retries: int = Field(
        2,
        ge=0,
        le=5,
        description="Times a topic whose label duplicates another topic's is asked again before the label is told apart by a keyword.",
    )
    concurrency: int = Field(4, ge=1, le=32, description="Requests in flight at once.")
    json_mode: bool = Field(
        True,
        description="Ask for a JSON object with response_format (drop it for servers that refuse the field).",
    )
    max_failures: int = Field(
        3,
        ge=1,
        description="After this many failed requests in a row (timeouts, errors), stop asking and use keyword labels for the rest of the build.",
    )
