"""The run loop: agent moves and environment reactions, one step at a time, each persisted.

`run` is a generator of events so that callers (CLI, studio, trainer) can stream, stop after any
iteration, or step once. Each step is committed to the store before the event is yielded, so a
process killed at any moment loses nothing that was reported, and `run` on the stored tape resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Union

from tape_studio.core.agent import Agent, Finish, React, Stuck
from tape_studio.core.environment import Environment
from tape_studio.core.leases import holding, tape_subject
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import ErrorStep, Step, StepBase, Tape, TapeStatus


@dataclass(frozen=True)
class StepAdded:
    """A step was appended (and, with a store, committed) at `index`."""

    index: int
    step: Step
    call: LLMCall | None


@dataclass(frozen=True)
class RunEnded:
    """The loop stopped: finished, failed, paused after `max_iterations`, or stopped by the caller."""

    tape: Tape
    reason: str
    new_llm_calls: int
    """Calls answered by a model in this run (cache hits excluded)."""


Event = Union[StepAdded, RunEnded]


def run(
    agent: Agent,
    env: Environment,
    tape: Tape,
    store: Store | None = None,
    max_iterations: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[Event]:
    """Continues `tape` until the agent answers, fails, or `max_iterations` moves were made.

    An iteration is one node visit or one environment reaction, which is what "step once" means
    in the studio. With a store, the run holds the tape's lease: a second runner of the same tape
    (another process, another thread) gets LeaseHeld before anything is written.
    """
    if store is None:
        yield from _run(agent, env, tape, store, max_iterations, should_stop)
        return
    with holding(store, tape_subject(tape.id)):
        yield from _run(agent, env, tape, store, max_iterations, should_stop)


def _run(
    agent: Agent,
    env: Environment,
    tape: Tape,
    store: Store | None,
    max_iterations: int | None,
    should_stop: Callable[[], bool] | None,
) -> Iterator[Event]:
    metadata = tape.metadata
    # The spec that writes the next steps is the one the tape records (forks keep their author).
    tape = tape.with_metadata(
        status="running", error="", agent=metadata.agent or agent.name,
        author=metadata.author or agent.name, spec_id=agent.spec.id,
    )
    if store is not None:
        store.save_spec(agent.spec)
        store.save_tape(tape)
    new_calls = 0
    iterations = 0
    visits = 0
    while True:
        if should_stop is not None and should_stop():
            yield _end(tape, store, "running", "stopped", new_calls)
            return
        if max_iterations is not None and iterations >= max_iterations:
            yield _end(tape, store, "running", "paused", new_calls)
            return
        move = agent.next_move(tape)
        iterations += 1
        if isinstance(move, Finish):
            yield _end(tape, store, "completed", "completed", new_calls, result=move.answer)
            return
        if isinstance(move, React):
            additions: list[tuple[StepBase, LLMCall | None]] = [(obs, None) for obs in env.react(tape)]
        elif isinstance(move, Stuck):
            error = ErrorStep(source="agent", message=move.reason)
            additions = [(_attribute(error, move.node, move.agent), None)]
        else:
            visits += 1
            if visits > agent.spec.max_iterations:
                limit = ErrorStep(source="loop", message=f"stopped after {agent.spec.max_iterations} node visits")
                additions = [(_attribute(limit, move.node.name, move.agent.name), None)]
            else:
                steps, call = move.agent.run_node(move)
                new_calls += int(call is not None and not call.cached and not call.error)
                additions = [(step, call if n == 0 else None) for n, step in enumerate(steps)]
        first = len(tape.steps)
        if store is not None:
            for offset, (step, call) in enumerate(additions):
                store.append_step(tape.id, first + offset, step, call)
        # One append per move: the tape is immutable, so each append copies its step tuple.
        tape = tape.append(*(step for step, _ in additions))
        for offset, (_, call) in enumerate(additions):
            yield StepAdded(index=first + offset, step=tape.steps[first + offset], call=call)
        last = tape.steps[-1]
        if last.family == "error":
            yield _end(tape, store, "failed", "failed", new_calls, error=getattr(last, "message", last.summary()))
            return


def run_to_end(agent: Agent, env: Environment, tape: Tape, store: Store | None = None) -> RunEnded:
    """Runs without streaming and returns the final event."""
    ended: RunEnded | None = None
    for event in run(agent, env, tape, store):
        if isinstance(event, RunEnded):
            ended = event
    assert ended is not None
    return ended


def _attribute(step: ErrorStep, node: str, agent: str) -> ErrorStep:
    return step.model_copy(update={"metadata": step.metadata.model_copy(update={"node": node, "agent": agent})})


def _end(
    tape: Tape, store: Store | None, status: TapeStatus, reason: str, new_calls: int, error: str = "", result: str | None = None
) -> RunEnded:
    tape = tape.with_metadata(status=status, error=error, result=result)
    if store is not None:
        store.set_status(tape.id, tape.metadata.status, error, result)
    return RunEnded(tape=tape, reason=reason, new_llm_calls=new_calls)
