"""What a span means, by convention: a model call, a tool run, an agent, or nothing we map.

Readers live in a registry (`SPAN_READERS`), tried in priority order; the first that claims a span
reads it. Built in: OpenInference (`openinference.span.kind`) and the OpenTelemetry GenAI
conventions in all their forms: `gen_ai.input.messages`/`gen_ai.output.messages` (current), message
events inside the span or as log records tied to it (older), and OpenLLMetry's flattened
`gen_ai.prompt.N.*`/`gen_ai.completion.N.*`. Messages come out in the OpenAI chat format, so a
recorded request can be sent again through litellm as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from tape_studio.core.chat_steps import ChatAnswer, ChatToolCall, parse_arguments
from tape_studio.core.interop.traces.spans import LogEvent, Span
from tape_studio.core.registry import BUILTIN, Registry


@dataclass(frozen=True)
class ModelCall:
    """A chat call: the request as sent (OpenAI chat format) and the answer."""

    model: str
    messages: list[dict[str, Any]]
    answer: ChatAnswer
    tools: list[dict[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


@dataclass(frozen=True)
class ToolRun:
    name: str
    call_id: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    result: str = ""


@dataclass(frozen=True)
class AgentRun:
    name: str
    input: str = ""
    output: str = ""


Meaning = Union[ModelCall, ToolRun, AgentRun, None]


@dataclass(frozen=True)
class Reading:
    """A span read by one convention; `used` are the attribute keys it mapped (the rest is kept)."""

    convention: str
    meaning: Meaning
    used: frozenset[str] = frozenset()
    task: str = ""
    """Text a root span offers as the tape's task (its input), if any."""


@dataclass(frozen=True)
class SpanReader:
    """A convention: whether it claims a span, and how it reads one (with the span's log events)."""

    name: str
    claims: Callable[[Span, list[LogEvent]], bool]
    read: Callable[[Span, list[LogEvent]], Reading]
    priority: int = 100
    """Lower is tried first."""


SPAN_READERS: Registry[SpanReader] = Registry("span convention")


def register_span_reader(reader: SpanReader, source: str = BUILTIN) -> SpanReader:
    return SPAN_READERS.add(reader.name, reader, source)


def read_span(span: Span, logs: list[LogEvent]) -> Reading:
    for _, reader in sorted(SPAN_READERS.items(), key=lambda item: (item[1].priority, item[0])):
        if reader.claims(span, logs):
            return reader.read(span, logs)
    return Reading(convention="", meaning=None)


SESSION_KEYS = ("session.id", "gen_ai.conversation.id", "traceloop.association.properties.session_id")
"""Attributes that group several traces into one tape (a conversation of many requests)."""


def session_of(span: Span) -> str:
    for key in SESSION_KEYS:
        value = span.attributes.get(key)
        if isinstance(value, (str, int)) and str(value):
            return str(value)
    return ""


# --- helpers -------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def indexed(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """`prefix.N.rest = v` attributes as a list (by N) of `{rest: v}` dicts."""
    groups: dict[int, dict[str, Any]] = {}
    dot = prefix + "."
    for key, value in attrs.items():
        if key.startswith(dot):
            number, _, rest = key[len(dot):].partition(".")
            if number.isdigit():
                groups.setdefault(int(number), {})[rest] = value
    return [groups[n] for n in sorted(groups)]


def _used(attrs: Mapping[str, Any], prefixes: Iterable[str]) -> frozenset[str]:
    marks = tuple(prefixes)
    return frozenset(k for k in attrs if k in marks or any(k.startswith(p + ".") for p in marks))


def _openai_tool_call(call: ChatToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}


def chat_message(role: str, content: str, tool_calls: Iterable[ChatToolCall] = (), tool_call_id: str = "",
                 name: str = "") -> dict[str, Any]:
    """One message in the OpenAI chat format (what litellm takes)."""
    message: dict[str, Any] = {"role": role or "user", "content": content}
    calls = [_openai_tool_call(c) for c in tool_calls]
    if calls:
        message["tool_calls"] = calls
        message["content"] = content or None
    if tool_call_id:
        message["tool_call_id"] = tool_call_id
    if name:
        message["name"] = name
    return message


def openai_tool_calls(raw: Any) -> tuple[ChatToolCall, ...]:
    """Tool calls written OpenAI's way (`{"id", "function": {"name", "arguments"}}`) or flat (`{"id", "name", "arguments"}`)."""
    calls = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        function = item.get("function") if isinstance(item.get("function"), dict) else item
        name = function.get("name")
        if isinstance(name, str) and name:
            calls.append(ChatToolCall(id=str(item.get("id") or ""), name=name,
                                      arguments=parse_arguments(function.get("arguments"))))
    return tuple(calls)


def answer_of(message: Mapping[str, Any]) -> ChatAnswer:
    """An assistant message in the OpenAI chat format as text and tool calls."""
    return ChatAnswer(content=content_text(message.get("content")), tool_calls=openai_tool_calls(message.get("tool_calls")))


def content_text(content: Any) -> str:
    """Message content as text: OpenAI's list of parts joins its text parts."""
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") in ("text", None))
    return _text(content)


def _params(attrs: Mapping[str, Any], names: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {ours: attrs[theirs] for theirs, ours in names if attrs.get(theirs) not in (None, "", [])}
