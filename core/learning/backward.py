"""Backward: textual gradients from the last node visit of a forward tape to the first.

Each visit gets a parameter gradient (how its node's prompt or tools should change) and passes
an input gradient (what it needed from the node before it), which becomes the requirement the
previous visit is judged against. The last visit is judged against the loss feedback.
"""

from __future__ import annotations

from tape_studio.core.errors import NotFoundError, TapeStudioError
from tape_studio.core.learning import structured
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.prompts import BACKWARD
from tape_studio.core.learning.visits import NodeVisit, node_visits
from tape_studio.core.llm import LLMCall
from tape_studio.core.nodes import node_type
from tape_studio.core.spec import AgentSpec, NodeSpec
from tape_studio.core.tape import StepMetadata, Tape
from tape_studio.core.learning.steps import Gradient, Loss

Record = tuple[Gradient, LLMCall | None]


def backward(ctx: Context, spec: AgentSpec, tapes: list[Tape], losses: list[Loss]) -> list[Record]:
    """Gradients for every unsolved example of the minibatch, examples in parallel."""
    pairs = [(tape, loss) for tape, loss in zip(tapes, losses, strict=True)
             if not (ctx.skip_solved and loss.score >= 1.0)]
    per_example = ctx.map(lambda pair: backward_example(ctx, spec, *pair), pairs)
    return [record for records in per_example for record in records]


def backward_example(ctx: Context, spec: AgentSpec, tape: Tape, loss: Loss) -> list[Record]:
    """One tape's gradients, in the order they were written: last visit first."""
    requirement = f"{loss.feedback} (score {loss.score:.2f})"
    records: list[Record] = []
    for visit in reversed(node_visits(tape, spec.name)):
        node = _trainable(spec, visit.node)
        if node is None:
            continue  # a rule-based node has no prompt to change: the requirement passes through
        gradient, call = _gradient(ctx, node, tape, loss, visit, requirement)
        records.append((gradient, call))
        if gradient.input_gradient:
            requirement = f"{gradient.input_gradient} Final result: {structured.clip(loss.feedback, 160)}"
    return records


def _trainable(spec: AgentSpec, name: str) -> NodeSpec | None:
    try:
        node = spec.node(name)
        return node if node_type(node).needs_llm else None
    except (NotFoundError, TapeStudioError):
        return None


def _gradient(
    ctx: Context, node: NodeSpec, tape: Tape, loss: Loss, visit: NodeVisit, requirement: str
) -> tuple[Gradient, LLMCall]:
    call = ctx.llm_for("backward").complete(BACKWARD.build(describe_visit(ctx, node, visit, requirement)),
                                            params=BACKWARD.params)
    data = structured.read_object(call.output) if not call.error else None
    change = structured.field_text(data or {}, "change", 200)
    error = "" if change else (call.error or "the output had no readable 'change'")
    meta = StepMetadata(node="backward", agent="trainer", prompt_id=call.prompt_id)
    gradient = Gradient(metadata=meta, example_id=loss.example_id, tape_id=tape.id, node=node.name,
                        step_index=visit.start, parameter=change,
                        input_gradient=structured.field_text(data or {}, "needed", 160),
                        requirement=requirement, error=error)
    return gradient, call


def describe_visit(ctx: Context, node: NodeSpec, visit: NodeVisit, requirement: str) -> str:
    """What the backward role reads about one visit: job, instruction, input, output, feedback."""
    given, wrote = _call_text(ctx, visit)
    if visit.error:
        wrote += f"\n(This output could not be used: {visit.error})"
    if visit.observation:
        wrote += f"\nThen {structured.clip(visit.observation, 200)}"
    instruction = " ".join([node.prompt.instruction, *node.prompt.rules])
    return (f"Step: {node.name}\nJob: {node.description or '(none)'}\n"
            f"Instruction: {structured.clip(instruction, 400)}\nGiven: {given}\nWrote: {wrote}\n"
            f"Feedback: {structured.clip(requirement, 300)}")


def _call_text(ctx: Context, visit: NodeVisit) -> tuple[str, str]:
    """The visit's last user message and raw output, from its stored LLM call."""
    try:
        call = ctx.store.load_llm_call(visit.prompt_id)
    except NotFoundError:
        return "(unknown)", " ".join(step.summary() for step in visit.steps)
    user = next((str(m.get("content", "")) for m in reversed(call.messages) if m.get("role") == "user"), "")
    return structured.clip(user, 400), structured.clip(call.output or call.error, 300)
