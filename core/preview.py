"""Cost preview of a rerun: which LLM calls continuing a tape will make, which of them the cache
answers, and what the new ones are expected to cost, before anything is spent.

The agent is simulated on a copy of the tape: each visit builds the exact prompt the real run
would send and looks it up in the cache. While the cache answers, the simulation goes on with
those answers (and the environment's tools, if given), so a fully cached rerun is previewed
exactly. At the first call the cache cannot answer, the model's reply is unknown: the rest of the
path is estimated from the spec's graph and sized from the calls recorded on a reference tape
(usually the tape being rerun). Nothing here calls a model or writes to a store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.agent import Agent, Finish, React, Stuck, Visit
from tape_studio.core.cache import CachedResponse, LLMCache, LLMRequest
from tape_studio.core.environment import Environment
from tape_studio.core.llm import LLMCall
from tape_studio.core.nodes import NodeType, ParseError, node_type
from tape_studio.core.spec import NodeSpec
from tape_studio.core.tape import StepBase, Tape, new_id

CallSource = Literal["cache", "model", "estimate"]


class CallEstimate(BaseModel):
    """One LLM call the rerun is expected to make."""

    model_config = ConfigDict(frozen=True)

    agent: str
    node: str
    source: CallSource
    """cache: answered from the cache (free); model: a new call with a known prompt; estimate: a
    call further down the graph whose prompt depends on answers not known yet."""
    prompt_tokens: int
    completion_tokens: int
    cost: float = 0.0
    exact: bool = False
    """True when the token counts come from the cache's record of this very prompt."""


class RerunPreview(BaseModel):
    """What continuing a tape is expected to cost."""

    model_config = ConfigDict(frozen=True)

    calls: tuple[CallEstimate, ...]
    outcome: str
    """How the simulation ended, in words (e.g. "finishes with an answer")."""
    exact: bool
    """True when every call was known (the whole rerun is answered from the cache)."""
    open_ended: bool = False
    """The graph loops after the first unknown answer, so the count is a lower bound."""

    @property
    def cached_calls(self) -> int:
        return sum(call.source == "cache" for call in self.calls)

    @property
    def new_calls(self) -> int:
        return len(self.calls) - self.cached_calls

    @property
    def new_tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls if c.source != "cache")

    @property
    def cost(self) -> float:
        return sum(call.cost for call in self.calls if call.source != "cache")


def preview_rerun(
    agent: Agent,
    tape: Tape,
    cache: LLMCache | None,
    env: Environment | None = None,
    reference: Tape | None = None,
    calls: Mapping[str, LLMCall] | None = None,
) -> RerunPreview:
    """Previews `run(agent, env, tape)`. `reference` and `calls` (prompt_id → call) size the calls
    that cannot be known; `env` lets the simulation pass tool calls (its tools are run, so give
    it only tools without side effects)."""
    sizes = _recorded_sizes(reference, calls or {})
    # A fresh id: the agent keeps a frame scan per tape id, and the simulated steps are not real.
    sim = tape.with_metadata(id=new_id())
    estimates: list[CallEstimate] = []
    visits = 0
    while True:
        move = agent.next_move(sim)
        if isinstance(move, Finish):
            return RerunPreview(calls=tuple(estimates), outcome="finishes with an answer", exact=True)
        if isinstance(move, Stuck):
            return RerunPreview(calls=tuple(estimates), outcome=f"stops: {move.reason}", exact=True)
        if isinstance(move, React):
            if env is None:
                return _estimate_rest(agent, sim, None, estimates, sizes, "waits for a tool result")
            sim = sim.append(*env.react(sim))
            continue
        visits += 1
        if visits > agent.spec.max_iterations:
            return RerunPreview(calls=tuple(estimates), outcome="stops at the node-visit limit", exact=True)
        kind = node_type(move.node)
        if not kind.needs_llm:
            sim = sim.append(*_stamp(kind.rule_steps(move.node, move.view), move))
            continue
        request = prompt_request(move)
        hit = cache.get(request) if cache is not None else None
        if hit is None or move.agent.llm.mode == "live":
            estimates.append(_new_call(move, request, hit, sizes))
            if hit is None:
                return _estimate_rest(agent, sim, move, estimates, sizes, f"needs a new answer from node {move.node.name!r}")
        else:
            estimates.append(CallEstimate(agent=move.agent.name, node=move.node.name, source="cache",
                                          prompt_tokens=hit.prompt_tokens, completion_tokens=hit.completion_tokens,
                                          exact=True))
        steps = _parse(kind, move, hit.output)
        if steps is None:
            return RerunPreview(calls=tuple(estimates), exact=True,
                                outcome=f"ends with an error: node {move.node.name!r} cannot read its recorded answer")
        sim = sim.append(*_stamp(steps, move))


def prompt_request(visit: Visit) -> LLMRequest:
    """The request (and so the cache key) that `Agent.run_node(visit)` sends."""
    agent, node = visit.agent, visit.node
    prompt = node_type(node).make_prompt(node, visit.view, agent.tools_of(node))
    return agent.llm.request(prompt, model=agent.spec.models.get(node.role),
                             params={"max_tokens": node.max_tokens, **node.params})


# --- calls the cache cannot answer ---------------------------------------------------------------


_Sizes = dict[tuple[str, str], list[LLMCall]]


