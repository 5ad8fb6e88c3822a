"""A local OpenAI-compatible chat server that misbehaves on demand, for the LLM fault tests.

It listens on 127.0.0.1 on a free port; `fault` picks how it answers every request from now on.
Good answers come from the learning fake, so the built-in agents can complete against it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from provider_shapes import messages_of, reply, shape_of

from tape_studio.core.learning.fake_roles import ROLE_ANSWERS, agent_role
from tape_studio.core.learning.prompts import role_of

FAULTS = ("good", "timeout", "400", "401", "429", "500", "truncated", "malformed", "truncated_stream", "drip", "huge",
          "long")


class FaultServer:
    """State shared with the handler: the current fault and what was asked."""

    def __init__(self) -> None:
        self.fault = "good"
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        self.hold_s = 2.0
        """How long a `timeout` answer stalls: longer than the client's timeout in the tests."""
        self.url = ""
        self.body_chars = 3_000_000
        """Size of the answer a `long` (valid) or `huge` (endless) fault sends."""
        self.sent_bytes = 0
        """Bytes of the last `huge` or `drip` body the client read before it hung up."""
        self.echo_auth = False
        """Error bodies quote the request's credentials back, as some providers and proxies do."""


def _answer(messages: list[dict[str, Any]]) -> str:
    system = str(messages[0].get("content", "")) if messages else ""
    role = role_of(system) or agent_role(system)
    return ROLE_ANSWERS[role](messages)


def _completion(text: str) -> bytes:
    return json.dumps({
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }).encode()


def _handler(state: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (its timeout): exactly what a timeout test provokes

        def _answer(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append(body)
            state.paths.append(self.path)
            state.times.append(time.monotonic())
            state.headers.append(dict(self.headers))
            fault = state.fault
            if fault == "timeout":
                time.sleep(state.hold_s)
                return self._send(200, _completion("too late"))
            if fault in ("400", "401", "429", "500"):
                message = f"test server says {fault}"
                if state.echo_auth:
                    credentials = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
                    message = f"Invalid key provided: {credentials}"
                error = {"error": {"message": message, "type": "server_error", "code": fault}}
                return self._send(int(fault), json.dumps(error).encode())
            if fault == "malformed":
                return self._send(200, b'{"choices": [{"message": {"content": "unterminated')
            if fault == "truncated":
                # Promises more bytes than it sends, then hangs up: a connection cut mid-body.
                payload = _completion("cut short")
                return self._send(200, payload[: len(payload) // 2], length=len(payload))
            if fault == "drip":
                return self._drip(_completion("slowly"))
            if fault == "huge":
                return self._endless()
            if fault == "long":
                return self._send(200, _completion("x" * state.body_chars))
            if fault == "truncated_stream":
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(b'data: {"id": "x", "choices": [{"index": 0, "delta": {"content": "par')
                self.wfile.flush()
                self.close_connection = True
                return None
            shape = shape_of(self.path)  # the good answer, in the shape of the provider it poses as
            text = "" if shape == "ollama_show" else _answer(messages_of(shape, body))
            return self._send(200, reply(shape, body, text))

        def _drip(self, payload: bytes) -> None:
            """A valid answer sent one byte a second: every read succeeds, the whole never arrives."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            state.sent_bytes = 0
            for byte in payload:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                state.sent_bytes += 1
                time.sleep(1.0)

        def _endless(self) -> None:
            """An answer whose content never ends (no length given): only the client can stop it."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.close_connection = True
            head = b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "'
            self.wfile.write(head)
            state.sent_bytes = len(head)
            chunk = b"x" * 65536
            while state.sent_bytes < 2_000_000_000:
                self.wfile.write(chunk)
                state.sent_bytes += len(chunk)

        def _send(self, status: int, payload: bytes, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(length if length is not None else len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            self.close_connection = True

    return Handler


@contextmanager
def fault_server() -> Iterator[FaultServer]:
    state = FaultServer()
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
