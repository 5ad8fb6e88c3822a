"""Counting LLM calls, tokens and cost per role, and stopping a run at its budget.

Every call a training run makes goes through a `MeteredLLM` tagged with its role (forward, gate,
eval, judge, backward, …), so the studio can show cost per role and the budget can be enforced
before a call is made rather than discovered after the bill.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, JsonValue

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.llm import LLM, LLMCall, Prompt


class BudgetExceeded(TapeStudioError):
    """The run reached its budget; it stops cleanly and can be resumed with a larger one."""


class Usage(BaseModel):
    """What calls of one role cost."""

    model_config = ConfigDict(frozen=True)

    calls: int = 0
    new_calls: int = 0
    """Calls a model answered (cache hits excluded): what a budget counts."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    def plus(self, other: Usage) -> Usage:
        return Usage(calls=self.calls + other.calls, new_calls=self.new_calls + other.new_calls,
                     prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     cost=self.cost + other.cost)

    def minus(self, other: Usage) -> Usage:
        return self.plus(Usage(calls=-other.calls, new_calls=-other.new_calls, prompt_tokens=-other.prompt_tokens,
                               completion_tokens=-other.completion_tokens, cost=-other.cost))

    @classmethod
    def of(cls, call: LLMCall) -> Usage:
        new = not call.cached and not call.error
        return cls(calls=1, new_calls=int(new), prompt_tokens=call.prompt_tokens,
                   completion_tokens=call.completion_tokens, cost=call.cost)


class Budget(BaseModel):
    """Limits on a run; None means no limit."""

    model_config = ConfigDict(frozen=True)

    max_llm_calls: int | None = None
    max_cost: float | None = None


def total(usage: dict[str, Usage]) -> Usage:
    result = Usage()
    for part in usage.values():
        result = result.plus(part)
    return result


def combine(*usages: dict[str, Usage]) -> dict[str, Usage]:
    merged: dict[str, Usage] = {}
    for usage in usages:
        for role, part in usage.items():
            merged[role] = merged.get(role, Usage()).plus(part)
    return merged


class Meter:
    """Usage per role, safe to share between worker threads."""

    def __init__(self, budget: Budget | None = None, start: dict[str, Usage] | None = None) -> None:
        self.budget = budget or Budget()
        self._usage: dict[str, Usage] = dict(start or {})
        self._in_flight = 0
        """Calls started but not recorded: counted against the call budget so parallel workers cannot overshoot it."""
        self._lock = threading.Lock()

    def reserve(self) -> None:
        """Claims one call of the budget before making it; raises BudgetExceeded when none is left."""
        with self._lock:
            self._check(self._in_flight)
            self._in_flight += 1

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def record(self, role: str, call: LLMCall) -> None:
        with self._lock:
            self._usage[role] = self._usage.get(role, Usage()).plus(Usage.of(call))

    def absorb(self, usage: dict[str, Usage]) -> None:
        """Adds usage recorded elsewhere (by a task in another process)."""
        with self._lock:
            self._usage = combine(self._usage, usage)

    def snapshot(self) -> dict[str, Usage]:
        with self._lock:
            return dict(self._usage)

    def since(self, before: dict[str, Usage]) -> dict[str, Usage]:
        """Usage added after `before` was taken, per role."""
        now = self.snapshot()
        return {role: part.minus(before.get(role, Usage())) for role, part in now.items()
                if part != before.get(role, Usage())}

    def check(self) -> None:
        with self._lock:
            self._check(0)

    def _check(self, in_flight: int) -> None:
        spent = total(self._usage)
        limit = self.budget
        if limit.max_llm_calls is not None and spent.new_calls + in_flight >= limit.max_llm_calls:
            raise BudgetExceeded(f"budget reached: {spent.new_calls} LLM calls of {limit.max_llm_calls}")
        if limit.max_cost is not None and spent.cost >= limit.max_cost:
            raise BudgetExceeded(f"budget reached: ${spent.cost:.4f} of ${limit.max_cost:.4f}")


class MeteredLLM(LLM):
    """An LLM client that records each call under `role` and refuses calls past the budget."""

    def __init__(self, base: LLM, meter: Meter, role: str, model: str | None = None) -> None:
        self.__dict__.update(base.__dict__)  # same model, mode, cache and retries as `base`
        self.meter, self.role = meter, role
        if model:
            self.model = model

    def complete(self, prompt: Prompt, model: str | None = None, params: dict[str, JsonValue] | None = None) -> LLMCall:
        self.meter.reserve()
        try:
            call = super().complete(prompt, model=model, params=params)
            self.meter.record(self.role, call)
        finally:
            self.meter.release()
        return call
