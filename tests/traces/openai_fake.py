"""A fake OpenAI-compatible chat server on 127.0.0.1 for the trace tests (named a fake: it is one).

It plays a tiny weather agent: asked with tools and no tool result yet, it calls the first tool
with `{"city": "Paris"}`; otherwise it answers with text (the user's last words, echoed). It
streams when asked (`stream: true`), tool calls included, and reports usage.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "It is sunny in Paris."


def reply(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for a request."""
    tools = body.get("tools") or []
    messages = body.get("messages") or []
    if tools and not any(m.get("role") == "tool" for m in messages):
        name = tools[0]["function"]["name"]
        return {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps({"city": "Paris"})}}]}
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    return {"role": "assistant", "content": ANSWER if tools or "weather" in str(last) else f"echo: {last}"}


def _chunks(model: str, message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model}
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        args = call["function"]["arguments"]
        yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}]},
            "finish_reason": None}]}
        for piece in (args[: len(args) // 2], args[len(args) // 2:]):
            yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": piece}}]}, "finish_reason": None}]}
        finish = "tool_calls"
    else:
        words = message["content"].split(" ")
        for n, word in enumerate(words):
            text = word if n == 0 else " " + word
            yield {**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        finish = "stop"
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
           "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append(body)
            message = reply(body)
            model = body.get("model", "fake-model")
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in _chunks(model, message):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True
                return
            payload = json.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":  # serve until killed (for producers run by hand and the bench)
    with fake_openai() as fake:
        print(fake.url, flush=True)
        threading.Event().wait(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)
