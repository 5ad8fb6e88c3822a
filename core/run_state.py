"""The run state of a tape: one state machine shared by the loop, the CLI and the studio.

Convention: `paused` is a run that ended at a clean point and may be continued (the user pressed
Stop, Step once made its one move, an iteration limit was reached); `awaiting_approval` is a run
paused before a step that needs a person's decision; `interrupted` is a run whose process died
mid-run (a kill, a crash), known from its lease. `completed` is set as soon as the final answer is
on the tape, never one Continue later.
"""

from __future__ import annotations

from typing import Literal, get_args

from tape_studio.core.errors import InputError
from tape_studio.core.tape import TapeStatus

RunEvent = Literal["start", "stop", "pause", "await_approval", "finish", "fail", "kill"]
"""What happens to a run: it starts (run, continue, step once, approve), the user stops it, it
pauses by itself (step once, a limit), it reaches a breakpoint, the answer, an error, or its
process dies."""

RESUMABLE: frozenset[str] = frozenset({"new", "paused", "awaiting_approval", "interrupted", "failed", "running"})
"""Statuses a run may start from. `running` is among them because a run killed a moment ago
still says `running` until its dead lease is noticed; the lease, not the status, stops two runs."""

_ENDS: dict[RunEvent, TapeStatus] = {
    "stop": "paused",
    "pause": "paused",
    "await_approval": "awaiting_approval",
    "finish": "completed",
    "fail": "failed",
    "kill": "interrupted",
}

LABELS: dict[str, str] = {
    "new": "new",
    "running": "running",
    "paused": "paused",
    "awaiting_approval": "awaiting approval",
    "completed": "completed",
    "failed": "failed",
    "interrupted": "interrupted",
}
"""How a status is written for people (the stored value keeps its underscore)."""


def transition(status: str, event: RunEvent) -> TapeStatus:
    """The status after `event` happens to a tape in `status`; a move the machine does not allow
    raises InputError with one line saying why."""
    if event == "start":
        if status == "completed":
            raise InputError("this tape is completed: fork it to run again from an earlier step")
        if status not in RESUMABLE:
            raise InputError(f"a tape in status {status!r} cannot be run")
        return "running"
    if event not in _ENDS:
        raise InputError(f"unknown run event {event!r}; expected one of {', '.join(get_args(RunEvent))}")
    if status != "running":
        raise InputError(f"only a running tape can {event.replace('_', ' ')}; this one is {label(status)}")
    return _ENDS[event]


def can_start(status: str) -> bool:
    """Whether Continue / Step once make sense for a tape in `status` (and no run holds it)."""
    return status in RESUMABLE and status != "running"


def label(status: str) -> str:
    return LABELS.get(status, status)
