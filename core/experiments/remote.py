"""Experiments on a distributed executor (Ray).

The driver makes and saves each fork (as on threads), then hands its rerun to a task as plain data:
the task runs the agent loop without a store (core/learning/remote.py) and sends back the tape, the
call behind each new step, its cache entries and usage. The driver commits the new steps one by
one, as a local run would, and scores both sides itself. So no task needs the data folder, and a
task Ray reruns (its worker died) writes nothing twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.executor import Executor
from tape_studio.core.experiments.model import TapeRun
from tape_studio.core.experiments.rerun_edits import edits_rerun, for_rerun
from tape_studio.core.experiments.rules import SpecPatch, StepEdit
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.meter import Meter, Usage
from tape_studio.core.learning.remote import (
    CacheReader, ForwardJob, ForwardResult, commit, job_for, run_forward,
)
from tape_studio.core.llm import LLM
from tape_studio.core.redact import redact
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace

Prepare = Callable[[TapeRun], tuple[Tape, Tape, AgentSpec]]
"""The runner's: a row's original, its saved fork and the spec that reruns it."""


@dataclass(frozen=True)
class Rerun:
    """One row's rerun as it came back: the finished fork, or why there is none."""

    row: TapeRun
    original: Tape | None = None
    fork: Tape | None = None
    usage: dict[str, Usage] = field(default_factory=dict)
    error: str = ""


def rerun_task(item: tuple[ForwardJob, StepEdit | SpecPatch]) -> tuple[str, ForwardResult | str]:
    """What a task runs: the fork's id and its result. A fault of ours there (a replay miss, say)
    comes back as its one line, so that tape fails and the batch goes on, as on threads."""
    job, rule = item
    try:
        return job.tape.id, (_run_editing(job, rule) if edits_rerun(rule) else run_forward(job))
    except TapeStudioError as exc:
        return job.tape.id, _line(exc)


def _run_editing(job: ForwardJob, rule: StepEdit | SpecPatch) -> ForwardResult:
    """run_forward with the rule's rerun edits (`which: every`): the same loop, without a store."""
    return run_forward(job, functools.partial(for_rerun, rule))


def remote_reruns(ws: Workspace, rows: Iterable[TapeRun], executor: Executor, llm: LLM, meter: Meter,
                  prepare: Prepare, halted: Callable[[], bool], rule: StepEdit | SpecPatch) -> Iterator[Rerun]:
    """Each row's rerun on `executor`, as it finishes. `halted` is asked before each task is sent
    (stop requests and the budget: tasks cannot reserve from the driver's meter, so up to one
    window of tasks may finish past the budget)."""
    ctx = Context(store=ws.store, llm=llm, meter=meter, run_id="experiment", metric="exact")
    reader = None
    if llm.mode != "live" and llm.cache is not None:
        reader = executor.on_driver_node(CacheReader, str(llm.cache.directory))  # type: ignore[attr-defined]
    sent: dict[str, tuple[TapeRun, Tape, AgentSpec]] = {}
    done: list[Rerun] = []  # rows that need no task (a fork already finished, or one that could not be made)

    def jobs() -> Iterator[tuple[ForwardJob, StepEdit | SpecPatch]]:
        for row in rows:
            if halted():
                return
            try:
                original, fork, spec = prepare(row)
            except TapeStudioError as exc:
                done.append(Rerun(row=row, error=_line(exc)))
                continue
            if fork.metadata.status in ("completed", "failed"):
                done.append(Rerun(row=row, original=original, fork=fork))
                continue
            sent[fork.id] = (row, original, spec)
            yield job_for(ctx, spec, fork, "forward", reader), rule

    for _, (fork_id, result) in executor.imap(rerun_task, jobs()):
        yield from _drain(done)
        row, original, spec = sent.pop(fork_id)
        if isinstance(result, str):
            yield Rerun(row=row, error=result)
            continue
        meter.absorb(result.usage)
        yield Rerun(row=row, original=original, fork=commit(ctx, spec, result), usage=result.usage)
    yield from _drain(done)


def _drain(done: list[Rerun]) -> Iterator[Rerun]:
    while done:
        yield done.pop(0)


def _line(exc: Exception) -> str:
    text = redact(str(exc)).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