def _recorded_sizes(reference: Tape | None, calls: Mapping[str, LLMCall]) -> _Sizes:
    """Recorded calls per (agent, node), latest last: the best guide to what a node's call costs."""
    sizes: _Sizes = {}
    seen: set[str] = set()
    for step in reference.steps if reference is not None else ():
        prompt_id = step.metadata.prompt_id
        if prompt_id and prompt_id not in seen and prompt_id in calls:
            seen.add(prompt_id)
            sizes.setdefault((step.metadata.agent, step.metadata.node), []).append(calls[prompt_id])
    return sizes


def _new_call(visit: Visit, request: LLMRequest, hit: CachedResponse | None, sizes: _Sizes) -> CallEstimate:
    agent, node = visit.agent.name, visit.node.name
    if hit is not None:  # live mode: the call is made anyway, and the cache knows its size
        return CallEstimate(agent=agent, node=node, source="model", prompt_tokens=hit.prompt_tokens,
                            completion_tokens=hit.completion_tokens, exact=True,
                            cost=_recorded_cost(sizes.get((agent, node), [])))
    return _sized(agent, visit.node, "model", request, sizes)


def _sized(agent: str, node: NodeSpec, source: CallSource, request: LLMRequest | None, sizes: _Sizes) -> CallEstimate:
    recorded = [call for call in sizes.get((agent, node.name), []) if not call.error]
    if recorded:
        last = recorded[-1]
        prompt_tokens, completion_tokens = last.prompt_tokens, last.completion_tokens
    else:
        # No record: about four characters per token for the prompt, the node's cap for the answer.
        text = "".join(str(m.get("content", "")) for m in request.messages) if request else node.prompt.instruction
        prompt_tokens, completion_tokens = max(1, len(text) // 4), node.max_tokens
    return CallEstimate(agent=agent, node=node.name, source=source, prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens, cost=_recorded_cost(recorded))


def _recorded_cost(recorded: list[LLMCall]) -> float:
    paid = [call.cost for call in recorded if not call.cached and call.cost > 0]
    return paid[-1] if paid else 0.0


def _estimate_rest(
    root: Agent, sim: Tape, missed: Visit | None, estimates: list[CallEstimate], sizes: _Sizes, outcome: str
) -> RerunPreview:
    """Adds the calls of the nodes that would follow, walking the graph from where the simulation
    stopped out through every open sub-agent frame to the root agent's end."""
    stack, _ = root.frames(sim)
    rest: list[tuple[Agent, NodeSpec]] = []
    open_ended = False
    for depth in range(len(stack) - 1, -1, -1):
        agent = root.find(stack[depth].agent)
        if depth == len(stack) - 1 and missed is not None:
            start = _after(agent, missed.node)
        elif depth == len(stack) - 1:
            start = _pending_node(agent, sim, stack[depth].indices)
        else:
            caller_node = sim.steps[stack[depth].indices[-1]].metadata.node
            start = agent.spec.successor(caller_node, "call_agent") if caller_node else None
        walked, looped = _walk(root, agent, start)
        rest += walked
        open_ended = open_ended or looped
    estimates = estimates + [_sized(agent.name, node, "estimate", None, sizes) for agent, node in rest]
    return RerunPreview(calls=tuple(estimates), outcome=outcome, exact=False, open_ended=open_ended)


def _pending_node(agent: Agent, sim: Tape, indices: list[int]) -> str | None:
    """After a tool call, the node that made it continues down its edges."""
    for index in reversed(indices):
        step = sim.steps[index]
        if step.metadata.node and step.metadata.agent == agent.name:
            return agent.spec.successor(step.metadata.node, step.kind)
    return agent.spec.entry


def _after(agent: Agent, node: NodeSpec) -> str | None:
    return agent.spec.successor(node.name, _likely_kind(node))


def _walk(root: Agent, agent: Agent, start: str | None) -> tuple[list[tuple[Agent, NodeSpec]], bool]:
    """LLM nodes visited from `start` to the end of `agent`'s graph (sub-agents expanded); stops at
    the first node seen twice, since how often a loop turns depends on the model's answers."""
    walked: list[tuple[Agent, NodeSpec]] = []
    seen: set[str] = set()
    name = start
    while name is not None:
        if name in seen:
            return walked, True
        seen.add(name)
        node = agent.spec.node(name)
        if node_type(node).needs_llm:
            walked.append((agent, node))
        elif node.type == "delegate" and node.settings.get("agent"):
            sub = root.find(node.settings["agent"])
            inner, looped = _walk(root, sub, sub.spec.entry)
            walked += inner
            if looped:
                return walked, True
        name = agent.spec.successor(name, _likely_kind(node))
    return walked, False


def _likely_kind(node: NodeSpec) -> str:
    """The kind a node's turn most likely ends with (which edge the graph will take after it)."""
    kinds = sorted(node_type(node).terminal_kinds)
    if node.type == "write":
        return "final_answer" if node.settings.get("emits") == "final_answer" else "thought"
    return kinds[0]


# --- replaying a cached answer -------------------------------------------------------------------


def _parse(kind: NodeType, visit: Visit, output: str) -> list[StepBase] | None:
    try:
        steps = kind.parse(visit.node, output, visit.agent.tools_of(visit.node))
    except ParseError:
        return None
    new = steps[len(visit.partial):]
    return new or None


def _stamp(steps: list[StepBase], visit: Visit) -> list[StepBase]:
    """The node and agent the real run stamps on its steps: the next move is computed from them."""
    return [step.model_copy(update={"metadata": step.metadata.model_copy(
        update={"node": visit.node.name, "agent": visit.agent.name})}) for step in steps]
