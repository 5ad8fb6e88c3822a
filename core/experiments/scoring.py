"""Scorers: how an experiment grades the original and the fork of each tape, the same way for both.

A scorer is a function of `Scoring` (the tape, its task and answer, the target when known, a
model for judges) returning a score in [0, 1] or a MetricResult. The LLM judge registers here
like a user's scorer does; any metric name (`answer`, `exact`, a user's registered metric) is a
scorer too, given targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import overload

from tape_studio.core.errors import ConfigError, InputError, TapeStudioError
from tape_studio.core.learning.judge import judge
from tape_studio.core.learning.metrics import MetricResult, score
from tape_studio.core.llm import LLM
from tape_studio.core.registry import Registry, source_of_module
from tape_studio.core.tape import Tape, Task

AUTO = "auto"
"""The dataset's own metric when targets are known, else the judge."""


@dataclass(frozen=True)
class Scoring:
    """What a scorer is given for one side (original or fork) of one tape."""

    tape: Tape
    task: str
    answer: str
    """The final answer, or "" when the tape did not complete."""
    target: str | None
    llm: LLM
    """The model for scorers that need one (the judge); calls count against the experiment's budget."""


ScoreFunction = Callable[[Scoring], "float | MetricResult"]
SCORERS: Registry[ScoreFunction] = Registry("scorer")


@overload
def register_scorer(function: ScoreFunction, /) -> ScoreFunction: ...
@overload
def register_scorer(*, name: str) -> Callable[[ScoreFunction], ScoreFunction]: ...
def register_scorer(function: ScoreFunction | None = None, /, *, name: str | None = None):  # type: ignore[no-untyped-def]
    """Registers `function(Scoring) -> float in [0, 1] | MetricResult` as an experiment scorer
    under its own name (or `name=`), for `--scorer NAME` and the Experiments page."""

    def add(fn: ScoreFunction) -> ScoreFunction:
        scorer_name = name or getattr(fn, "__name__", "")
        if scorer_name == AUTO:
            raise ConfigError(f"the scorer name {AUTO!r} is reserved")
        return SCORERS.add(scorer_name, fn, source_of_module(getattr(fn, "__module__", "") or ""))

    return add(function) if function is not None else add


@register_scorer(name="judge")
def judge_scorer(item: Scoring) -> MetricResult:
    """The LLM judge's 0–10 grade of the answer to the task (needs no target)."""
    return judge(item.llm, item.task, item.answer)[0]


def scorer_names() -> list[str]:
    return SCORERS.in_order()


def resolve_scorer(name: str, dataset_metric: str | None) -> tuple[str, ScoreFunction]:
    """The scorer `name` stands for (auto: the dataset's metric, else the judge); a name that is
    neither a scorer nor a metric is an InputError listing the scorers."""
    if name == AUTO:
        name = dataset_metric or "judge"
    found = SCORERS.find(name)
    if found is not None:
        return name, found
    try:
        score(name, "", "")
    except (ValueError, TapeStudioError):
        raise InputError(f"--scorer: no scorer or metric {name!r}; scorers: {', '.join(scorer_names())}, "
                         "or a metric name (answer, exact, f1, numeric, or one registered) with --dataset") from None
    return name, _metric_scorer(name)


def _metric_scorer(metric: str) -> ScoreFunction:
    def by_metric(item: Scoring) -> MetricResult:
        if item.target is None:
            raise InputError(f"metric {metric!r} needs targets: tape {item.tape.id!r} has none "
                             "(pass --dataset, or use --scorer judge)")
        return score(metric, item.answer, item.target)

    return by_metric


def run_scorer(function: ScoreFunction, item: Scoring, name: str) -> MetricResult:
    """Scores one side; a failed tape scores 0 (as in training) and a scorer's own fault is one line naming it."""
    if item.tape.metadata.status != "completed":
        return MetricResult(score=0.0, feedback=f"The run did not complete: {item.tape.metadata.error or item.tape.metadata.status}")
    try:
        value = function(item)
    except TapeStudioError:
        raise
    except Exception as exc:  # noqa: BLE001 -- a user's scorer: its failure names it
        raise ConfigError(f"scorer {name!r} failed on tape {item.tape.id!r}: {type(exc).__name__}: {exc}") from None
    if isinstance(value, MetricResult):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return MetricResult(score=float(value), feedback="")
    raise ConfigError(f"scorer {name!r} returned {type(value).__name__}, not a number or MetricResult")


def task_of(tape: Tape) -> str:
    first = next((step for step in tape.steps if isinstance(step, Task)), None)
    return first.text if first is not None else tape.metadata.title


def answer_of(tape: Tape) -> str:
    result = tape.metadata.result
    return str(result) if tape.metadata.status == "completed" and result is not None else ""
