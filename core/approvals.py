"""Breakpoints and approvals: a run pauses before a node or a tool call until a person decides.

Where a run pauses comes from two places: the spec (`NodeSpec.approve_tools`, "ask before
send_email" on every run) and the run (`Breakpoints`, set in the studio or with a CLI flag for
this run only). The pause is a row of the store next to the tape, whose status becomes
`awaiting_approval`; so it survives a restart of the studio, and the CLI and the studio decide
on the same record. Decisions:
- approve: the run goes on and the step runs as the model wrote it;
- reject: a tool result saying so is appended (the agent reads it and goes on); before a node,
  an error step saying so ends the run as failed (a resume retries the node);
- edit (tool calls only): a fork whose pending step is the edited one (`edited_by: user`), with the
  pause already approved, so that running the fork runs the edited call.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.tape import ErrorStep, StepBase, Tape, ToolCall, ToolResult, utc_now

if TYPE_CHECKING:
    from tape_studio.core.agent import Agent, Move
    from tape_studio.core.store import Store
    from tape_studio.core.workspace import Workspace

ANY_TOOL = "*"


class Breakpoints(BaseModel):
    """Where this run pauses, besides the tools its spec always asks about."""

    model_config = ConfigDict(frozen=True)

    nodes: tuple[str, ...] = ()
    """Pause before each visit of these nodes."""
    tools: tuple[str, ...] = ()
    """Pause before calls of these tools; "*" means before every tool call."""

    def __bool__(self) -> bool:
        return bool(self.nodes or self.tools)


class Pause(BaseModel):
    """A run paused before a step that needs a person's decision."""

    model_config = ConfigDict(frozen=True)

    tape_id: str
    index: int
    """Where the next step would go: the tape's length when it paused."""
    before: Literal["node", "tool"]
    node: str = ""
    agent: str = ""
    tool: str = ""
    step_index: int | None = None
    """The pending tool call on the tape (None before a node: its step is not made yet)."""
    breakpoints: Breakpoints = Breakpoints()
    """The run's own breakpoints, so that the run resumed after the decision keeps them."""
    approved: bool = False

    def describe(self) -> str:
        if self.before == "node":
            return f"before node {self.node!r} of agent {self.agent!r}"
        return f"before tool {self.tool!r} (step {self.step_index}, node {self.node!r})"


def pending_pause(agent: Agent, tape: Tape, move: Move, breakpoints: Breakpoints | None) -> Pause | None:
    """The pause `move` needs before it is made, or None (a pure function of the tape and specs)."""
    from tape_studio.core.agent import React, Visit

    points = breakpoints or Breakpoints()
    if isinstance(move, Visit):
        if move.node.name in points.nodes:
            return Pause(tape_id=tape.id, index=len(tape.steps), before="node", node=move.node.name,
                         agent=move.agent.name, breakpoints=points)
        return None
    if not isinstance(move, React):
        return None
    start = len(tape.steps)
    while start > 0 and isinstance(tape.steps[start - 1], ToolCall):
        start -= 1
    for index in range(start, len(tape.steps)):
        call = tape.steps[index]
        assert isinstance(call, ToolCall)
        asked = points.tools + _spec_approvals(agent, call)
        if ANY_TOOL in asked or call.tool in asked:
            return Pause(tape_id=tape.id, index=len(tape.steps), before="tool", node=call.metadata.node,
                         agent=call.metadata.agent, tool=call.tool, step_index=index, breakpoints=points)
    return None


def _spec_approvals(agent: Agent, call: ToolCall) -> tuple[str, ...]:
    meta = call.metadata
    try:
        spec = agent.find(meta.agent).spec if meta.agent else agent.spec
        return spec.node(meta.node).approve_tools if meta.node else ()
    except Exception:  # noqa: BLE001  (a step of an unknown node or agent: no spec asks about it)
        return ()


# --- the pause on the store ----------------------------------------------------------------


def save_pause(store: Store, pause: Pause) -> None:
    with store.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO pauses (tape_id, data, created_at) VALUES (?, ?, ?)",
                     (pause.tape_id, pause.model_dump_json(), utc_now().isoformat()))


def load_pause(store: Store, tape_id: str) -> Pause | None:
    rows = store.query("SELECT data FROM pauses WHERE tape_id = ?", (tape_id,))
    return Pause.model_validate_json(rows[0][0]) if rows else None


def clear_pause(store: Store, tape_id: str) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM pauses WHERE tape_id = ?", (tape_id,))


def awaiting(store: Store, tape_id: str) -> Pause:
    """The undecided pause of a tape, or InputError saying why there is none."""
    pause = load_pause(store, tape_id)
    if not store.has_tape(tape_id):
        raise NotFoundError(f"no tape with id {tape_id!r}")
    if pause is None or pause.approved:
        status = store.summary(tape_id).status
        raise InputError(f"tape {tape_id!r} is not awaiting approval (it is {status.replace('_', ' ')})")
    return pause


