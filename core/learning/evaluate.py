"""Evaluation: a spec's scores on a set of examples, each example run and scored in one task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.forward import is_finished, run_example, start_tape
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
    if ctx.on_scored is not None:
        ctx.on_scored(example.id, loss.score)
    return Scored(example, tape, loss, call)


def _evaluate_remote(ctx: Context, spec: AgentSpec, examples: Sequence[Example], split: str, role: str) -> list[Scored]:
    """Forward passes on the distributed executor, committed here one by one as they come back
    (see core/learning/remote.py); then each tape is scored here, the judge on the local pool."""
    from tape_studio.core.learning.remote import CacheReader, commit, job_for, run_forward

    executor = ctx.executor
    assert executor is not None
    tapes = {example.id: start_tape(ctx, spec, example, split, role) for example in examples}
    todo = [tape for tape in tapes.values() if not is_finished(tape)]
    reader = None
    if todo and ctx.llm.mode != "live" and ctx.llm.cache is not None:
        reader = executor.on_driver_node(CacheReader, str(ctx.llm.cache.directory))  # type: ignore[attr-defined]
    ids = {tape.id: example_id for example_id, tape in tapes.items()}
    for _, result in executor.imap(run_forward, [job_for(ctx, spec, tape, role, reader) for tape in todo]):
        tapes[ids[result.tape.id]] = commit(ctx, spec, result)
        # The budget is checked between batches here: remote tasks cannot reserve from this meter.
        ctx.meter.absorb(result.usage)
    def scored(example: Example) -> Scored:
        loss, call = compute_loss(ctx, example, tapes[example.id])
        if ctx.on_scored is not None:
            ctx.on_scored(example.id, loss.score)
        return Scored(example, tapes[example.id], loss, call)

    return ctx.map(scored, examples)
