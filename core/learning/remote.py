"""Evaluation work as plain data, for executors that run it in other processes (Ray).

A job names the store by path and carries the spec and example themselves, so it pickles; the
task opens its own store, cache and model client there, runs and scores the example exactly as a
thread would, and sends back the scored tape and what its calls cost (merged into the driver's meter).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from tape_studio.core import config, plugins
from tape_studio.core.cache import LLMCache
from tape_studio.core.config import LLMMode
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example, MetricName
from tape_studio.core.learning.meter import Meter, Usage
from tape_studio.core.llm import LLM
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store


@dataclass(frozen=True)
class ExampleJob:
    """One example to run and score, with everything a fresh process needs to do it."""

    store_path: str
    model: str
    mode: LLMMode
    params: dict[str, JsonValue]
    optimizer_model: str | None
    run_id: str
    metric: MetricName
    spec: AgentSpec
    example: Example
    split: str
    role: str
    sources: tuple[str, ...] = ()
    """The agent sources the driver loaded (files, modules): the worker loads them too."""


def job_for(ctx: Context, spec: AgentSpec, example: Example, split: str, role: str) -> ExampleJob:
    return ExampleJob(store_path=str(ctx.store.path), model=ctx.llm.model, mode=ctx.llm.mode, params=ctx.llm.params,
                      optimizer_model=ctx.optimizer_model, run_id=ctx.run_id, metric=ctx.metric, spec=spec,
                      example=example, split=split, role=role, sources=tuple(plugins.source_refs()))


def run_job(job: ExampleJob) -> tuple[object, dict[str, Usage]]:
    """Runs one job in this process; returns its `Scored` and its usage per role."""
    from tape_studio.core.learning.evaluate import score_example  # evaluate imports this module

    plugins.load_agents(*job.sources)
    store, cache = _open(job.store_path)
    llm = LLM(model=job.model, mode=job.mode, cache=cache, params=job.params)
    ctx = Context(store=store, llm=llm, meter=Meter(), run_id=job.run_id, metric=job.metric,
                  optimizer_model=job.optimizer_model)
    scored = score_example(ctx, job.spec, job.example, job.split, job.role)
    return scored, ctx.meter.snapshot()


@functools.lru_cache(maxsize=4)
def _open(store_path: str) -> tuple[Store, LLMCache]:
    """A worker process keeps its store and cache open across the tasks it is given."""
    path = Path(store_path)
    return Store(path), LLMCache(config.cache_dir(path))
