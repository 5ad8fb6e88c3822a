"""Forward passes as plain data, for executors that run them in other processes (Ray).

The driver alone writes the store. A job carries the spec, the example and the tape to continue
(new, or cut off by a killed run), and the LLM settings; the task runs the agent loop without a
store and sends back the finished tape, the LLM call behind each new step, the cache entries it
made and what its calls cost. `commit` then writes the new steps in order, one transaction per
step as a local run does, so a driver killed mid-way loses nothing it committed, and a task that
Ray reruns (its node died) writes nothing twice.

No task needs the data folder: cache lookups (cached and replay modes) go to a `CacheReader` actor
that the driver pins to its own node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

from pydantic import JsonValue

from tape_studio.core import plugins
from tape_studio.core.cache import CachedResponse, LLMCache, LLMRequest
from tape_studio.core.catalog import build_agent, build_environment
from tape_studio.core.config import LLMMode
from tape_studio.core.leases import holding, tape_subject
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.meter import Meter, MeteredLLM, Usage
from tape_studio.core.llm import LLM, LLMCall
from tape_studio.core.loop import RunEnded, StepAdded, run
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape


class CacheReader:
    """Runs as a Ray actor on the driver's node: answers tasks' cache lookups from the driver's cache."""

    def __init__(self, directory: str) -> None:
        self.cache = LLMCache(Path(directory))

    def get(self, request: LLMRequest) -> CachedResponse | None:
        return self.cache.get(request)

    def closest(self, request: LLMRequest) -> tuple[float, LLMRequest] | None:
        return self.cache.closest(request)


class DriverCache(LLMCache):
    """A task's cache: reads go to the driver's (through its CacheReader), writes are kept for the
    driver to make. Opens nothing on the task's machine."""

    def __init__(self, reader: Any | None) -> None:  # no diskcache here: the folder is on the driver
        self.directory = Path("<driver>")
        self.reader = reader
        self.added: dict[str, tuple[LLMRequest, CachedResponse]] = {}

    def get(self, request: LLMRequest) -> CachedResponse | None:
        if request.key() in self.added:
            return self.added[request.key()][1]
        return self._ask("get", request)

    def put(self, request: LLMRequest, response: CachedResponse) -> None:
        self.added[request.key()] = (request, response)

    def closest(self, request: LLMRequest) -> tuple[float, LLMRequest] | None:
        return self._ask("closest", request)

    def _ask(self, method: str, request: LLMRequest) -> Any:
        if self.reader is None:
            return None
        import ray

        return ray.get(getattr(self.reader, method).remote(request))


@dataclass(frozen=True)
class ForwardJob:
    """One forward pass to run elsewhere, with everything a fresh process needs for it."""

    model: str
    mode: LLMMode
    params: dict[str, JsonValue]
    role: str
    spec: AgentSpec
    tape: Tape
    """Where the tape stands: a new one (only the task) or one a killed run cut off."""
    cache_reader: Any | None = None
    sources: tuple[str, ...] = ()
    """The agent sources the driver loaded (files, modules): the task loads them too."""


@dataclass(frozen=True)
class ForwardResult:
    """What a task made: the finished tape, the call behind each new step, cache entries, usage."""

    tape: Tape
    start: int
    """Steps the tape had when the job began; those after it are new."""
    calls: dict[int, LLMCall] = field(default_factory=dict)
    cache_entries: list[tuple[LLMRequest, CachedResponse]] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)


def job_for(ctx: Context, spec: AgentSpec, tape: Tape, role: str, cache_reader: Any | None) -> ForwardJob:
    return ForwardJob(model=ctx.llm.model, mode=ctx.llm.mode, params=ctx.llm.params, role=role, spec=spec, tape=tape,
                      cache_reader=cache_reader, sources=tuple(plugins.source_refs()))


def run_forward(job: ForwardJob, adapt: Callable[[Any, Any], tuple[Any, Any]] | None = None) -> ForwardResult:
    """Runs one job in this process, writing nothing: the agent loop without a store. `adapt` may
    replace the built agent and environment (an experiment's rerun edits wrap them)."""
    plugins.load_agents(*job.sources)
    cache = DriverCache(job.cache_reader)
    meter = Meter()
    llm = MeteredLLM(LLM(model=job.model, mode=job.mode, cache=cache, params=job.params), meter, job.role)
    agent = build_agent(job.spec, llm)
    env = build_environment(agent)
    if adapt is not None:
        agent, env = adapt(agent, env)
    calls: dict[int, LLMCall] = {}
    final = job.tape
    for event in run(agent, env, job.tape, store=None):
        if isinstance(event, StepAdded) and event.call is not None:
            calls[event.index] = event.call
        elif isinstance(event, RunEnded):
            final = event.tape
    return ForwardResult(tape=final, start=len(job.tape.steps), calls=calls,
                         cache_entries=list(cache.added.values()), usage=meter.snapshot())


def commit(ctx: Context, spec: AgentSpec, result: ForwardResult) -> Tape:
    """Writes a task's result as the agent loop would have: the tape marked running, each new step
    in its own transaction with the call behind it, then the final status; then the cache entries."""
    tape, store = result.tape, ctx.store
    with holding(store, tape_subject(tape.id)):
        store.save_spec(spec)
        running = tape.with_metadata(status="running", error="", result=None)
        store.save_tape(Tape(metadata=running.metadata, context=tape.context, steps=tape.steps[:result.start]))
        for index in range(result.start, len(tape.steps)):
            store.append_step(tape.id, index, tape.steps[index], result.calls.get(index))
        store.set_status(tape.id, tape.metadata.status, tape.metadata.error, tape.metadata.result)
    if ctx.llm.cache is not None:
        for request, response in result.cache_entries:
            ctx.llm.cache.put(request, response)
    return tape
