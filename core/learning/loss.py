"""Loss: a score and feedback text per forward tape, from a metric or (with no target) the judge."""

from __future__ import annotations

from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.forward import prediction
from tape_studio.core.learning.judge import judge
from tape_studio.core.learning.metrics import MetricResult, score
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import StepMetadata, Tape
from tape_studio.core.learning.steps import Loss


def compute_loss(ctx: Context, example: Example, tape: Tape) -> tuple[Loss, LLMCall | None]:
    """Scores one forward tape; a tape that failed scores 0 with its error as the feedback."""
    answer = prediction(tape)
    call: LLMCall | None = None
    if tape.metadata.status != "completed":
        result = MetricResult(score=0.0, feedback=f"The run failed before answering: {tape.metadata.error}")
        metric = ctx.metric
    elif ctx.metric == "judge" or example.target is None:
        result, call = judge(ctx.llm_for("judge"), example.input, answer)
        metric = "judge"
    else:
        result, metric = score(ctx.metric, answer, example.target), ctx.metric
    ctx.store.set_score(tape.id, result.score)
    meta = StepMetadata(node="loss", agent="trainer", prompt_id=call.prompt_id if call else "")
    loss = Loss(metadata=meta, example_id=example.id, tape_id=tape.id, score=result.score,
                feedback=result.feedback, prediction=answer, target=example.target, metric=metric)
    return loss, call