def resume_point(store: Store, tape_id: str, breakpoints: Breakpoints | None) -> tuple[Breakpoints, int | None]:
    """The breakpoints and the approved tape length for the next run of a stored tape: those of its
    paused run joined with `breakpoints`, and where its approved pause was (None: none approved)."""
    given = breakpoints or Breakpoints()
    pause = load_pause(store, tape_id)
    if pause is None:
        return given, None
    kept = pause.breakpoints
    joined = Breakpoints(nodes=tuple(dict.fromkeys(kept.nodes + given.nodes)),
                         tools=tuple(dict.fromkeys(kept.tools + given.tools)))
    return joined, pause.index if pause.approved else None


# --- decisions -------------------------------------------------------------------------------


def approve(store: Store, tape_id: str) -> Pause:
    """Marks the pause approved; the next run of the tape makes the pending step as it is."""
    pause = awaiting(store, tape_id).model_copy(update={"approved": True})
    with store.transaction() as conn:
        conn.execute("UPDATE pauses SET data = ? WHERE tape_id = ?", (pause.model_dump_json(), tape_id))
        conn.execute("UPDATE tapes SET status = 'paused', updated_at = ? WHERE id = ?", (utc_now().isoformat(), tape_id))
    return pause


def reject(store: Store, tape_id: str, reason: str) -> StepBase:
    """Appends what the agent reads about the refusal and clears the pause; returns that step."""
    pause = awaiting(store, tape_id)
    reason = reason.strip() or "no reason given"
    if len(reason) > 2000:
        raise InputError("--reject: the reason is longer than 2000 characters")
    tape = store.load_tape(tape_id)
    if pause.before == "tool":
        calls = [step for step in tape.steps[pause.step_index or 0:] if isinstance(step, ToolCall)]
        steps: list[StepBase] = [ToolResult(tool=call.tool, content=f"rejected by the user: {reason}", is_error=True)
                                 for call in calls]
        status = "paused"
    else:
        steps = [ErrorStep(source="loop", message=f"rejected by the user before node {pause.node!r}: {reason}")]
        status = "failed"
    steps = [_by_user(step, pause) for step in steps]
    for offset, step in enumerate(steps):
        store.append_step(tape_id, len(tape.steps) + offset, step)
    error = steps[-1].summary() if status == "failed" else ""
    store.set_status(tape_id, status, error=error)  # type: ignore[arg-type]
    clear_pause(store, tape_id)
    return steps[-1]


def edit(ws: Workspace, tape_id: str, data: dict[str, object]) -> Tape:
    """A fork whose pending tool call is `data` (validated like any edited step), approved as
    edited; the paused tape stays as it was, now `paused`. Returns the fork (saved, not run)."""
    pause = awaiting(ws.store, tape_id)
    if pause.before != "tool" or pause.step_index is None:
        raise InputError(f"tape {tape_id!r} is paused before node {pause.node!r}: there is no step to edit yet; "
                         "approve or reject it")
    tape = ws.store.load_tape(tape_id)
    rest = [step.model_dump(mode="json") for step in tape.steps[pause.step_index + 1:]]
    fork = ws.fork(tape_id, pause.step_index, [data, *rest])
    if not isinstance(fork.steps[pause.step_index], ToolCall):
        ws.store.delete_tape(fork.id)
        raise InputError(f"--edit: the pending step is a tool call; got a {fork.steps[pause.step_index].kind!r} step")
    save_pause(ws.store, pause.model_copy(update={"tape_id": fork.id, "approved": True}))
    with ws.store.transaction() as conn:
        conn.execute("UPDATE tapes SET status = 'paused', updated_at = ? WHERE id = ?", (utc_now().isoformat(), tape_id))
        conn.execute("DELETE FROM pauses WHERE tape_id = ?", (tape_id,))
    return fork


def parse_edit(text: str) -> dict[str, object]:
    """The JSON of an edited step (--edit or the studio's editor), checked for shape."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--edit: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise InputError("--edit: expected a JSON object, e.g. {\"kind\": \"tool_call\", \"tool\": ..., \"arguments\": {...}}")
    data.setdefault("kind", "tool_call")
    return data


def _by_user(step: StepBase, pause: Pause) -> StepBase:
    # Like the environment's own results, a refusal of a tool call belongs to no node; before a
    # node, the error is that node's, as the loop's own errors are.
    owner = (pause.node, pause.agent) if pause.before == "node" else ("", "")
    meta = step.metadata.model_copy(update={"node": owner[0], "agent": owner[1], "other": {"edited_by": "user"}})
    return step.model_copy(update={"metadata": meta})
