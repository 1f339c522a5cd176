"""A fake OpenAI-compatible chat-completions server on loopback, for the LLM label tests.

``mode`` says how it answers: ``ok`` (a label made from the topic's first keyword),
``slow`` (after ``delay`` seconds), ``error`` (HTTP 500), ``badjson`` (content that is not
JSON), ``dup`` (the same label for every topic until asked again), ``refuse`` (a refusal).
Every request is recorded (path, headers, body) so tests can count and inspect them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeLLM:
    mode: str = "ok"
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, body: dict[str, Any]) -> tuple[int, bytes]:
        user = body["messages"][-1]["content"]
        first = re.search(r"Keywords: ([^,\n]*)", user)
        label = f"Studies of {first.group(1) if first else 'nothing'}"
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "error":
            return 500, b'{"error": "boom"}'
        content = json.dumps({"label": label})
        if self.mode == "badjson":
            content = "Sure! The label is: " + label
        elif self.mode == "dup" and "already used" not in user:
            content = json.dumps({"label": "Same label"})
        elif self.mode == "refuse":
            content = json.dumps({"label": "I'm sorry, I cannot help with that."})
        reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        return 200, json.dumps(reply).encode()


@contextmanager
def fake_llm(mode: str = "ok", delay: float = 0.0) -> Iterator[FakeLLM]:
    """A running fake server (a thread on 127.0.0.1, a free port), stopped on exit."""
    fake = FakeLLM(mode=mode, delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, payload = fake.answer(body)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
