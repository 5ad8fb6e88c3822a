"""What every learning stage needs: the store, the models per role, the worker pool and the meter.

Stages are plain functions of a Context, so a test can run one stage alone with a fake model.
Concurrency lives here only: `map` fans a stage's independent calls out over the worker pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.executor import Executor
from tape_studio.core.learning.datasets import Example, MetricName
from tape_studio.core.learning.meter import Meter, MeteredLLM
from tape_studio.core.llm import LLM
from tape_studio.core.store import Store

T = TypeVar("T")
R = TypeVar("R")

AGENT_ROLES = frozenset({"forward", "gate", "eval", "explore"})
"""Roles whose calls the agent itself makes (its own model); the rest are the learning roles."""


class TrainingStopped(TapeStudioError):
    """Someone asked the run to stop; it ends between stages and can be resumed."""


@dataclass
class Context:
    """Shared by the stages of one run (or one evaluation)."""

    store: Store
    llm: LLM
    meter: Meter
    run_id: str
    metric: MetricName
    pool: ThreadPoolExecutor | None = None
    executor: Executor | None = None
    """Where evaluations (and so training forward passes) run when it is distributed (Ray); else `pool`."""
    optimizer_model: str | None = None
    """Model for the learning roles (judge, backward, optimizers); None: the agent's model."""
    train_examples: Sequence[Example] = ()
    """What the copy guard compares proposals with: training inputs and answers must not leak into prompts."""
    length_caps: dict[str, int] = field(default_factory=dict)
    """Prompt length cap (characters) per node, from the run's first version, against prompt bloat."""
    token_cap: int = 200
    """Aggregated gradients longer than this (estimated tokens) are summarised before the optimizer."""
    tape_tags: tuple[str, ...] = ()
    """Extra tags on every forward tape: a training run marks its hundreds of tapes as its own
    record, so that Browse keeps them out of the way until asked (they are the Train page's)."""
    skip_solved: bool = True
    """Examples with a perfect score get no backward calls: there is nothing to fix."""
    should_stop: Callable[[], bool] | None = None
    on_phase: Callable[[str], None] | None = None
    on_scored: Callable[[str, float], None] | None = None
    """Called with (example id, score) as each example of an evaluation is scored: progress bars."""

    def llm_for(self, role: str) -> MeteredLLM:
        model = None if role in AGENT_ROLES else self.optimizer_model
        return MeteredLLM(self.llm, self.meter, role, model=model)

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`function` over `items` on the worker pool, results in input order."""
        items = list(items)
        if self.pool is None or len(items) < 2:
            return [function(item) for item in items]
        return list(self.pool.map(function, items))

    def checkpoint(self, phase: str) -> None:
        """Between stages: honour a stop request and the budget, and report where we are."""
        if self.should_stop is not None and self.should_stop():
            raise TrainingStopped("stopped on request")
        self.meter.check()
        if self.on_phase is not None:
            self.on_phase(phase)
