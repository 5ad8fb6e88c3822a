"""Agents run specs: the next move is computed from the tape alone, so any tape resumes.

A tape may hold a team: a `call_agent` step opens a frame for a sub-agent, whose steps follow on
the same tape until its `final_answer` closes the frame and hands the answer to the caller.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

from tape_studio.core.errors import ConfigError
from tape_studio.core.llm import LLM, LLMCall
from tape_studio.core.nodes import ParseError, View, node_type
from tape_studio.core.spec import AgentSpec, NodeSpec
from tape_studio.core.tape import CallAgent, ErrorStep, FinalAnswer, StepBase, Tape, Task, ToolCall
from tape_studio.core.tools import Tool


@dataclass
class Frame:
    """One agent's stretch of the tape: where it starts and which steps are its own."""

    agent: str
    task: str
    indices: list[int] = field(default_factory=list)


@dataclass
class _FrameScan:
    """Frames of a tape prefix; kept so the next step only scans what was appended."""

    length: int
    last_step_id: str
    stack: list[Frame]
    returned: bool


def _advance(scan: _FrameScan, tape: Tape) -> None:
    for index in range(scan.length, len(tape.steps)):
        step = tape.steps[index]
        top = scan.stack[-1]
        scan.returned = False
        if not top.task and isinstance(step, Task):
            top.task = step.text
        if isinstance(step, FinalAnswer) and len(scan.stack) > 1 and step.metadata.agent == top.agent:
            scan.stack.pop()
            scan.stack[-1].indices.append(index)  # the caller sees the sub-agent's answer
            scan.returned = True
            continue
        top.indices.append(index)
        if isinstance(step, CallAgent) and step.metadata.agent == top.agent:
            scan.stack.append(Frame(agent=step.agent, task=step.task))
    scan.length = len(tape.steps)
    scan.last_step_id = tape.steps[-1].metadata.id if tape.steps else ""


class _Prefix(Sequence[int]):
    """The first `stop` items of a list without copying it (frames of long tapes are long)."""

    def __init__(self, items: list[int], stop: int) -> None:
        self._items, self._stop = items, stop

    def __len__(self) -> int:
        return self._stop

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        if isinstance(index, slice):
            return self._items[: self._stop][index]
        if not -self._stop <= index < self._stop:
            raise IndexError(index)
        return self._items[index % self._stop]


@dataclass(frozen=True)
class Finish:
    """The root agent has answered: the tape is complete."""

    answer: str


@dataclass(frozen=True)
class React:
    """Trailing actions wait for the environment."""


@dataclass(frozen=True)
class Visit:
    """Run `node` of `agent` on `view`; `partial` are steps of its turn already on the tape."""

    agent: Agent
    node: NodeSpec
    view: View
    partial: tuple[StepBase, ...]


@dataclass(frozen=True)
class Stuck:
    """No move exists (e.g. no edge out of a node); the reason goes on the tape as an error."""

    reason: str
    node: str
    agent: str


_SCANS_KEPT = 256
"""Frame scans kept per agent; older tapes are rescanned from the start if they come back."""

Move = Union[Finish, React, Visit, Stuck]


