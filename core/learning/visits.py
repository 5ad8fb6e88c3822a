"""Node visits: a forward tape cut into the turns of the trained agent's nodes, in order.

Backward walks these from the last to the first. A visit is found by node name on the tape,
never by position, so minibatch examples whose paths differ still line up node by node.
"""

from __future__ import annotations

from dataclasses import dataclass

from tape_studio.core.tape import ErrorStep, Step, Tape, ToolResult


@dataclass(frozen=True)
class NodeVisit:
    """One node's turn: its steps, the call behind them, and what the tools answered right after."""

    node: str
    start: int
    """Index of the visit's first step on the tape."""
    steps: tuple[Step, ...]
    prompt_id: str
    """The visit's last LLM call (a retried turn keeps only its final attempt)."""
    observation: str = ""

    @property
    def error(self) -> str:
        errors = [step.message for step in self.steps if isinstance(step, ErrorStep)]
        return errors[-1] if errors else ""


def node_visits(tape: Tape, agent: str) -> list[NodeVisit]:
    """The visits of `agent`'s own nodes (sub-agents' turns are theirs to train)."""
    visits: list[NodeVisit] = []
    for index, step in enumerate(tape.steps):
        meta = step.metadata
        if isinstance(step, ToolResult) and visits and visits[-1].start + len(visits[-1].steps) <= index:
            visits[-1] = _with_observation(visits[-1], step)
            continue
        if not meta.node or meta.agent != agent:
            continue
        last = visits[-1] if visits else None
        if last is not None and last.node == meta.node and last.start + len(last.steps) == index:
            visits[-1] = NodeVisit(last.node, last.start, last.steps + (step,), meta.prompt_id or last.prompt_id,
                                   last.observation)
        else:
            visits.append(NodeVisit(meta.node, index, (step,), meta.prompt_id))
    return visits


def _with_observation(visit: NodeVisit, result: ToolResult) -> NodeVisit:
    text = (visit.observation + "\n" if visit.observation else "") + f"{result.tool} returned: {result.content}"
    return NodeVisit(visit.node, visit.start, visit.steps, visit.prompt_id, text)
