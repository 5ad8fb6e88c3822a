"""LangSmith run trees in: a run with its `child_runs` (as exported), or a list of runs linked by
`parent_run_id`. One tape per trace.

`llm` runs are model calls (LangChain's serialised messages or OpenAI-style ones, answers from
`generations` or `choices`), `tool` runs are tool calls and results, the root run names the agent and
its `inputs` the task. Other runs (chains, prompts, parsers) have no step; they are kept whole in
the tape's context.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.core.interop.fidelity import FidelityReport
from tape_studio.core.interop.importers import Importer, register_importer
from tape_studio.core.interop.tape_files import Bundle
from tape_studio.core.interop.traces.files import bundle_of
from tape_studio.core.interop.traces.readers import content_text, openai_tool_calls
from tape_studio.core.interop.traces.records import agent_span, model_span, tool_span
from tape_studio.core.interop.traces.spans import Span

FORMAT = "langsmith"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool",
          "HumanMessage": "user", "AIMessage": "assistant", "SystemMessage": "system", "ToolMessage": "tool",
          "AIMessageChunk": "assistant"}


def _is_run(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("run_type"), str) and "id" in item and "name" in item


def _top(data: Any) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("runs"), list):
        return data["runs"]
    return data if isinstance(data, list) else [data]


def sniff(data: Any) -> bool:
    runs = _top(data)
    return bool(runs) and all(_is_run(run) for run in runs)


def read(path: Path, data: Any) -> tuple[Bundle, FidelityReport]:
    runs = list(_flatten(_top(data), ""))
    by_trace: dict[str, list[Span]] = {}
    for n, (run, parent) in enumerate(runs):
        try:
            span = _span(run, parent)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: run {n + 1} ({run.get('name')!r}): {exc}") from None
        by_trace.setdefault(span.trace_id, []).append(span)
    return bundle_of(path, FORMAT, [(f"langsmith-{trace[:24]}", spans) for trace, spans in by_trace.items()])


def _flatten(runs: list[Any], parent: str) -> Iterator[tuple[dict[str, Any], str]]:
    for run in runs:
        if not _is_run(run):
            raise InputError(f"run {run!r:.60}: expected a run with id, name and run_type")
        yield run, str(run.get("parent_run_id") or parent)
        yield from _flatten(run.get("child_runs") or [], str(run["id"]))


def _hex(value: Any) -> str:
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        return str(value)


def _nanos(value: Any) -> int:
    if not value:
        return 0
    if isinstance(value, (int, float)):
        return int(value * 1e9)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return int(moment.timestamp() * 1e9)


def _span(run: dict[str, Any], parent: str) -> Span:
    trace = _hex(run.get("trace_id") or run["id"])
    span_id, parent_id, start = _hex(run["id"]), _hex(parent) if parent else "", _nanos(run.get("start_time"))
    end = _nanos(run.get("end_time")) or start
    error = str(run.get("error") or "")
    inputs = run.get("inputs") if isinstance(run.get("inputs"), dict) else {}
    outputs = run.get("outputs") if isinstance(run.get("outputs"), dict) else {}
    kind = run["run_type"]
    if kind == "llm":
        request, message, usage = _llm(run, inputs, outputs)
        return model_span(trace, span_id, start, request, message, usage, parent_id, error).model_copy(update={"end_ns": end})
    if kind == "tool":
        arguments = inputs if not isinstance(inputs.get("input"), str) else _maybe_json(inputs["input"])
        result = outputs.get("output", outputs)
        text = result if isinstance(result, str) else json.dumps(_plain(result), ensure_ascii=False)
        return tool_span(trace, span_id, start, str(run["name"]), arguments, text, parent_id=parent_id, error=error
                         ).model_copy(update={"end_ns": end})
    if not parent_id:
        return agent_span(trace, span_id, start, str(run["name"]), _text_of(inputs), _text_of(outputs), end_ns=end,
                          error=error)
    kept = {k: v for k, v in run.items() if k != "child_runs"}
    return Span(trace_id=trace, span_id=span_id, parent_id=parent_id, name=str(run["name"]), start_ns=start, end_ns=end,
                attributes={"langsmith.run": _plain(kept)}, status_code=2 if error else 0, status_message=error)


def _maybe_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"input": text}
    return value if isinstance(value, dict) else {"input": value}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _llm(run: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    extra = run.get("extra") if isinstance(run.get("extra"), dict) else {}
    params = extra.get("invocation_params") if isinstance(extra.get("invocation_params"), dict) else {}
    metadata = extra.get("metadata") if isinstance(extra.get("metadata"), dict) else {}
    raw = inputs.get("messages") or inputs.get("prompts") or []
    if raw and isinstance(raw[0], list):
        raw = raw[0]  # LangChain batches: one list of messages per prompt
    messages = [_message(m) for m in raw]
    model = params.get("model") or params.get("model_name") or metadata.get("ls_model_name") or run["name"]
    request = {**{k: _plain(v) for k, v in params.items() if k not in ("model", "model_name", "_type")},
               "model": str(model), "messages": messages}
    usage = _usage(outputs, run)
    return request, _answer(outputs), usage


def _message(raw: Any) -> dict[str, Any]:
    """A LangChain-serialised message (`{"lc": 1, "kwargs": {...}}`, `{"type": "human", ...}`) or an OpenAI one."""
    if isinstance(raw, str):
        return {"role": "user", "content": raw}
    if not isinstance(raw, dict):
        return {"role": "user", "content": json.dumps(raw, default=str)}
    fields = raw.get("kwargs") if isinstance(raw.get("kwargs"), dict) else raw.get("data") if isinstance(raw.get("data"), dict) else raw
    kind = raw.get("id", [""])[-1] if isinstance(raw.get("id"), list) else fields.get("type") or raw.get("type")
    role = fields.get("role") or _ROLES.get(str(kind), "user")
    message: dict[str, Any] = {"role": role, "content": content_text(fields.get("content"))}
    calls = _lc_tool_calls(fields)
    if calls:
        message["tool_calls"] = calls
    if fields.get("tool_call_id"):
        message["tool_call_id"] = str(fields["tool_call_id"])
    return message


def _lc_tool_calls(fields: dict[str, Any]) -> list[dict[str, Any]]:
    calls = fields.get("tool_calls")
    if isinstance(calls, list) and calls and isinstance(calls[0], dict) and "args" in calls[0]:
        return [{"id": str(c.get("id") or ""), "type": "function",
                 "function": {"name": str(c.get("name")), "arguments": json.dumps(c.get("args") or {})}} for c in calls]
    extra = fields.get("additional_kwargs") if isinstance(fields.get("additional_kwargs"), dict) else {}
    given = calls if isinstance(calls, list) and calls else extra.get("tool_calls")
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in openai_tool_calls(given)]


def _answer(outputs: dict[str, Any]) -> dict[str, Any]:
    generations = outputs.get("generations")
    if isinstance(generations, list) and generations:
        first = generations[0][0] if isinstance(generations[0], list) and generations[0] else generations[0]
        if isinstance(first, dict):
            if isinstance(first.get("message"), dict):
                return {**_message(first["message"]), "role": "assistant"}
            return {"role": "assistant", "content": str(first.get("text") or "")}
    choices = outputs.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict):
        return {**choices[0]["message"], "role": "assistant"}
    return {"role": "assistant", "content": _text_of(outputs)}


def _usage(outputs: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    llm_output = outputs.get("llm_output") if isinstance(outputs.get("llm_output"), dict) else {}
    usage = llm_output.get("token_usage") or outputs.get("usage") or {}
    return {"prompt_tokens": usage.get("prompt_tokens", run.get("prompt_tokens") or 0),
            "completion_tokens": usage.get("completion_tokens", run.get("completion_tokens") or 0)}


def _text_of(values: dict[str, Any]) -> str:
    for key in ("input", "question", "query", "output", "answer", "text", "result"):
        if isinstance(values.get(key), str):
            return values[key]
    messages = values.get("messages")
    if isinstance(messages, list) and messages:
        return _message(messages[-1] if not isinstance(messages[-1], list) else messages[-1][-1])["content"]
    return json.dumps(_plain(values), ensure_ascii=False) if values else ""


register_importer(Importer(name=FORMAT, describes="LangSmith run trees (a run with child_runs, or a list of runs)",
                           sniff=sniff, read=read))
