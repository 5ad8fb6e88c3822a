"""The run-state machine, and the states the loop leaves under run, stop, step once, failure and kill."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_loop import make_qa, qa_fake, start

from tape_studio.core.catalog import build_environment
from tape_studio.core.cache import LLMCache
from tape_studio.core.errors import InputError, ReplayMissError
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.loop import MoveStarted, RunEnded, StepAdded, run
from tape_studio.core.run_state import can_start, label, transition
from tape_studio.core.store import Store


@pytest.mark.parametrize(("status", "event", "after"), [
    ("new", "start", "running"), ("paused", "start", "running"), ("interrupted", "start", "running"),
    ("failed", "start", "running"), ("awaiting_approval", "start", "running"),
    ("running", "stop", "paused"), ("running", "pause", "paused"), ("running", "finish", "completed"),
    ("running", "fail", "failed"), ("running", "kill", "interrupted"),
    ("running", "await_approval", "awaiting_approval"),
])
def test_each_allowed_transition(status: str, event: str, after: str) -> None:
    assert transition(status, event) == after  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "event", "message"), [
    ("completed", "start", "this tape is completed: fork it"),
    ("paused", "stop", "only a running tape can stop; this one is paused"),
    ("awaiting_approval", "finish", "this one is awaiting approval"),
])
def test_a_move_the_machine_refuses_is_one_line(status: str, event: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        transition(status, event)  # type: ignore[arg-type]


def test_only_resting_unfinished_tapes_can_be_started_from_the_studio() -> None:
    assert [s for s in ("new", "running", "paused", "awaiting_approval", "completed", "failed", "interrupted")
            if can_start(s)] == ["new", "paused", "awaiting_approval", "failed", "interrupted"]
    assert label("awaiting_approval") == "awaiting approval"


def _ended(events: list) -> RunEnded:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, RunEnded)][0]


def test_step_once_leaves_paused_and_the_move_that_answers_leaves_completed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    agent = make_qa(qa_fake())
    env = build_environment(agent)
    tape, states = start(), []
    while tape.metadata.status != "completed":
        tape = _ended(list(run(agent, env, tape, store, max_iterations=1))).tape
        states.append((len(tape.steps), tape.metadata.status, store.summary(tape.id).status))
    # plan (thought + call), tool result, answer: the third step once completes, no fourth needed
    assert states == [(3, "paused", "paused"), (4, "paused", "paused"), (5, "completed", "completed")]


def test_stop_leaves_paused_and_says_it_was_stopped(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    agent = make_qa(qa_fake())
    asked = iter([False, True])  # Stop is pressed while the first move (the plan) is being made
    events = list(run(agent, build_environment(agent), start(), store, should_stop=lambda: next(asked)))
    ended = _ended(events)
    assert ended.reason == "stopped" and ended.tape.metadata.status == "paused"
    assert store.summary(ended.tape.id).status == "paused"
    assert [e.step.kind for e in events if isinstance(e, StepAdded)] == ["thought", "tool_call"]


def test_a_fault_of_ours_mid_run_leaves_failed_with_its_first_line(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    agent = make_qa(qa_fake(), mode="replay", cache=LLMCache(tmp_path / "cache"))  # nothing recorded
    tape = start()
    with pytest.raises(ReplayMissError):
        list(run(agent, build_environment(agent), tape, store))
    summary = store.summary(tape.id)
    assert summary.status == "failed" and "\n" not in summary.error and "replay" in summary.error.lower()


def test_ctrl_c_mid_run_leaves_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")

    def interrupt(messages: list[dict], params: dict) -> str:
        raise KeyboardInterrupt

    agent = make_qa(register_fake("interrupt-run-state", interrupt))
    tape = start()
    with pytest.raises(KeyboardInterrupt):
        list(run(agent, build_environment(agent), tape, store))
    assert store.summary(tape.id).status == "interrupted"


def test_a_caller_that_stops_reading_leaves_paused(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    agent = make_qa(qa_fake())
    tape = start()
    events = run(agent, build_environment(agent), tape, store)
    first = next(events)
    assert isinstance(first, MoveStarted) and first.node == "plan"  # what is in flight, before its steps
    assert isinstance(next(events), StepAdded)
    events.close()
    assert store.summary(tape.id).status == "paused"
