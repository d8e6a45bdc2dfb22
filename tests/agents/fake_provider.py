"""A local stand-in for an LLM provider: the OpenAI ``/v1/chat/completions`` protocol over HTTP.

Tests script what it answers, one entry per request, and read back every request it received::

    with FakeProvider() as provider:
        provider.script(reply("I look around.\n```bash\nls\n```", usage=(120, 15)),
                        error(429), reply("...")
        ...  # point litellm at provider.api_base
        assert provider.requests[0]["model"] == "fake-model"

When the script runs out it keeps answering with ``fallback`` (a reply that submits).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted answer: a reply (content and/or tool calls) or an HTTP error."""

    content: str | None = None
    tool_calls: list[dict] = field(default_factory=list)
    usage: tuple[int, int] | None = None  # (prompt tokens, completion tokens); None: counted
    status: int = 200
    error_body: dict | None = None
    delay: float = 0.0
    raw_body: bytes | None = None  # sent as is (a broken provider)


def reply(content: str, usage: tuple[int, int] | None = None) -> Answer:
    return Answer(content=content, usage=usage)


def tool_call(name: str, arguments: dict, content: str = "", usage: tuple[int, int] | None = None) -> Answer:
    call = {"id": f"call_{name}_{time.monotonic_ns()}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}
    return Answer(content=content, tool_calls=[call], usage=usage)


def error(status: int, message: str = "", code: str | None = None) -> Answer:
    body = {"error": {"message": message or f"fake provider error {status}",
                      "type": "server_error" if status >= 500 else "invalid_request_error",
                      "code": code}}
    return Answer(status=status, error_body=body)


def count_tokens(text: str) -> int:
    """A rough count (4 characters a token), enough for a provider's usage block."""
    return max(1, len(text) // 4)


class FakeProvider:
    """An OpenAI-compatible HTTP server on a free loopback port, answering from a script."""

    def __init__(self, fallback: Answer | None = None, model: str = "fake-model"):
        self.model = model
        self.fallback = fallback or reply("Nothing left to do.\n```\nsubmit\n```")
        self.requests: list[dict] = []
        self.headers: list[dict] = []  # lower-case names
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def remaining(self) -> int:
        return len(self._script)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: dict, headers: dict) -> Answer:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            return self._script.popleft() if self._script else self.fallback

    def _completion(self, request: dict, answer: Answer) -> dict:
        prompt = json.dumps(request.get("messages", []))
        content = answer.content
        if answer.usage is not None:
            prompt_tokens, completion_tokens = answer.usage
        else:
            prompt_tokens = count_tokens(prompt)
            completion_tokens = count_tokens((content or "") + json.dumps(answer.tool_calls))
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if answer.tool_calls:
            message["tool_calls"] = answer.tool_calls
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if answer.tool_calls else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def _handler_class(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    body = {"object": "list", "data": [{"id": provider.model, "object": "model"}]}
                    self._send(200, json.dumps(body).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, b'{"error": {"message": "body is not JSON"}}')
                    return
                answer = provider._next(request, {k.lower(): v for k, v in self.headers.items()})
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.raw_body is not None:
                    self._send(answer.status, answer.raw_body)
                elif answer.status != 200:
                    self._send(answer.status, json.dumps(answer.error_body).encode())
                else:
                    self._send(200, json.dumps(provider._completion(request, answer)).encode())

        return Handler
