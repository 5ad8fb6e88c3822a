"""The run loop: agent moves and environment reactions, one step at a time, each persisted.

`run` is a generator of events so that callers (CLI, studio, trainer) can stream, stop after any
iteration, or step once. Each step is committed to the store before the event is yielded, so a
process killed at any moment loses nothing that was reported, and `run` on the stored tape resumes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Union

from tape_studio.core.agent import Agent, Finish, React, Stuck, Visit
from tape_studio.core.approvals import Breakpoints, Pause, clear_pause, pending_pause, save_pause
from tape_studio.core.environment import Environment
from tape_studio.core.errors import NotFoundError
from tape_studio.core.leases import holding, tape_subject
from tape_studio.core.llm import LLMCall
from tape_studio.core.redact import redact
from tape_studio.core.run_state import RunEvent, transition
from tape_studio.core.store import Store
from tape_studio.core.tape import ErrorStep, Step, StepBase, Tape


@dataclass(frozen=True)
class StepAdded:
    """A step was appended (and, with a store, committed) at `index`."""

    index: int
    step: Step
    call: LLMCall | None


@dataclass(frozen=True)
class RunEnded:
    """The loop stopped: finished, failed, paused (step once, a limit), stopped by the caller, or
    awaiting approval before a step; `tape.metadata.status` says which state it left."""

    tape: Tape
    reason: str
    """completed, failed, paused, stopped or awaiting approval."""
    new_llm_calls: int
    """Calls answered by a model in this run (cache hits excluded)."""
    pause: Pause | None = None
    """What waits for a decision when the reason is "awaiting approval"."""


@dataclass(frozen=True)
class MoveStarted:
    """A move is about to be made (a node visit, usually an LLM call, or tools running): what is in flight."""

    index: int
    node: str
    agent: str
    tools: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.tools:
            return f"running tool {', '.join(self.tools)}"
        return f"node {self.node} of {self.agent}"


Event = Union[MoveStarted, StepAdded, RunEnded]


def run(
    agent: Agent,
    env: Environment,
    tape: Tape,
    store: Store | None = None,
    max_iterations: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    breakpoints: Breakpoints | None = None,
    approved: int | None = None,
) -> Iterator[Event]:
    """Continues `tape` until the agent answers, fails, or `max_iterations` moves were made.

    An iteration is one node visit or one environment reaction, which is what "step once" means
    in the studio. With a store, the run holds the tape's lease: a second runner of the same tape
    (another process, another thread) gets LeaseHeld before anything is written.

    Before a move that `breakpoints` or the spec's `approve_tools` name, the run ends awaiting
    approval; `approved` is the tape length at which such a pause was already approved, so the
    run resumed after the decision makes that move.
    """
    if store is None:
        yield from _run(agent, env, tape, store, max_iterations, should_stop, breakpoints, approved)
        return
    with holding(store, tape_subject(tape.id)):
        yield from _run(agent, env, tape, store, max_iterations, should_stop, breakpoints, approved)


def _run(
    agent: Agent,
    env: Environment,
    tape: Tape,
    store: Store | None,
    max_iterations: int | None,
    should_stop: Callable[[], bool] | None,
    breakpoints: Breakpoints | None,
    approved: int | None,
) -> Iterator[Event]:
    metadata = tape.metadata
    if metadata.status == "completed" and isinstance(agent.next_move(tape), Finish):
        yield RunEnded(tape=tape, reason="completed", new_llm_calls=0)  # nothing to do, nothing written
        return
    # The spec that writes the next steps is the one the tape records (forks keep their author).
    tape = tape.with_metadata(
        status=transition(metadata.status, "start"), error="", agent=metadata.agent or agent.name,
        author=metadata.author or agent.name, spec_id=agent.spec.id,
    )
    if store is not None:
        store.save_spec(agent.spec)
        store.save_tape(tape)
    state = _Progress()
    try:
        yield from _moves(agent, env, tape, store, max_iterations, should_stop, breakpoints, approved, state)
    except (KeyboardInterrupt, SystemExit):  # Ctrl+C or a kill signal: the process goes, the tape says so
        _settle(store, state, tape.id, "kill", "")
        raise
    except GeneratorExit:  # the caller stopped reading: the run ends where it is, resumable
        _settle(store, state, tape.id, "stop", "")
        raise
    except Exception as exc:  # our fault (a replay miss, a broken tool registry): failed, with its first line
        _settle(store, state, tape.id, "fail", redact(str(exc)).splitlines()[0][:500] if str(exc) else type(exc).__name__)
        raise


@dataclass
class _Progress:
    ended: bool = False
    new_calls: int = 0


def _settle(store: Store | None, state: _Progress, tape_id: str, event: RunEvent, error: str) -> None:
    """The state a run leaves when it ends by an exception rather than by one of its own ends."""
    if store is None or state.ended:
        return
    with contextlib.suppress(NotFoundError):  # the tape was deleted meanwhile
        store.set_status(tape_id, transition("running", event), error=error)


def _moves(
    agent: Agent,
    env: Environment,
    tape: Tape,
    store: Store | None,
    max_iterations: int | None,
    should_stop: Callable[[], bool] | None,
    breakpoints: Breakpoints | None,
    approved: int | None,
    state: _Progress,
) -> Iterator[Event]:
    iterations = 0
    visits = 0
    while True:
        # The answer is checked first: a tape whose last move wrote it is completed at once, even
        # when that move was the only one asked for.
        move = agent.next_move(tape)
        if isinstance(move, Finish):
            yield _end(tape, store, state, "finish", "completed", result=move.answer)
            return
        if should_stop is not None and should_stop():
            yield _end(tape, store, state, "stop", "stopped")
            return
        if max_iterations is not None and iterations >= max_iterations:
            yield _end(tape, store, state, "pause", "paused")
            return
        pause = pending_pause(agent, tape, move, breakpoints)
        if pause is not None and pause.index != approved:
            if store is not None:
                save_pause(store, pause)
            yield _end(tape, store, state, "await_approval", "awaiting approval", pause=pause)
            return
        if pause is not None and store is not None:
            clear_pause(store, tape.id)  # approved: the decision is used up by this move
        iterations += 1
        if isinstance(move, Visit):
            yield MoveStarted(index=len(tape.steps), node=move.node.name, agent=move.agent.name)
        elif isinstance(move, React):
            yield MoveStarted(index=len(tape.steps), node="", agent="", tools=tuple(
                call.tool for call in env.pending_calls(tape)))
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
                state.new_calls += int(call is not None and not call.cached and not call.error)
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
            yield _end(tape, store, state, "fail", "failed", error=getattr(last, "message", last.summary()))
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
    tape: Tape, store: Store | None, state: _Progress, event: RunEvent, reason: str, error: str = "",
    result: str | None = None, pause: Pause | None = None,
) -> RunEnded:
    tape = tape.with_metadata(status=transition("running", event), error=error, result=result)
    if store is not None:
        store.set_status(tape.id, tape.metadata.status, error, result)
    state.ended = True
    return RunEnded(tape=tape, reason=reason, new_llm_calls=state.new_calls, pause=pause)
