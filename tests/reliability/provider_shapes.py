"""The fault server's disguises: the request and answer shapes of a few providers' chat APIs, so
that litellm's real provider code (not only its OpenAI path) talks to a server on 127.0.0.1.

Each shape turns a request into plain chat messages (for the learning fake to answer) and the
fake's text into that provider's answer. Picked by the request path litellm uses for it.
"""

from __future__ import annotations

import json
import time
from typing import Any

SCHEMA_HINT = "Use this JSON schema"
"""How litellm's Gemini code passes a response schema to a model it knows nothing about: as text."""


def shape_of(path: str) -> str:
    if path.endswith("/api/show"):
        return "ollama_show"  # litellm asks Ollama about the model before chatting
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/api/chat"):
        return "ollama"
    if ":generateContent" in path:
        return "gemini"
    return "openai"


def messages_of(shape: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's chat as `[{role, content}]`, system message first."""
    if shape == "anthropic":
        system = body.get("system") or ""
        system = " ".join(part.get("text", "") for part in system) if isinstance(system, list) else system
        return [{"role": "system", "content": system}, *({"role": m["role"], "content": _text(m["content"])}
                                                         for m in body["messages"])]
    if shape == "gemini":
        # The system text leads the first turn; the question is the last turn (after any worked example).
        turns = [[part.get("text", "") for part in turn["parts"]] for turn in body["contents"]]
        question = [part for part in turns[-1][1 if len(turns) == 1 else 0:] if not part.startswith(SCHEMA_HINT)]
        return [{"role": "system", "content": turns[0][0]}, {"role": "user", "content": "\n".join(question)}]
    return [{"role": m["role"], "content": _text(m.get("content", ""))} for m in body["messages"]]


def reply(shape: str, body: dict[str, Any], text: str) -> bytes:
    """The fake's `text` as this provider would send it back."""
    if shape == "ollama_show":
        return b"{}"
    if shape == "anthropic":
        return json.dumps(_anthropic(body, text)).encode()
    if shape == "ollama":
        return json.dumps({"model": body.get("model"), "created_at": "2025-01-01T00:00:00Z", "done": True,
                           "done_reason": "stop", "message": {"role": "assistant", "content": text},
                           "prompt_eval_count": 5, "eval_count": 5}).encode()
    if shape == "gemini":
        return json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                           "finishReason": "STOP", "index": 0}],
                           "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 5,
                                             "totalTokenCount": 10}}).encode()
    return json.dumps({
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }).encode()


def _anthropic(body: dict[str, Any], text: str) -> dict[str, Any]:
    # litellm asks Anthropic for JSON output through a forced tool call; the answer is then its input.
    tools = [tool["name"] for tool in body.get("tools", [])]
    content: dict[str, Any] = {"type": "text", "text": text}
    if tools:
        try:
            content = {"type": "tool_use", "id": "toolu_test", "name": tools[0], "input": json.loads(text)}
        except json.JSONDecodeError:
            pass
    return {"id": "msg_test", "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [content], "stop_reason": "tool_use" if content["type"] == "tool_use" else "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 5}}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)
