"""Evaluating an agent version on a dataset split outside training (`tape-studio eval`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tape_studio.core.executor import ExecutorChoice, open_executor
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import MetricName, load_dataset
from tape_studio.core.learning.evaluate import evaluate, mean
from tape_studio.core.learning.meter import Meter, Usage, total
from tape_studio.core.tape import new_id
from tape_studio.core.workspace import Workspace


class ExampleResult(BaseModel):
    """One example's outcome, with the tape to open in the studio."""

    model_config = ConfigDict(frozen=True)

    id: str
    input: str
    target: str | None
    prediction: str
    score: float
    feedback: str
    tape_id: str


class EvalReport(BaseModel):
    """A spec's mean score on a split, example by example."""

    model_config = ConfigDict(frozen=True)

    spec_id: str
    dataset: str
    split: str
    metric: str
    score: float
    examples: list[ExampleResult]
    usage: Usage


@dataclass(frozen=True)
class EvalProgress:
    """Where an evaluation stands: examples scored of the split, their mean, LLM calls so far."""

    done: int
    total: int
    score: float
    calls: int


def evaluate_agent(
    ws: Workspace, agent: str, dataset: str, split: str = "test", workers: int = 2, metric: MetricName | None = None,
    executor: ExecutorChoice | None = None, run_id: str | None = None,
    on_progress: Callable[[EvalProgress], None] | None = None,
) -> EvalReport:
    """`run_id` (default: a new one) names the evaluation; the forward tape ids derive from it.
    `on_progress` hears of every scored example (from worker threads, one at a time)."""
    spec = ws.spec(agent)
    data = load_dataset(dataset, metric)
    examples = data.split(split)
    meter = Meter()
    scores: list[float] = []
    lock = threading.Lock()

    def scored(_: str, value: float) -> None:
        with lock:
            scores.append(value)
            if on_progress is not None:
                on_progress(EvalProgress(len(scores), len(examples), mean(scores), total(meter.snapshot()).calls))

    batch = open_executor(executor or ExecutorChoice(), workers)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            ctx = Context(store=ws.store, llm=ws.llm, meter=meter, run_id=run_id or f"eval-{new_id()}",
                          metric=data.metric, pool=pool, executor=batch, on_scored=scored)
            ws.store.save_spec(spec)
            _, scored = evaluate(ctx, spec, examples, split, "eval")
    finally:
        batch.close()
    results = [ExampleResult(id=s.example.id, input=s.example.input, target=s.example.target,
                             prediction=s.loss.prediction, score=s.loss.score, feedback=s.loss.feedback,
                             tape_id=s.tape.id) for s in scored]
    return EvalReport(spec_id=spec.id, dataset=data.name, split=split, metric=data.metric,
                      score=mean([r.score for r in results]), examples=results, usage=total(meter.snapshot()))
