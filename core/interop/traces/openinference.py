"""OpenInference (Arize Phoenix and its instrumentors): `openinference.span.kind` says what a span is.

LLM spans flatten their messages as `llm.input_messages.N.message.*` (with `contents.M` parts and
`tool_calls.M.tool_call.*`), TOOL spans carry `tool.name` and `input.value`/`output.value`, AGENT
spans `agent.name`. `input.value` of a root span is the tape's task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tape_studio.core.chat_steps import ChatAnswer, ChatToolCall, parse_arguments, safe_params
from tape_studio.core.interop.traces.readers import (
    AgentRun,
    ModelCall,
    Reading,
    SpanReader,
    ToolRun,
    _int,
    _json,
    _text,
    _used,
    answer_of,
    chat_message,
    indexed,
    register_span_reader,
)
from tape_studio.core.interop.traces.spans import LogEvent, Span

NAME = "openinference"
KIND = "openinference.span.kind"
_MAPPED = (KIND, "llm.input_messages", "llm.output_messages", "llm.model_name", "llm.invocation_parameters",
           "llm.tools", "llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total",
           "llm.system", "llm.provider", "input.value", "input.mime_type", "output.value", "output.mime_type",
           "tool.name", "tool.description", "tool.parameters", "tool.id", "tool_call.id", "agent.name",
           "graph.node.id", "llm.cost.total", "llm.finish_reason")


def claims(span: Span, logs: list[LogEvent]) -> bool:
    return KIND in span.attributes


def read(span: Span, logs: list[LogEvent]) -> Reading:
    attrs = span.attributes
    kind = str(attrs.get(KIND) or "").upper()
    used = _used(attrs, _MAPPED)
    task = _input_text(attrs.get("input.value"))
    if kind == "LLM":
        return Reading(NAME, _model_call(attrs), used, task)
    if kind == "TOOL":
        return Reading(NAME, ToolRun(name=str(attrs.get("tool.name") or span.name),
                                     call_id=str(attrs.get("tool_call.id") or attrs.get("tool.id") or ""),
                                     arguments=parse_arguments(attrs.get("input.value")),
                                     result=_text(attrs.get("output.value"))), used, task)
    if kind == "AGENT":
        return Reading(NAME, AgentRun(name=str(attrs.get("agent.name") or span.name), input=task,
                                      output=_input_text(attrs.get("output.value"))), used, task)
    return Reading(NAME, None, used, task)


def _input_text(value: Any) -> str:
    """A span's input as text: a JSON input's last user message or `input` field, else the value itself."""
    data = _json(value)
    if isinstance(data, dict):
        messages = data.get("messages")
        if isinstance(messages, list):
            users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            if users:
                return _text(users[-1].get("content"))
        for key in ("input", "question", "query", "task"):
            if isinstance(data.get(key), str):
                return data[key]
    if isinstance(data, list) and data and isinstance(data[-1], dict) and "content" in data[-1]:
        users = [m for m in data if isinstance(m, dict) and m.get("role") == "user"]
        return _text((users or data)[-1].get("content"))
    return _text(value)


def _model_call(attrs: Mapping[str, Any]) -> ModelCall:
    messages = [_message(m) for m in indexed(attrs, "llm.input_messages")]
    outputs = [_message(m) for m in indexed(attrs, "llm.output_messages")]
    request = _json(attrs.get("input.value"))
    if not messages and isinstance(request, dict) and isinstance(request.get("messages"), list):
        messages = [m for m in request["messages"] if isinstance(m, dict)]
    params = _json(attrs.get("llm.invocation_parameters"))
    tools = [t for t in (_json(t.get("tool.json_schema")) for t in indexed(attrs, "llm.tools")) if isinstance(t, dict)]
    return ModelCall(
        model=str(attrs.get("llm.model_name") or (params or {}).get("model") or ""),
        messages=messages, answer=answer_of(outputs[0]) if outputs else ChatAnswer(), tools=tools or None,
        params=safe_params(params) if isinstance(params, dict) else {},
        prompt_tokens=_int(attrs.get("llm.token_count.prompt")),
        completion_tokens=_int(attrs.get("llm.token_count.completion")),
        cost=float(attrs.get("llm.cost.total") or 0.0),
    )


def _message(fields: dict[str, Any]) -> dict[str, Any]:
    """`message.role`, `message.content` (or `message.contents.M.message_content.text`), tool calls."""
    parts = indexed(fields, "message.contents")
    content = _text(fields.get("message.content")) if "message.content" in fields else "".join(
        _text(p.get("message_content.text")) for p in parts if p.get("message_content.type", "text") == "text")
    calls = tuple(ChatToolCall(id=str(c.get("tool_call.id") or ""), name=str(c["tool_call.function.name"]),
                               arguments=parse_arguments(c.get("tool_call.function.arguments")))
                  for c in indexed(fields, "message.tool_calls") if c.get("tool_call.function.name"))
    return chat_message(str(fields.get("message.role") or "user"), content, calls,
                        tool_call_id=str(fields.get("message.tool_call_id") or ""),
                        name=str(fields.get("message.name") or ""))


register_span_reader(SpanReader(name=NAME, claims=claims, read=read, priority=40))
