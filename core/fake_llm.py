"""Fake models for tests and benchmarks, reached through litellm as `fake/<name>`.

They are fakes and named so: a scripted responder stands in for a model so that logic can be
tested and overhead measured without any model. Users never get one by default.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

Responder = Callable[[list[dict[str, Any]], dict[str, Any]], str]
"""Maps (messages, request params) to the model's output text."""

_fakes: dict[str, tuple[Responder, float]] = {}
_lock = threading.Lock()


def register_fake(name: str, respond: Responder, latency_s: float = 0.0) -> str:
    """Registers a fake and returns the model string that reaches it (`fake/<name>`)."""
    with _lock:
        _fakes[name] = (respond, latency_s)
    return f"fake/{name}"


def scripted_fake(name: str, outputs: Iterable[str], latency_s: float = 0.0) -> str:
    """A fake that returns `outputs` in order, one per call, and fails loudly when they run out."""
    queue = deque(outputs)

    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        if not queue:
            raise RuntimeError(f"scripted fake {name!r} ran out of outputs")
        return queue.popleft()

    return register_fake(name, respond, latency_s)


def fake_chat(model: str, request: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped completion from the fake registered under `model` (without `fake/`)."""
    with _lock:
        if model not in _fakes:
            raise KeyError(f"no fake model registered as {model!r}")
        respond, latency_s = _fakes[model]
    if latency_s:
        time.sleep(latency_s)
    messages = request["messages"]
    output = respond(messages, request)
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return {
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": output}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(output.split())},
    }
