"""The OpenTelemetry GenAI conventions, in the forms instrumentations write them.

- current: `gen_ai.input.messages` / `gen_ai.output.messages` / `gen_ai.system_instructions` (JSON
  text on spans, structured values on the `gen_ai.client.inference.operation.details` log record),
  messages made of `parts` (`text`, `tool_call`, `tool_call_response`);
- older: one event per message (`gen_ai.user.message`, `gen_ai.choice`, ...), inside the span or as
  log records tied to it by trace and span id;
- OpenLLMetry: flattened `gen_ai.prompt.N.*` and `gen_ai.completion.N.*`, `llm.request.functions.N.*`.
Tools are `execute_tool` spans (`gen_ai.tool.*`), agents `invoke_agent` spans (`gen_ai.agent.name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tape_studio.core.chat_steps import ChatAnswer, ChatToolCall, parse_arguments
from tape_studio.core.interop.traces.readers import (
    AgentRun,
    ModelCall,
    Reading,
    SpanReader,
    ToolRun,
    _int,
    _json,
    _params,
    _text,
    _used,
    chat_message,
    content_text,
    indexed,
    openai_tool_calls,
    register_span_reader,
)
from tape_studio.core.interop.traces.spans import LogEvent, Span

NAME = "genai"
_MESSAGE_EVENTS = ("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message",
                   "gen_ai.tool.message", "gen_ai.choice")
_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_PARAMS = (("gen_ai.request.temperature", "temperature"), ("gen_ai.request.max_tokens", "max_tokens"),
           ("gen_ai.request.top_p", "top_p"), ("gen_ai.request.seed", "seed"),
           ("gen_ai.request.frequency_penalty", "frequency_penalty"),
           ("gen_ai.request.presence_penalty", "presence_penalty"), ("gen_ai.request.stop_sequences", "stop"),
           ("llm.request.temperature", "temperature"), ("llm.request.max_tokens", "max_tokens"),
           ("llm.request.top_p", "top_p"))
_MAPPED = ("gen_ai.operation.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.system",
           "gen_ai.provider.name", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
           "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens", "llm.usage.total_tokens",
           "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions",
           "gen_ai.prompt", "gen_ai.completion", "gen_ai.response.finish_reasons", "llm.request.type",
           "llm.request.functions", "gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.call.arguments",
           "gen_ai.tool.call.result", "gen_ai.agent.name", "gen_ai.agent.id", *(theirs for theirs, _ in _PARAMS))


def claims(span: Span, logs: list[LogEvent]) -> bool:
    attrs = span.attributes
    return (any(k.startswith(("gen_ai.", "llm.request.type")) for k in attrs)
            or any(e.name.startswith("gen_ai.") for e in span.events) or any(e.name.startswith("gen_ai.") for e in logs))


def read(span: Span, logs: list[LogEvent]) -> Reading:
    attrs = span.attributes
    operation = str(attrs.get("gen_ai.operation.name") or attrs.get("llm.request.type") or "")
    used = _used(attrs, _MAPPED)
    if operation == "execute_tool" or (not operation and "gen_ai.tool.name" in attrs):
        return Reading(NAME, _tool(span), used)
    if operation in ("invoke_agent", "create_agent", "invoke_workflow"):
        name = str(attrs.get("gen_ai.agent.name") or span.name.removeprefix(operation).strip() or operation)
        return Reading(NAME, AgentRun(name=name), used)
    if operation in ("chat", "text_completion", "completion", "generate_content") or _has_content(span, logs):
        return Reading(NAME, _model_call(span, logs), used)
    return Reading(NAME, None, used)


def _has_content(span: Span, logs: list[LogEvent]) -> bool:
    attrs = span.attributes
    return ("gen_ai.input.messages" in attrs or any(k.startswith("gen_ai.prompt.") for k in attrs)
            or any(e.name in _MESSAGE_EVENTS for e in [*span.events, *logs]))


def _tool(span: Span) -> ToolRun:
    attrs = span.attributes
    return ToolRun(name=str(attrs.get("gen_ai.tool.name") or span.name.removeprefix("execute_tool").strip()),
                   call_id=str(attrs.get("gen_ai.tool.call.id") or ""),
                   arguments=parse_arguments(attrs.get("gen_ai.tool.call.arguments")),
                   result=_text(attrs.get("gen_ai.tool.call.result")))


def _model_call(span: Span, logs: list[LogEvent]) -> ModelCall:
    attrs = dict(span.attributes)
    details = next((e for e in logs if e.name == _DETAILS_EVENT), None)
    if details is not None:  # the current form as a log record: the same attributes, structured
        attrs = {**details.attributes, **{k: v for k, v in attrs.items() if v not in (None, "")}}
    events = [*[(e.name, e.attributes) for e in span.events], *[(e.name, _body(e)) for e in logs]]
    forms = [_current(attrs), _flattened(attrs), _events(events)]
    # Each half may come from a different form (input on a log record, output on the span).
    messages = next((m for m, _ in forms if m is not None), None)
    answer = next((a for _, a in forms if a is not None), None)
    return ModelCall(
        model=str(attrs.get("gen_ai.request.model") or attrs.get("gen_ai.response.model") or ""),
        messages=messages or [], answer=answer or ChatAnswer(), tools=_tools(attrs), params=_params(attrs, _PARAMS),
        prompt_tokens=_int(attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens"))),
        completion_tokens=_int(attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens"))),
    )


def _body(event: LogEvent) -> dict[str, Any]:
    body = event.body if isinstance(event.body, dict) else {"content": event.body} if event.body is not None else {}
    return {**event.attributes, **body}


# --- the current form ----------------------------------------------------------------------------


def _current(attrs: Mapping[str, Any]) -> tuple[list[dict[str, Any]] | None, ChatAnswer | None]:
    given = _json(attrs.get("gen_ai.input.messages"))
    messages: list[dict[str, Any]] | None = None
    if isinstance(given, list):
        messages = []
        system = _json(attrs.get("gen_ai.system_instructions"))
        if isinstance(system, list) and system:
            messages.append({"role": "system", "content": _parts_text(system)})
        for message in given:
            if isinstance(message, dict):
                messages += _from_parts(message)
    output = _json(attrs.get("gen_ai.output.messages"))
    if not isinstance(output, list):
        return messages, None
    first = output[0] if output and isinstance(output[0], dict) else {}
    parts = first.get("parts") if isinstance(first.get("parts"), list) else []
    return messages, ChatAnswer(content=_parts_text(parts), tool_calls=_part_calls(parts))


def _parts_text(parts: list[Any]) -> str:
    return "".join(_text(p.get("content")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _part_calls(parts: list[Any]) -> tuple[ChatToolCall, ...]:
    return tuple(ChatToolCall(id=str(p.get("id") or ""), name=str(p["name"]), arguments=parse_arguments(p.get("arguments")))
                 for p in parts if isinstance(p, dict) and p.get("type") == "tool_call" and p.get("name"))


def _from_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A GenAI message (role and parts) as OpenAI chat messages: each tool response is a message of its own."""
    parts = message.get("parts") if isinstance(message.get("parts"), list) else []
    role = str(message.get("role") or "user")
    responses = [p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call_response"]
    out = [chat_message("tool", _text(p.get("response", p.get("result"))), tool_call_id=str(p.get("id") or ""))
           for p in responses]
    if not responses or _parts_text(parts) or _part_calls(parts):
        out.insert(0, chat_message(role, _parts_text(parts), _part_calls(parts)))
    return out


def _tools(attrs: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    given = _json(attrs.get("gen_ai.tool.definitions"))
    if isinstance(given, list) and given:
        return [t if "function" in t else {"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
                for t in given if isinstance(t, dict)]
    functions = indexed(attrs, "llm.request.functions")
    if functions:
        return [{"type": "function", "function": {"name": f.get("name", ""), "description": f.get("description", ""),
                                                  "parameters": _json(f.get("parameters")) or {}}} for f in functions]
    return None


# --- OpenLLMetry's flattened attributes ----------------------------------------------------------


def _flattened(attrs: Mapping[str, Any]) -> tuple[list[dict[str, Any]] | None, ChatAnswer | None]:
    prompts = indexed(attrs, "gen_ai.prompt")
    messages = [chat_message(str(p.get("role") or "user"), _text(p.get("content")), _flat_calls(p),
                             tool_call_id=str(p.get("tool_call_id") or "")) for p in prompts] or None
    completions = indexed(attrs, "gen_ai.completion")
    if not completions:
        return messages, None
    return messages, ChatAnswer(content=_text(completions[0].get("content")), tool_calls=_flat_calls(completions[0]))


def _flat_calls(fields: dict[str, Any]) -> tuple[ChatToolCall, ...]:
    calls = indexed(fields, "tool_calls")
    return tuple(ChatToolCall(id=str(c.get("id") or ""), name=str(c["name"]), arguments=parse_arguments(c.get("arguments")))
                 for c in calls if c.get("name"))


# --- message events ------------------------------------------------------------------------------


def _events(events: list[tuple[str, dict[str, Any]]]) -> tuple[list[dict[str, Any]] | None, ChatAnswer | None]:
    messages: list[dict[str, Any]] = []
    answer: ChatAnswer | None = None
    for name, fields in events:
        if name == "gen_ai.content.prompt":  # the oldest form: the whole prompt as JSON text
            given = _json(fields.get("gen_ai.prompt"))
            messages += [m for m in given if isinstance(m, dict)] if isinstance(given, list) else []
        elif name == "gen_ai.content.completion":
            given = _json(fields.get("gen_ai.completion"))
            answer = _choice({"message": given[0]} if isinstance(given, list) and given else {})
        elif name == "gen_ai.choice":
            answer = answer or _choice(fields)
        elif name in _MESSAGE_EVENTS:
            role = str(fields.get("role") or name.split(".")[1])
            messages.append(chat_message(role, content_text(_json(fields.get("content")) or fields.get("content")),
                                         openai_tool_calls(_json(fields.get("tool_calls"))),
                                         tool_call_id=str(fields.get("id") or "") if role == "tool" else ""))
    return messages or None, answer


def _choice(fields: dict[str, Any]) -> ChatAnswer:
    message = _json(fields.get("message"))
    message = message if isinstance(message, dict) else {}
    return ChatAnswer(content=content_text(message.get("content")),
                      tool_calls=openai_tool_calls(_json(message.get("tool_calls"))))


register_span_reader(SpanReader(name=NAME, claims=claims, read=read, priority=50))
