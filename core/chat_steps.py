"""Chat-completion answers as steps, the one mapping the recorder, the trace importers and re-ask share.

An assistant message is text and tool calls. Tool calls become `tool_call` steps (their call id
kept in `metadata.other["tool_call_id"]`); text beside them is the model's `thought`; text alone
is a `thought`, or the `final_answer` when the caller knows it ended the agent's turn. The
recorded output of such a call is the text, or, when it called tools, one JSON object
`{"content", "tool_calls"}` that `parse_output` reads back.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from tape_studio.core.tape import FinalAnswer, StepBase, StepMetadata, Thought, ToolCall


class ChatToolCall(BaseModel):
    """One function call the model asked for."""

    model_config = ConfigDict(frozen=True)

    id: str = ""
    name: str
    arguments: dict[str, JsonValue] = {}


class ChatAnswer(BaseModel):
    """What an assistant message said: text and tool calls."""

    model_config = ConfigDict(frozen=True)

    content: str = ""
    tool_calls: tuple[ChatToolCall, ...] = ()

    def output(self) -> str:
        """The recorded output: the text, or JSON holding text and tool calls."""
        if not self.tool_calls:
            return self.content
        return json.dumps({"content": self.content, "tool_calls": [c.model_dump() for c in self.tool_calls]},
                          ensure_ascii=False)


_NOT_PARAMS = ("model", "messages", "tools", "stream", "stream_options", "base_url", "api_base", "extra_headers",
               "headers", "metadata", "timeout", "functions")
_SECRET_WORDS = ("key", "token", "secret", "auth", "password", "credential")


def safe_params(params: dict[str, Any]) -> dict[str, JsonValue]:
    """The sampling parameters of a request, as JSON: nothing that addresses or authenticates it is kept,
    so a recorded or imported call never stores a key."""
    kept: dict[str, JsonValue] = {}
    for name, value in params.items():
        secret = any(word in name.lower() for word in _SECRET_WORDS) and name not in ("max_tokens", "max_completion_tokens",
                                                                                    "top_logprobs", "logprobs")
        if name in _NOT_PARAMS or secret or value is None:
            continue
        try:
            kept[name] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            continue  # a client object or callback: not part of what the model saw
    return kept


def parse_arguments(raw: Any) -> dict[str, JsonValue]:
    """Tool arguments as a dict: providers send a JSON string, which may be broken or not an object."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_value": value}
    return {}


def answer_of_response(response: Any) -> ChatAnswer:
    """The first choice of a chat-completions response (an openai or litellm object, or its dict)."""
    choices = field_of(response, "choices") or []
    message = field_of(choices[0], "message") if choices else None
    calls = [ChatToolCall(id=str(field_of(c, "id") or ""), name=str(field_of(field_of(c, "function"), "name") or ""),
                          arguments=parse_arguments(field_of(field_of(c, "function"), "arguments")))
             for c in field_of(message, "tool_calls") or []]
    return ChatAnswer(content=str(field_of(message, "content") or ""), tool_calls=tuple(c for c in calls if c.name))


def usage_of_response(response: Any) -> tuple[int, int]:
    """Prompt and completion tokens of a response (0 where it says nothing)."""
    usage = field_of(response, "usage")
    return int(field_of(usage, "prompt_tokens") or 0), int(field_of(usage, "completion_tokens") or 0)


def field_of(value: Any, name: str) -> Any:
    """A field of a response part, whether clients hand out objects or dicts."""
    if value is None:
        return None
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def parse_output(output: str) -> ChatAnswer:
    """The inverse of `ChatAnswer.output` (plain text stays text)."""
    if output.startswith('{"content"'):
        try:
            data = json.loads(output)
            return ChatAnswer(content=data.get("content") or "",
                              tool_calls=tuple(ChatToolCall.model_validate(c) for c in data.get("tool_calls") or []))
        except (ValueError, TypeError):
            pass
    return ChatAnswer(content=output)


def answer_steps(answer: ChatAnswer, final: bool, metadata: StepMetadata | None = None) -> list[StepBase]:
    """The steps one answer made; every step gets `metadata` (provenance), with an id of its own."""
    base = metadata or StepMetadata()
    steps: list[StepBase] = []
    if answer.content and (answer.tool_calls or not final):
        steps.append(Thought(text=answer.content, metadata=base))
    elif answer.content or (final and not answer.tool_calls):
        steps.append(FinalAnswer(text=answer.content, metadata=base))
    for call in answer.tool_calls:
        other = {**base.other, "tool_call_id": call.id} if call.id else base.other
        steps.append(ToolCall(tool=call.name, arguments=call.arguments, metadata=base.model_copy(update={"other": other})))
    return [_numbered(step, n) for n, step in enumerate(steps)] if len(steps) > 1 else steps


def _numbered(step: StepBase, n: int) -> StepBase:
    """Steps of one answer share provenance but not ids: the n-th gets `<id>-<n>` (the first keeps it)."""
    if n == 0:
        return step
    return step.model_copy(update={"metadata": step.metadata.model_copy(update={"id": f"{step.metadata.id}-{n}"})})