class Agent:
    """A spec plus what running it needs: an LLM client, its tools, its sub-agents."""

    def __init__(
        self,
        spec: AgentSpec,
        llm: LLM,
        tools: dict[str, Tool] | None = None,
        subagents: dict[str, Agent] | None = None,
    ) -> None:
        self.spec = spec
        self.llm = llm
        self.tools = tools or {}
        self.subagents = subagents or {}
        self._scans: OrderedDict[str, _FrameScan] = OrderedDict()
        self._scans_lock = threading.Lock()
        for node in spec.nodes:
            node_type(node)  # an unknown node type fails here, before any run starts
            missing = set(node.tools) - set(self.tools)
            if missing:
                raise ConfigError(f"node {node.name!r} of {spec.name!r} uses unknown tools {sorted(missing)}")

    @property
    def name(self) -> str:
        return self.spec.name

    def find(self, name: str) -> Agent:
        """This agent or one of its (nested) sub-agents by name."""
        if name == self.name:
            return self
        for sub in self.subagents.values():
            try:
                return sub.find(name)
            except ConfigError:
                continue
        raise ConfigError(f"agent {self.name!r} has no sub-agent named {name!r}")

    def frames(self, tape: Tape) -> tuple[list[Frame], bool]:
        """The open frames (root first) and whether the last step returned from a sub-agent.

        The scan of each recent tape is kept and extended, so a step costs what it adds, not
        the tape's length; one agent may run many tapes at once (batch work), hence the lock."""
        with self._scans_lock:
            scan = self._scans.pop(tape.id, None)
            stale = scan is None or scan.length > len(tape.steps) or bool(
                scan.length and tape.steps[scan.length - 1].metadata.id != scan.last_step_id)
            if stale:
                scan = _FrameScan(0, "", [Frame(agent=self.name, task="")], False)
            assert scan is not None
            _advance(scan, tape)
            self._scans[tape.id] = scan
            while len(self._scans) > _SCANS_KEPT:
                self._scans.popitem(last=False)
            return scan.stack, scan.returned

    def next_move(self, tape: Tape) -> Move:
        stack, returned = self.frames(tape)
        last = tape.steps[-1] if tape.steps else None
        if last is not None and last.family == "stop" and len(stack) == 1 and not returned:
            return Finish(answer=last.summary())
        if isinstance(last, ToolCall):
            return React()
        frame = stack[-1]
        agent = self.find(frame.agent)
        return agent._next_visit(tape, frame)

    def _next_visit(self, tape: Tape, frame: Frame) -> Visit | Stuck:
        group_start = len(frame.indices)
        node_name = ""
        # Walk back over this agent's trailing turn (steps of one node), skipping nothing else.
        for pos in range(len(frame.indices) - 1, -1, -1):
            step = tape.steps[frame.indices[pos]]
            if not step.metadata.node or step.metadata.agent not in ("", self.name):
                break
            if node_name and step.metadata.node != node_name:
                break
            node_name = step.metadata.node
            group_start = pos
        if not node_name:
            last_own = self._last_own_node(tape, frame)
            target = self.spec.entry if last_own is None else self.spec.successor(*last_own)
            if target is None:
                assert last_own is not None
                return Stuck(f"no edge out of node {last_own[0]!r} after a {last_own[1]!r} step", last_own[0], self.name)
            return self._visit(tape, frame, target, len(frame.indices))
        group = [tape.steps[i] for i in frame.indices[group_start:]]
        node = self.spec.node(node_name)
        done_kinds = node_type(node).terminal_kinds
        finished = [s for s in group if s.family != "error"]
        if finished and group[-1].family != "error" and finished[-1].kind in done_kinds:
            target = self.spec.successor(node_name, finished[-1].kind)
            if target is None:
                return Stuck(f"no edge out of node {node_name!r} after a {finished[-1].kind!r} step", node_name, self.name)
            return self._visit(tape, frame, target, len(frame.indices))
        return self._visit(tape, frame, node_name, group_start)

    def _last_own_node(self, tape: Tape, frame: Frame) -> tuple[str, str] | None:
        for index in reversed(frame.indices):
            step = tape.steps[index]
            if step.metadata.node and step.metadata.agent in ("", self.name) and step.family != "error":
                return step.metadata.node, step.kind
        return None

    def _visit(self, tape: Tape, frame: Frame, node_name: str, group_start: int) -> Visit:
        node = self.spec.node(node_name)
        partial = tuple(tape.steps[i] for i in frame.indices[group_start:] if tape.steps[i].family != "error")
        # A turn cut short by a fork is redone from the same prompt (a cache hit when nothing changed);
        # once a person wrote one of its steps, the node must continue from what they wrote.
        edited = any(not step.metadata.prompt_id or "edited_by" in step.metadata.other for step in partial)
        view = View(tape=tape, agent=self.name, task=frame.task, indices=_Prefix(frame.indices, group_start),
                    partial=partial if edited else ())
        return Visit(agent=self, node=node, view=view, partial=partial)

    def tools_of(self, node: NodeSpec) -> dict[str, Tool]:
        return {name: self.tools[name] for name in node.tools}

    def run_node(self, visit: Visit) -> tuple[list[StepBase], LLMCall | None]:
        """The steps this visit adds (after any partial turn already on the tape) and its LLM call.

        Model faults (an error answer, unreadable output) come back as an error step."""
        node, kind = visit.node, node_type(visit.node)
        tools = self.tools_of(node)
        call: LLMCall | None = None
        if not kind.needs_llm:
            steps = kind.rule_steps(node, visit.view)
        else:
            prompt = kind.make_prompt(node, visit.view, tools)
            model = self.spec.models.get(node.role)
            call = self.llm.complete(prompt, model=model, params={"max_tokens": node.max_tokens, **node.params})
            if call.error:
                return [self._stamp(ErrorStep(source="llm", message=call.error), node, call)], call
            try:
                steps = kind.parse(node, call.output, tools)
            except ParseError as exc:
                error = ErrorStep(source="parse", message=str(exc), detail=call.output)
                return [self._stamp(error, node, call)], call
        new = steps[len(visit.partial):]
        if not new:
            error = ErrorStep(source="agent", message=f"node {node.name!r} had nothing to add to its turn")
            return [self._stamp(error, node, call)], call
        return [self._stamp(step, node, call) for step in new], call

    def _stamp(self, step: StepBase, node: NodeSpec, call: LLMCall | None) -> StepBase:
        meta = step.metadata.model_copy(
            update={"node": node.name, "agent": self.name, "prompt_id": call.prompt_id if call else ""})
        return step.model_copy(update={"metadata": meta})
