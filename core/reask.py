"""Re-asking the model of a recorded step: the fork-and-rerun of tapes that have no agent here.

At any step a model made (it has a `prompt_id` and its call is stored) the recorded request (messages,
tools, parameters) is sent again through litellm, as it was or edited, to the same model or another.
The answer replaces the steps that call made: the result is a fork at the first of them, with
lineage, whose new steps link to the new call. The workspace's LLM mode applies: `cached` answers
a request it has seen from the cache, `replay` only from the cache, `live` always asks.

Tapes of a loaded agent are better continued with "Rerun from here" (the agent makes the next
steps); re-asking works on any tape: recorded with `record`, received over OTLP, imported.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, JsonValue

from tape_studio.core.cache import CachedResponse, LLMRequest, miss_report
from tape_studio.core.chat_steps import ChatAnswer, answer_of_response, answer_steps, parse_output, usage_of_response
from tape_studio.core.errors import InputError, NotFoundError, ReplayMissError
from tape_studio.core.llm import LLMCall, litellm_module
from tape_studio.core.preview import CallEstimate, RerunPreview
from tape_studio.core.redact import redact
from tape_studio.core.tape import FinalAnswer, StepBase, StepMetadata, Tape, ToolCall, fork_tape

if TYPE_CHECKING:
    from tape_studio.core.workspace import Workspace

TIMEOUT_S = 120.0


class RequestEdit(BaseModel):
    """What to change in the recorded request; None keeps the recorded value."""

    model: str | None = None
    messages: list[dict[str, JsonValue]] | None = None
    tools: list[dict[str, JsonValue]] | None = None
    """Tool schemas to send instead; an empty list sends none."""
    params: dict[str, JsonValue] | None = None
    """Parameters merged over the recorded ones (temperature, max_tokens, ...)."""


class ReaskResult(BaseModel):
    """The fork that holds the new answer, and the call that made it."""

    tape: Tape
    call: LLMCall


class ModelStep(BaseModel):
    """The steps one recorded call made, around the step asked about."""

    start: int
    end: int
    call: LLMCall


def model_step(ws: Workspace, tape: Tape, at: int) -> ModelStep:
    """The call behind step `at` and the range of steps it made; InputError if no model made it."""
    if not 0 <= at < len(tape.steps):
        raise InputError(f"--at {at} is outside tape {tape.id!r}, which has {len(tape.steps)} steps")
    prompt_id = tape.steps[at].metadata.prompt_id
    if not prompt_id:
        raise InputError(f"step {at} of tape {tape.id!r} ({tape.steps[at].kind}) was not made by a model; "
                         "re-ask a step that has a recorded LLM call")
    try:
        call = ws.store.load_llm_call(prompt_id)
    except NotFoundError:
        raise InputError(f"step {at} of tape {tape.id!r}: its LLM call {prompt_id!r} is not in this store") from None
    start, end = at, at + 1
    while start > 0 and tape.steps[start - 1].metadata.prompt_id == prompt_id:
        start -= 1
    while end < len(tape.steps) and tape.steps[end].metadata.prompt_id == prompt_id:
        end += 1
    return ModelStep(start=start, end=end, call=call)


def edited_request(call: LLMCall, edit: RequestEdit) -> LLMRequest:
    tools = call.tools if edit.tools is None else (edit.tools or None)
    return LLMRequest(model=edit.model or call.model, messages=call.messages if edit.messages is None else edit.messages,
                      params={**call.params, **(edit.params or {})}, response_format=call.response_format, tools=tools)


def recorded_request(ws: Workspace, tape_id: str, at: int, edit: RequestEdit | None = None) -> LLMRequest:
    """The request a re-ask of step `at` would send (the recorded one with `edit` applied)."""
    tape = ws.store.load_tape(tape_id)
    return edited_request(model_step(ws, tape, at).call, edit or RequestEdit())


def preview(ws: Workspace, tape_id: str, at: int, edit: RequestEdit | None = None) -> RerunPreview:
    """What a re-ask will cost: one call, answered by the cache or by the model (sized from the recorded one)."""
    tape = ws.store.load_tape(tape_id)
    found = model_step(ws, tape, at)
    request = edited_request(found.call, edit or RequestEdit())
    hit = ws.cache.get(request) if ws.llm.mode != "live" and ws.cache is not None else None
    recorded = found.call
    ratio = _size(request.messages) / max(1, _size(recorded.messages))
    prompt = hit.prompt_tokens if hit else round(recorded.prompt_tokens * ratio)
    completion = hit.completion_tokens if hit else recorded.completion_tokens
    step = tape.steps[found.start].metadata
    estimate = CallEstimate(agent=step.agent, node=step.node, source="cache" if hit else "model", prompt_tokens=prompt,
                            completion_tokens=completion, cost=0.0 if hit else _price(request.model, prompt, completion),
                            exact=hit is not None)
    return RerunPreview(calls=(estimate,), outcome="re-asks one model call and keeps its answer as a fork",
                        exact=hit is not None)


def reask(ws: Workspace, tape_id: str, at: int, edit: RequestEdit | None = None) -> ReaskResult:
    """Sends the (edited) request of step `at` again and saves the answer as a fork; returns it."""
    tape = ws.store.load_tape(tape_id)
    found = model_step(ws, tape, at)
    request = edited_request(found.call, edit or RequestEdit())
    call = ask(ws, request)
    group = tape.steps[found.start:found.end]
    first = group[0].metadata
    meta = StepMetadata(prompt_id=call.prompt_id, agent=first.agent, node=first.node,
                        other={"reasked_from": found.call.prompt_id})
    fork = fork_tape(tape, found.start, author="user")
    steps = _answer_steps(call, group, meta)
    last = steps[-1] if steps else None
    status = "failed" if call.error else "completed" if isinstance(last, FinalAnswer) else "new"
    fork = fork.append(*steps).with_metadata(status=status, error=call.error,
                                             tags=tuple(sorted({*fork.metadata.tags, "reask"})))
    ws.store.save_tape(fork, [call])
    return ReaskResult(tape=fork, call=call)


def _answer_steps(call: LLMCall, group: tuple[StepBase, ...] | list[StepBase], meta: StepMetadata) -> list[StepBase]:
    if call.error:
        from tape_studio.core.tape import ErrorStep

        return [ErrorStep(source="llm", message=call.error, metadata=meta)]
    # Text alone answers (ends the fork) unless the call it replaces only thought aloud.
    final = any(isinstance(s, (FinalAnswer, ToolCall)) for s in group)
    return answer_steps(parse_output(call.output), final=final, metadata=meta)


def ask(ws: Workspace, request: LLMRequest) -> LLMCall:
    """One chat call through litellm, the request sent as it is; faults come back on the call."""
    started = time.perf_counter()
    cache = ws.cache if ws.llm.mode != "live" else None
    if cache is not None:
        hit = cache.get(request)
        if hit is not None:
            return _call(request, hit, time.perf_counter() - started, cached=True)
        if ws.llm.mode == "replay":
            raise ReplayMissError(miss_report(request, cache.closest(request)))
    try:
        response = _send(request)
    except Exception as exc:  # every provider fault is recorded on the call
        error = redact(_short(exc))[:500]
        return _call(request, CachedResponse(output=""), time.perf_counter() - started, cached=False, error=error)
    answer: ChatAnswer = answer_of_response(response)
    tokens = usage_of_response(response)
    cost = float((getattr(response, "_hidden_params", None) or {}).get("response_cost") or 0.0)
    result = CachedResponse(output=answer.output(), prompt_tokens=tokens[0], completion_tokens=tokens[1], cost=cost)
    if ws.cache is not None:
        ws.cache.put(request, result)
    return _call(request, result, time.perf_counter() - started, cached=False)


def _send(request: LLMRequest) -> Any:
    litellm = litellm_module()
    kwargs: dict[str, Any] = dict(request.params)
    if request.response_format is not None:
        kwargs["response_format"] = request.response_format
    if request.tools:
        kwargs["tools"] = request.tools
    return litellm.completion(model=request.model, messages=request.messages, timeout=TIMEOUT_S, **kwargs)


def _call(request: LLMRequest, response: CachedResponse, latency_s: float, cached: bool, error: str = "") -> LLMCall:
    return LLMCall(model=request.model, messages=request.messages, response_format=request.response_format,
                   tools=request.tools, params=request.params, output=response.output,
                   prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
                   cost=0.0 if cached else response.cost, latency_s=latency_s, cached=cached, error=error)


def _short(exc: Exception) -> str:
    """The provider's first line, without litellm's repeated class prefixes."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    text = re.sub(r"^(litellm\.\w+:\s*)+(\w+:\s*)?(\w+Exception - )?", "", text)
    return f"{type(exc).__name__}: {text}"


def _size(messages: list[dict[str, JsonValue]]) -> int:
    return sum(len(str(m.get("content") or "")) for m in messages)


def _price(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """litellm's price for the call, or 0 for a model without one (local, self-hosted)."""
    try:
        prompt, completion = litellm_module().cost_per_token(model=model, prompt_tokens=prompt_tokens,
                                                              completion_tokens=completion_tokens)
    except Exception:  # noqa: BLE001  (an unknown model has no price; the preview says 0)
        return 0.0
    return float(prompt + completion)
