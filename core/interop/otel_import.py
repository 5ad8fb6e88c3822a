"""Tape Studio's own OTLP JSON exports back into tapes and LLM calls (see `otel.py` for the shape).

Only traces we wrote can be rebuilt exactly: a foreign trace has no step JSON to rebuild from, so
it is refused with a one-line reason instead of being half-guessed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tape_studio.core.errors import InputError
from tape_studio.core.interop.otel import NS, from_any_value
from tape_studio.core.interop.tape_files import Bundle, describe_validation_error
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import GenericStep, StepBase, Tape, TapeMetadata, parse_step

_Span = tuple[str, dict[str, Any]]
"""A span's location in the file (for errors) and its attributes as plain values."""


def is_otlp(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("resourceSpans"), list)


def is_our_export(data: Any) -> bool:
    """Whether every trace of an OTLP/JSON document is a tape we exported (and so comes back exactly)."""
    if not is_otlp(data):
        return False
    traces: dict[str, bool] = {}
    for resource in data["resourceSpans"]:
        for scope in (resource or {}).get("scopeSpans") or [] if isinstance(resource, dict) else []:
            for span in (scope or {}).get("spans") or [] if isinstance(scope, dict) else []:
                if not isinstance(span, dict):
                    return False
                keys = {kv.get("key") for kv in span.get("attributes") or [] if isinstance(kv, dict)}
                trace = str(span.get("traceId"))
                traces[trace] = traces.get(trace, False) or f"{NS}.tape.metadata" in keys
    return bool(traces) and all(traces.values())


def read_otlp(path: Path, data: dict[str, Any]) -> Bundle:
    """Every trace in the file as a tape, with the LLM calls its chat spans describe."""
    traces: dict[str, list[_Span]] = {}
    for where, span in _spans(path, data):
        attrs = {kv["key"]: from_any_value(kv.get("value") or {}) for kv in span.get("attributes") or []}
        traces.setdefault(str(span.get("traceId")), []).append((where, attrs))
    tapes: list[Tape] = []
    calls: dict[str, LLMCall] = {}
    for trace_id, spans in traces.items():
        tape_span = next(((w, a) for w, a in spans if f"{NS}.tape.metadata" in a), None)
        if tape_span is None:
            raise InputError(f"{path}: trace {trace_id!r} has no {NS}.tape.metadata span; only Tape Studio's "
                             "own OTLP exports can be imported")
        for where, attrs in spans:
            if attrs.get("gen_ai.operation.name") == "chat" and f"{NS}.llm_call.prompt_id" in attrs:
                call = _call(path, where, attrs)
                calls[call.prompt_id] = call
        tapes.append(_tape(path, tape_span, [s for s in spans if f"{NS}.step.json" in s[1]]))
    if not tapes:
        raise InputError(f"{path}: no spans to import")
    generic = sorted({s.kind for t in tapes for s in t.steps if isinstance(s, GenericStep)})
    return Bundle(tapes=tapes, llm_calls=list(calls.values()), generic_kinds=generic)


def _spans(path: Path, data: dict[str, Any]) -> list[_Span]:
    found: list[_Span] = []
    for r, resource in enumerate(data["resourceSpans"]):
        for s, scope in enumerate((resource or {}).get("scopeSpans") or []):
            for n, span in enumerate((scope or {}).get("spans") or []):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]"
                if not isinstance(span, dict) or not isinstance(span.get("attributes", []), list):
                    raise InputError(f"{path}: {where}: expected a span object with an 'attributes' list")
                found.append((where, span))
    return found


def _tape(path: Path, tape_span: _Span, step_spans: list[_Span]) -> Tape:
    where, attrs = tape_span
    try:
        metadata = TapeMetadata.model_validate_json(attrs[f"{NS}.tape.metadata"])
        context = json.loads(attrs.get(f"{NS}.tape.context", "null"))
    except (ValidationError, ValueError) as exc:
        raise InputError(f"{path}: {where}.{NS}.tape.metadata: {describe_validation_error(exc)}") from None
    ordered = sorted(step_spans, key=lambda s: int(s[1].get(f"{NS}.step.index", -1)))
    count = attrs.get(f"{NS}.tape.steps", len(ordered))
    if len(ordered) != count:
        raise InputError(f"{path}: tape {metadata.id!r}: {count} steps expected, {len(ordered)} step spans found "
                         "(a step span is missing)")
    steps: list[StepBase] = []
    for expected, (step_where, step_attrs) in enumerate(ordered):
        if step_attrs.get(f"{NS}.step.index") != expected:
            raise InputError(f"{path}: tape {metadata.id!r}: step span {expected} is missing "
                             f"(found index {step_attrs.get(f'{NS}.step.index')!r} at {step_where})")
        try:
            steps.append(parse_step(step_attrs[f"{NS}.step.json"]))
        except ValidationError as exc:
            raise InputError(f"{path}: {step_where}.{NS}.step.json: {describe_validation_error(exc)}") from None
    return Tape(metadata=metadata, context=context, steps=tuple(steps))  # type: ignore[arg-type]


def _call(path: Path, where: str, attrs: dict[str, Any]) -> LLMCall:
    try:
        exact = attrs.get(f"{NS}.llm_call.messages")
        messages = json.loads(exact) if exact else [_our_message(m) for m in json.loads(attrs["gen_ai.input.messages"])]
        output = json.loads(attrs.get("gen_ai.output.messages", "[]"))
        return LLMCall.model_validate({
            "prompt_id": attrs[f"{NS}.llm_call.prompt_id"],
            "model": attrs["gen_ai.request.model"],
            "messages": messages,
            "output": "".join(p.get("content", "") for m in output[:1] for p in m.get("parts", [])),
            "prompt_tokens": attrs.get("gen_ai.usage.input_tokens", 0),
            "completion_tokens": attrs.get("gen_ai.usage.output_tokens", 0),
            "params": json.loads(attrs.get(f"{NS}.llm_call.params", "{}")),
            "response_format": json.loads(attrs.get(f"{NS}.llm_call.response_format", "null")),
            "cost": attrs.get(f"{NS}.llm_call.cost", 0.0),
            "latency_s": attrs.get(f"{NS}.llm_call.latency_s", 0.0),
            "cached": attrs.get(f"{NS}.llm_call.cached", False),
            "attempts": attrs.get(f"{NS}.llm_call.attempts", 1),
            "error": attrs.get(f"{NS}.llm_call.error", ""),
            "created_at": attrs[f"{NS}.llm_call.created_at"],
        })
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else f"bad or missing {exc}"
        raise InputError(f"{path}: {where}: LLM call: {detail}") from None


def _our_message(message: dict[str, Any]) -> dict[str, Any]:
    text = "".join(part.get("content", "") for part in message.get("parts", []) if part.get("type") == "text")
    return {"role": message["role"], "content": text}
