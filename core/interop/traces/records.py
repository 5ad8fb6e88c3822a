"""Spans made by our own importers from logs that are not traces (OpenAI chat logs, LangSmith runs,
Inspect AI samples), so that one builder turns every foreign source into tapes the same way.

Such a span carries one attribute, `tape_studio.record`: a model call (the request in the OpenAI
chat format and the assistant message answering it), a tool run or an agent, as JSON values.
"""

from __future__ import annotations

from typing import Any

from tape_studio.core.chat_steps import safe_params
from tape_studio.core.interop.traces.readers import (
    AgentRun,
    ModelCall,
    Reading,
    SpanReader,
    ToolRun,
    _int,
    _text,
    answer_of,
    register_span_reader,
)
from tape_studio.core.interop.traces.spans import LogEvent, Span

NAME = "record"
KEY = "tape_studio.record"
STATUS_ERROR = 2


def model_span(trace_id: str, span_id: str, at_ns: int, request: dict[str, Any], message: dict[str, Any],
               usage: dict[str, Any] | None = None, parent_id: str = "", error: str = "", cost: float = 0.0) -> Span:
    """A model call: `request` as sent to chat completions, `message` the assistant's answer."""
    record = {"kind": "model", "request": request, "message": message, "usage": usage or {}, "cost": cost}
    return _span(trace_id, span_id, parent_id, at_ns, record, error)


def tool_span(trace_id: str, span_id: str, at_ns: int, name: str, arguments: dict[str, Any], result: str,
              call_id: str = "", parent_id: str = "", error: str = "") -> Span:
    record = {"kind": "tool", "name": name, "arguments": arguments, "result": result, "call_id": call_id}
    return _span(trace_id, span_id, parent_id, at_ns, record, error)


def agent_span(trace_id: str, span_id: str, at_ns: int, name: str, task: str = "", output: str = "",
               parent_id: str = "", end_ns: int = 0, error: str = "") -> Span:
    record = {"kind": "agent", "name": name, "input": task, "output": output}
    return _span(trace_id, span_id, parent_id, at_ns, record, error, end_ns)


def _span(trace_id: str, span_id: str, parent_id: str, at_ns: int, record: dict[str, Any], error: str,
          end_ns: int = 0) -> Span:
    return Span(trace_id=trace_id, span_id=span_id, parent_id=parent_id, name=str(record.get("name") or record["kind"]),
                start_ns=at_ns, end_ns=max(end_ns, at_ns), attributes={KEY: record},
                status_code=STATUS_ERROR if error else 0, status_message=error)


def read(span: Span, logs: list[LogEvent]) -> Reading:
    record = span.attributes[KEY]
    assert isinstance(record, dict)
    used = frozenset({KEY})
    if record.get("kind") == "model":
        request = record.get("request") if isinstance(record.get("request"), dict) else {}
        usage = record.get("usage") if isinstance(record.get("usage"), dict) else {}
        message = record.get("message") if isinstance(record.get("message"), dict) else {}
        tools = request.get("tools")
        return Reading(NAME, ModelCall(
            model=str(request.get("model") or ""), messages=[m for m in request.get("messages") or [] if isinstance(m, dict)],
            answer=answer_of(message), tools=tools if isinstance(tools, list) and tools else None,
            params=safe_params(request), prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")), cost=float(record.get("cost") or 0.0)), used)
    if record.get("kind") == "tool":
        arguments = record.get("arguments")
        return Reading(NAME, ToolRun(name=str(record.get("name") or "tool"), call_id=str(record.get("call_id") or ""),
                                     arguments=arguments if isinstance(arguments, dict) else {},
                                     result=_text(record.get("result"))), used)
    return Reading(NAME, AgentRun(name=str(record.get("name") or "agent"), input=_text(record.get("input")),
                                  output=_text(record.get("output"))), used, _text(record.get("input")))


register_span_reader(SpanReader(name=NAME, claims=lambda span, logs: isinstance(span.attributes.get(KEY), dict),
                                read=read, priority=10))
