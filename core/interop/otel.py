"""Tapes as OpenTelemetry traces (OTLP JSON), following the GenAI semantic conventions, and back.

One trace per tape: an `invoke_agent` span for the tape, a `chat` span per LLM call, and a span per
step (under the call that made it, else under the tape). Observability tools read the `gen_ai.*`
attributes; our own `tape_studio.*` attributes carry lineage and the exact step JSON, so that
importing our own export gives back the same tapes and calls. Model, messages, output and token
counts of a call are read back from the `gen_ai.*` attributes, which keeps that mapping honest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import JsonValue

from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import Tape

SEMCONV_VERSION = "1.37.0"
"""The OpenTelemetry semantic conventions followed (GenAI spans, `gen_ai.input.messages` as JSON text)."""
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
NS = "tape_studio"
SPAN_INTERNAL, SPAN_CLIENT = 1, 3
STATUS_OK, STATUS_ERROR = 1, 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_otlp(tapes: list[Tape], calls: list[LLMCall]) -> dict[str, Any]:
    """An OTLP/JSON `ExportTraceServiceRequest` holding every tape as one trace."""
    by_id = {call.prompt_id: call for call in calls}
    spans = [span for tape in tapes for span in _tape_spans(tape, by_id)]
    return {"resourceSpans": [{
        "resource": {"attributes": _attributes({"service.name": "tape-studio"})},
        "scopeSpans": [{"scope": {"name": NS, "version": SEMCONV_VERSION}, "schemaUrl": SCHEMA_URL, "spans": spans}],
        "schemaUrl": SCHEMA_URL,
    }]}


def _tape_spans(tape: Tape, calls: dict[str, LLMCall]) -> list[dict[str, Any]]:
    meta = tape.metadata
    trace_id = _hex(f"trace:{meta.id}", 32)
    root = _hex(f"tape:{meta.id}", 16)
    end = max([meta.created_at, *(s.metadata.created_at for s in tape.steps)])
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": meta.agent, "gen_ai.agent.id": meta.spec_id,
        "gen_ai.conversation.id": meta.id,
        f"{NS}.tape.id": meta.id, f"{NS}.tape.parent_id": meta.parent_id, f"{NS}.tape.fork_step": meta.fork_step,
        f"{NS}.tape.root_id": meta.root_id, f"{NS}.tape.status": meta.status, f"{NS}.tape.title": meta.title,
        f"{NS}.tape.steps": len(tape.steps),
        f"{NS}.tape.metadata": meta.model_dump_json(), f"{NS}.tape.context": json.dumps(tape.context),
    }
    status = {"code": STATUS_ERROR, "message": meta.error} if meta.status == "failed" else {"code": STATUS_OK}
    spans = [_span(trace_id, root, None, f"invoke_agent {meta.agent}".strip(), SPAN_INTERNAL,
                   meta.created_at, end, attrs, status)]
    call_spans: dict[str, str] = {}
    for step in tape.steps:
        prompt_id = step.metadata.prompt_id
        if prompt_id in calls and prompt_id not in call_spans:
            call_spans[prompt_id] = _hex(f"call:{meta.id}:{prompt_id}", 16)
            spans.append(_call_span(trace_id, call_spans[prompt_id], root, calls[prompt_id]))
    for index, step in enumerate(tape.steps):
        parent = call_spans.get(step.metadata.prompt_id, root)
        attrs = {f"{NS}.step.index": index, f"{NS}.step.kind": step.kind, f"{NS}.step.family": step.family,
                 f"{NS}.step.id": step.metadata.id, f"{NS}.step.node": step.metadata.node,
                 f"{NS}.step.agent": step.metadata.agent, f"{NS}.step.json": step.model_dump_json()}
        name = f"step {step.kind}"
        tool = getattr(step, "tool", None)
        if step.kind == "tool_result" and isinstance(tool, str):
            name = f"execute_tool {tool}"
            attrs |= {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
        at = step.metadata.created_at
        spans.append(_span(trace_id, _hex(f"step:{meta.id}:{index}", 16), parent, name, SPAN_INTERNAL, at, at, attrs))
    return spans


def _call_span(trace_id: str, span_id: str, parent: str, call: LLMCall) -> dict[str, Any]:
    params = call.params
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": call.model.split("/", 1)[0] if "/" in call.model else call.model,
        "gen_ai.request.model": call.model,
        "gen_ai.usage.input_tokens": call.prompt_tokens,
        "gen_ai.usage.output_tokens": call.completion_tokens,
        "gen_ai.input.messages": json.dumps([_genai_message(m) for m in call.messages], ensure_ascii=False),
        "gen_ai.output.messages": json.dumps([{
            "role": "assistant", "parts": [{"type": "text", "content": call.output}],
            "finish_reason": "error" if call.error else "stop"}], ensure_ascii=False),
        "gen_ai.response.finish_reasons": ["error" if call.error else "stop"],
        f"{NS}.llm_call.prompt_id": call.prompt_id,
        f"{NS}.llm_call.params": json.dumps(params), f"{NS}.llm_call.response_format": json.dumps(call.response_format),
        f"{NS}.llm_call.cost": call.cost, f"{NS}.llm_call.latency_s": call.latency_s,
        f"{NS}.llm_call.cached": call.cached, f"{NS}.llm_call.attempts": call.attempts,
        f"{NS}.llm_call.error": call.error, f"{NS}.llm_call.created_at": call.created_at.isoformat(),
    }
    for name in ("temperature", "max_tokens", "seed", "top_p"):
        if isinstance(params.get(name), (int, float)) and not isinstance(params.get(name), bool):
            attrs[f"gen_ai.request.{name}"] = params[name]
    if not all(_is_plain(m) for m in call.messages):
        attrs[f"{NS}.llm_call.messages"] = json.dumps(call.messages)  # the GenAI text parts would lose fields
    if call.error:
        attrs["error.type"] = call.error.split(":", 1)[0][:64]
    status = {"code": STATUS_ERROR, "message": call.error} if call.error else {"code": STATUS_OK}
    start = call.created_at - timedelta(seconds=call.latency_s)
    return _span(trace_id, span_id, parent, f"chat {call.model}", SPAN_CLIENT, start, call.created_at, attrs, status)


def _is_plain(message: dict[str, JsonValue]) -> bool:
    return set(message) == {"role", "content"} and isinstance(message["content"], str)


def _genai_message(message: dict[str, JsonValue]) -> dict[str, Any]:
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content)
    return {"role": message.get("role"), "parts": [{"type": "text", "content": text}]}


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: int, start: datetime, end: datetime,
          attrs: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": kind,
                            "startTimeUnixNano": str(_nanos(start)), "endTimeUnixNano": str(_nanos(end)),
                            "attributes": _attributes(attrs)}
    if parent:
        span["parentSpanId"] = parent
    if status:
        span["status"] = status
    return span


def _nanos(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _hex(seed: str, length: int) -> str:
    """Stable ids: exporting a tape twice gives the same trace, so tools deduplicate it."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    """OTLP key-values; None is left out (OTLP has no null), ints travel as strings (64-bit safe)."""
    return [{"key": key, "value": any_value(value)} for key, value in values.items() if value is not None]


def any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def from_any_value(value: dict[str, Any]) -> Any:
    """The Python value of an OTLP AnyValue (the inverse of `any_value`)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [from_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: from_any_value(kv.get("value", {})) for kv in value["kvlistValue"].get("values", [])}
    return None
