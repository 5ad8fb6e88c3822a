"""What bench/probes.py runs its probes with: children under time and memory limits, the verdict
of a finished child, scratch stores and bundles, and a local model server that misbehaves on
demand (OpenAI- and Anthropic-shaped)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HELD, CLEAR, BROKEN = "held", "clear error", "broken"
MEMORY_LIMIT = 2 * 2**30
TIMEOUT_S = 60
KEY = "sk-probe-0penAIsecretKEY-4f9a1c"


@dataclass
class Outcome:
    verdict: str
    detail: str = ""


@dataclass(frozen=True)
class Probe:
    area: str
    name: str
    run: Callable[[Path], Outcome]


PROBES: list[Probe] = []


def probe(area: str, name: str) -> Callable[[Callable[[Path], Outcome]], Callable[[Path], Outcome]]:
    def register(fn: Callable[[Path], Outcome]) -> Callable[[Path], Outcome]:
        PROBES.append(Probe(area, name, fn))
        return fn
    return register


# --- running children ----------------------------------------------------------------------------


def _limits(extra: Callable[[], None] | None = None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if extra is not None:
            extra()
    return apply


def child(argv: list[str | bytes], home: Path, timeout: float = TIMEOUT_S, env: dict[str, str] | None = None,
          preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str] | None:
    """Runs a child; None when it outlived `timeout` (it is killed, with its group)."""
    environment = {**os.environ, "TAPE_STUDIO_HOME": str(home), "TAPE_STUDIO_LLM_MODE": "live", **(env or {})}
    process = subprocess.Popen([sys.executable, *argv], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace", preexec_fn=_limits(preexec),
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def cli(*args: str | bytes, home: Path, store: Path | None = None, **options: Any) -> subprocess.CompletedProcess[str] | None:
    tail = ["--store", str(store)] if store is not None else []
    return child(["-m", "tape_studio.studio.cli", *args, *tail], home, **options)


def python(code: str, home: Path, **options: Any) -> subprocess.CompletedProcess[str] | None:
    return child(["-c", code], home, **options)


def judged(done: subprocess.CompletedProcess[str] | None, timeout: float = TIMEOUT_S) -> Outcome:
    """held (status 0), clear error (one stderr line, no traceback) or broken."""
    if done is None:
        return Outcome(BROKEN, f"hung: killed after {timeout:.0f} s")
    if "Traceback" in done.stderr or "MemoryError" in done.stderr:
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:]
        return Outcome(BROKEN, f"traceback: {last[0][:100] if last else ''}")
    if done.returncode == 0:
        return Outcome(HELD)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if len(lines) == 1:
        return Outcome(CLEAR, lines[0].removeprefix("tape-studio: error: "))
    if done.returncode < 0:
        return Outcome(BROKEN, f"killed by signal {-done.returncode}")
    return Outcome(BROKEN, f"exit {done.returncode}, {len(lines)} lines on stderr")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def bundle_text(n: int = 3, title: str = "probe", size: int = 50, same_id: bool = False, prefix: str = "") -> str:
    now = "2025-01-01T00:00:00+00:00"
    tapes = [{"metadata": {"id": "same" if same_id else f"probe-{prefix or title}-{i}", "title": f"{title} {i}",
                           "status": "completed", "created_at": now},
              "steps": [{"kind": "task", "text": f"question {i}"}, {"kind": "thought", "text": "x" * size}]
              + ([{"kind": "thought", "text": "extra"}] if same_id and i else [])} for i in range(n)]
    return json.dumps({"format": "tape-studio", "tapes": tapes, "llm_calls": []})


def seeded_store(folder: Path, n: int = 40) -> Path:
    source = folder / "seed.json"
    source.write_text(bundle_text(n, "seed", 200))
    store = folder / "store.sqlite"
    done = cli("import", str(source), home=folder, store=store)
    assert done is not None and done.returncode == 0, done and done.stderr
    sql(store, "SELECT 1")
    return store


def tapes_in(store: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT id, status FROM tapes").fetchall())
    finally:
        conn.close()


# --- a local model server ------------------------------------------------------------------------


class Server:
    """An OpenAI- (and Anthropic-) shaped chat server on 127.0.0.1 that misbehaves on demand."""

    def __init__(self, mode: str = "good") -> None:
        self.mode, self.sent, self.requests = mode, 0, []
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _answer(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append(body)
                if server.mode == "echo":
                    return self._send(401, json.dumps({"error": {"message": "Invalid key provided: "
                                                                 + str(self.headers.get("Authorization"))}}).encode())
                text = _answer_for(body)
                if server.mode == "drip":
                    return self._drip(_openai(text))
                if server.mode == "huge":
                    return self._send(200, _openai("x" * 50_000_000))
                if self.path.endswith("/messages"):
                    return self._send(200, _anthropic(body, text))
                return self._send(200, _openai(text))

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _drip(self, payload: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                for byte in payload:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1.0)

        return Handler


def _answer_for(body: dict[str, Any]) -> str:
    system = str(body.get("system") or (body.get("messages") or [{}])[0].get("content", ""))
    if "choosing one tool" in system:
        return '{"thought": "Look it up.", "tool": "lookup", "input": "France"}'
    return '{"answer": "Paris"}'


def _openai(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "probe",
                       "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}).encode()


def _anthropic(body: dict[str, Any], text: str) -> bytes:
    tools = [tool["name"] for tool in body.get("tools", [])]
    content = {"type": "tool_use", "id": "t", "name": tools[0], "input": json.loads(text)} if tools else {"type": "text", "text": text}
    return json.dumps({"id": "m", "type": "message", "role": "assistant", "model": body.get("model"), "content": [content],
                       "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 5}}).encode()


@contextmanager
def model_server(mode: str = "good") -> Iterator[Server]:
    server = Server(mode)
    try:
        yield server
    finally:
        server.close()


def keyed_env(server: Server) -> dict[str, str]:
    return {"OPENAI_API_BASE": f"{server.url}/v1", "OPENAI_API_KEY": KEY, "TAPE_STUDIO_MODEL": "openai/probe-model"}
