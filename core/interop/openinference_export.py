"""Tapes as OpenInference traces (OTLP JSON), for Arize Phoenix and other OpenInference readers.

One trace per tape: an AGENT span for the tape (its task as `input.value`, its answer as
`output.value`, the tape id as `session.id`), an LLM span per call with the flattened
`llm.input_messages.N.message.*` / `llm.output_messages.0.message.*`, model, parameters, tools and
token counts, and a TOOL span per tool result (`tool.name`, arguments as `input.value`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pydantic import JsonValue

from tape_studio.core.chat_steps import parse_output
from tape_studio.core.interop.otel import NS, SPAN_CLIENT, SPAN_INTERNAL, STATUS_ERROR, STATUS_OK, _attributes, _hex, _span
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import FinalAnswer, Tape, Task, ToolCall, ToolResult

SCOPE = "tape_studio.openinference"


def to_openinference(tapes: list[Tape], calls: list[LLMCall]) -> dict[str, Any]:
    by_id = {call.prompt_id: call for call in calls}
    spans = [span for tape in tapes for span in _tape_spans(tape, by_id)]
    return {"resourceSpans": [{
        "resource": {"attributes": _attributes({"service.name": "tape-studio"})},
        "scopeSpans": [{"scope": {"name": SCOPE}, "spans": spans}],
    }]}


def _tape_spans(tape: Tape, calls: dict[str, LLMCall]) -> list[dict[str, Any]]:
    meta = tape.metadata
    trace = _hex(f"openinference:{meta.id}", 32)
    root = _hex(f"oi-tape:{meta.id}", 16)
    task = next((s.text for s in tape.steps if isinstance(s, Task)), "")
    answer = next((s.text for s in reversed(tape.steps) if isinstance(s, FinalAnswer)), "")
    end = max([meta.created_at, *(s.metadata.created_at for s in tape.steps)])
    attrs = {"openinference.span.kind": "AGENT", "agent.name": meta.agent, "session.id": meta.id,
             "input.value": task, "output.value": answer, f"{NS}.tape.id": meta.id, f"{NS}.tape.parent_id": meta.parent_id}
    status = {"code": STATUS_ERROR, "message": meta.error} if meta.status == "failed" else {"code": STATUS_OK}
    spans = [_span(trace, root, None, meta.agent or "agent", SPAN_INTERNAL, meta.created_at, end, attrs, status)]
    seen: set[str] = set()
    arguments: dict[str, dict[str, JsonValue]] = {}
    for index, step in enumerate(tape.steps):
        prompt_id = step.metadata.prompt_id
        if prompt_id in calls and prompt_id not in seen:
            seen.add(prompt_id)
            spans.append(_llm_span(trace, _hex(f"oi-call:{meta.id}:{prompt_id}", 16), root, calls[prompt_id]))
        if isinstance(step, ToolCall):
            arguments[step.tool] = step.arguments
        if isinstance(step, ToolResult):
            at = step.metadata.created_at
            tool_attrs = {"openinference.span.kind": "TOOL", "tool.name": step.tool,
                          "input.value": json.dumps(arguments.pop(step.tool, {}), ensure_ascii=False),
                          "input.mime_type": "application/json", "output.value": step.content}
            tool_status = {"code": STATUS_ERROR, "message": step.content} if step.is_error else {"code": STATUS_OK}
            spans.append(_span(trace, _hex(f"oi-tool:{meta.id}:{index}", 16), root, step.tool, SPAN_INTERNAL, at, at,
                               tool_attrs, tool_status))
    return spans


def _llm_span(trace: str, span_id: str, parent: str, call: LLMCall) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "openinference.span.kind": "LLM", "llm.model_name": call.model,
        "llm.invocation_parameters": json.dumps(call.params),
        "llm.token_count.prompt": call.prompt_tokens, "llm.token_count.completion": call.completion_tokens,
        "llm.token_count.total": call.prompt_tokens + call.completion_tokens,
        "input.value": json.dumps({"messages": call.messages}, ensure_ascii=False), "input.mime_type": "application/json",
        "output.value": call.output, f"{NS}.llm_call.prompt_id": call.prompt_id,
    }
    if "/" in call.model:
        attrs["llm.provider"] = call.model.split("/", 1)[0]
    for n, message in enumerate(call.messages):
        attrs |= _message(f"llm.input_messages.{n}", message)
    answer = parse_output(call.output)
    output: dict[str, Any] = {"role": "assistant", "content": answer.content,
                              "tool_calls": [{"id": c.id, "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                                             for c in answer.tool_calls]}
    attrs |= _message("llm.output_messages.0", output)
    for n, tool in enumerate(call.tools or []):
        attrs[f"llm.tools.{n}.tool.json_schema"] = json.dumps(tool)
    status = {"code": STATUS_ERROR, "message": call.error} if call.error else {"code": STATUS_OK}
    start = call.created_at - timedelta(seconds=call.latency_s)
    return _span(trace, span_id, parent, "ChatCompletion", SPAN_CLIENT, start, call.created_at, attrs, status)


def _message(prefix: str, message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    attrs: dict[str, Any] = {f"{prefix}.message.role": str(message.get("role") or "user"),
                             f"{prefix}.message.content": content if isinstance(content, str) else json.dumps(content)}
    if content is None:
        del attrs[f"{prefix}.message.content"]
    for n, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        attrs[f"{prefix}.message.tool_calls.{n}.tool_call.id"] = str(call.get("id") or "")
        attrs[f"{prefix}.message.tool_calls.{n}.tool_call.function.name"] = str(function.get("name") or "")
        attrs[f"{prefix}.message.tool_calls.{n}.tool_call.function.arguments"] = str(function.get("arguments") or "{}")
    if message.get("tool_call_id"):
        attrs[f"{prefix}.message.tool_call_id"] = str(message["tool_call_id"])
    return attrs
