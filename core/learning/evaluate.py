"""Evaluation: a spec's scores on a set of examples, each example run and scored in one task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from core.learning.context import Context
from core.learning.datasets import Example
from core.learning.forward import run_example
from core.learning.loss import compute_loss
from core.llm import LLMCall
from core.spec import AgentSpec
from core.tape import Loss, Tape


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
    """Runs and scores every example (in parallel on the context's pool)."""

    def one(example: Example) -> Scored:
        tape = run_example(ctx, spec, example, split, role)
        loss, call = compute_loss(ctx, example, tape)
        return Scored(example, tape, loss, call)

    scored = ctx.map(one, examples)
    evaluation = Evaluation(spec_id=spec.id, split=split, scores={s.example.id: s.loss.score for s in scored},
                            tape_ids={s.example.id: s.tape.id for s in scored})
    return evaluation, scored
