"""Fine-tuning data from tapes: for each LLM-made step group, the prompt and the completion behind it.

Both are rebuilt through the node itself, not copied from the recorded call: the agent is asked
what it would do on the tape prefix before the group (`Agent.next_move` gives the node and its
view), the node makes the prompt, and the node renders the group's steps back into its output
format (`render`, the inverse of `parse`). So a hand-edited, revised or forked tape yields the
prompt and completion that would have produced it. A tape with no agent spec here (a foreign
tape) falls back to its recorded LLM calls: the messages that were sent and the raw output.
Groups that cannot be rebuilt are reported with the reason, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, JsonValue

from tape_studio.core.agent import Agent, Visit
from tape_studio.core.errors import TapeStudioError
from tape_studio.core.llm import LLMCall
from tape_studio.core.nodes import ParseError, node_type
from tape_studio.core.tape import StepBase, Tape

Message = dict[str, JsonValue]
Record = dict[str, list[Message]]
"""One line of a fine-tuning file: named lists of chat messages."""


class Skipped(BaseModel):
    """A step group that yields no record, and why."""

    tape_id: str
    steps: str
    """The group's step indexes, e.g. "1-2"."""
    reason: str


@dataclass(frozen=True)
class StepGroup:
    """One node turn on a tape: steps [start, stop), the prompt that leads to them and their completion."""

    start: int
    stop: int
    node: str
    agent: str
    prompt: list[Message]
    completion: str
    source: Literal["node", "recorded"]
    """"node": rebuilt through the node; "recorded": copied from the recorded call (no spec here)."""

    def record(self) -> Record:
        """The OpenAI chat fine-tuning record: the prompt's messages, then the completion as the assistant."""
        return {"messages": [*self.prompt, {"role": "assistant", "content": self.completion}]}


def step_groups(tape: Tape, agent: Agent | None, calls: Mapping[str, LLMCall]) -> tuple[list[StepGroup], list[Skipped]]:
    """Every LLM-made step group of `tape` that can be rebuilt, and those that cannot (with reasons).

    Steps without a node (tasks, tool results, user steps) and error steps belong to no group;
    groups of rule-based nodes are not LLM-made and are left out silently."""
    groups: list[StepGroup] = []
    skipped: list[Skipped] = []
    index = 0
    while index < len(tape.steps):
        step = tape.steps[index]
        if not step.metadata.node or step.family == "error":
            index += 1
            continue
        if agent is not None:
            stop, result = _node_group(tape, index, agent)
        else:
            stop, result = _recorded_group(tape, index, calls)
        if isinstance(result, StepGroup):
            groups.append(result)
        elif result:
            skipped.append(Skipped(tape_id=tape.id, steps=_span(index, stop), reason=result))
        index = stop
    return groups, skipped


def _node_group(tape: Tape, start: int, agent: Agent) -> tuple[int, StepGroup | str]:
    first = tape.steps[start]
    try:
        move = agent.next_move(tape.model_copy(update={"steps": tape.steps[:start]}))
    except TapeStudioError as exc:
        return _run_end(tape, start), f"the agent cannot continue the prefix: {exc}"
    if not isinstance(move, Visit):
        return _run_end(tape, start), f"the agent would not run a node here ({type(move).__name__.lower()})"
    node, kind = move.node, node_type(move.node)
    if (move.agent.name, node.name) != (first.metadata.agent or move.agent.name, first.metadata.node):
        return _run_end(tape, start), (f"the agent would run {move.agent.name}.{node.name} here, "
                                       f"the tape has {first.metadata.agent}.{first.metadata.node}")
    stop = _run_end(tape, start, kind.terminal_kinds)
    if not kind.needs_llm:
        return stop, ""
    steps = [s for s in tape.steps[start:stop] if s.family != "error"]
    tools = move.agent.tools_of(node)
    try:
        prompt = kind.make_prompt(node, move.view, tools)
        completion = kind.render(node, steps, tools)
        reparsed = kind.parse(node, completion, tools)
    except (TapeStudioError, ParseError, StopIteration, LookupError, ValueError) as exc:
        return stop, f"node {node.name!r} cannot render {_kinds(steps)}: {type(exc).__name__}: {exc}"
    if [s.body() for s in reparsed] != [s.body() for s in steps]:
        return stop, f"node {node.name!r} would read its rendering back as {_kinds(reparsed)}, not {_kinds(steps)} as written"
    return stop, StepGroup(start, stop, node.name, move.agent.name, list(prompt.messages), completion, "node")


def _recorded_group(tape: Tape, start: int, calls: Mapping[str, LLMCall]) -> tuple[int, StepGroup | str]:
    prompt_id = tape.steps[start].metadata.prompt_id
    stop = start + 1
    while stop < len(tape.steps) and prompt_id and tape.steps[stop].metadata.prompt_id == prompt_id:
        stop += 1
    call = calls.get(prompt_id) if prompt_id else None
    if call is None:
        return stop, "no agent spec to rebuild it and no recorded LLM call"
    if call.error:
        return stop, f"its LLM call failed: {call.error}"
    meta = tape.steps[start].metadata
    return stop, StepGroup(start, stop, meta.node, meta.agent, list(call.messages), call.output, "recorded")


def _run_end(tape: Tape, start: int, terminal: frozenset[str] = frozenset()) -> int:
    """End of the node turn starting at `start`: same node and agent, up to its first terminal step."""
    first = tape.steps[start].metadata
    stop = start
    while stop < len(tape.steps):
        meta = tape.steps[stop].metadata
        if (meta.node, meta.agent) != (first.node, first.agent):
            break
        stop += 1
        if tape.steps[stop - 1].kind in terminal:
            break
    return stop


def _span(start: int, stop: int) -> str:
    return str(start) if stop - start <= 1 else f"{start}-{stop - 1}"


def _kinds(steps: list[StepBase]) -> str:
    return "[" + ", ".join(s.kind for s in steps) + "]"
