"""Evaluation: a spec's scores on a set of examples, each example run and scored in one task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.forward import run_example
from tape_studio.core.learning.loss import compute_loss
from tape_studio.core.llm import LLMCall
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape
from tape_studio.core.learning.steps import Loss


class Evaluation(BaseModel):
    """Scores of one spec on one split, with the tape behind each score."""

    model_config = ConfigDict(frozen=True)

    spec_id: str
    split: str
    scores: dict[str, float]
    tape_ids: dict[str, str]

    @property
    def mean(self) -> float:
        return mean(list(self.scores.values()))


@dataclass(frozen=True)
class Scored:
    """One example's forward tape and its loss (with the judge's call, if a judge scored it)."""

    example: Example
    tape: Tape
    loss: Loss
    call: LLMCall | None


def mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def evaluate(
    ctx: Context, spec: AgentSpec, examples: Sequence[Example], split: str, role: str
) -> tuple[Evaluation, list[Scored]]:
    """Runs and scores every example (in parallel on the context's pool, or its distributed executor)."""
    if ctx.executor is not None and ctx.executor.distributed:
        scored = _evaluate_remote(ctx, spec, examples, split, role)
    else:
        scored = ctx.map(lambda example: score_example(ctx, spec, example, split, role), examples)
    evaluation = Evaluation(spec_id=spec.id, split=split, scores={s.example.id: s.loss.score for s in scored},
                            tape_ids={s.example.id: s.tape.id for s in scored})
    return evaluation, scored


def score_example(ctx: Context, spec: AgentSpec, example: Example, split: str, role: str) -> Scored:
    tape = run_example(ctx, spec, example, split, role)
    loss, call = compute_loss(ctx, example, tape)
    return Scored(example, tape, loss, call)


def _evaluate_remote(ctx: Context, spec: AgentSpec, examples: Sequence[Example], split: str, role: str) -> list[Scored]:
    """Ships picklable jobs; each remote task writes its tapes to the shared store itself."""
    from tape_studio.core.learning.remote import job_for, run_job

    assert ctx.executor is not None
    results = ctx.executor.map(run_job, [job_for(ctx, spec, example, split, role) for example in examples])
    scored: list[Scored] = []
    for result, usage in results:
        # The budget is checked between batches here: remote tasks cannot reserve from this meter.
        ctx.meter.absorb(usage)
        assert isinstance(result, Scored)
        scored.append(result)
    return scored
