"""Tool optimizer: rewrites how one tool is described (description and argument doc) in the spec.

The tool to work on is the one the failing examples called most; its new words go into the
spec's `tool_docs`, which the agent shows the model instead of the built-in description.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tape_studio.core.tools import TOOLS
from tape_studio.core.learning import guards, structured
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.prompts import TOOL_OPTIMIZER
from tape_studio.core.llm import LLMCall
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import StepMetadata, Tape, ToolCall
from tape_studio.core.learning.steps import AggregatedGradient, Proposal


def pick_tool(spec: AgentSpec, failing: Sequence[Tape]) -> str | None:
    """The tool the failing tapes called most (ties by name); None if they called none we can edit."""
    offered = {tool for node in spec.nodes for tool in node.tools if tool in TOOLS}
    counts = Counter(step.tool for tape in failing for step in tape.steps
                     if isinstance(step, ToolCall) and step.tool in offered and step.metadata.agent == spec.name)
    return min(counts, key=lambda name: (-counts[name], name)) if counts else None


def current_doc(spec: AgentSpec, tool: str) -> tuple[str, str, str]:
    """(description, argument name, argument doc) as the spec shows them now."""
    own = TOOLS.get(tool)
    argument = own.main_parameter
    doc = spec.tool_docs.get(tool)
    description = (doc.description if doc and doc.description else own.description)
    argument_doc = (doc.parameters.get(argument) if doc else None) or own.argument_doc(argument)
    return description, argument, argument_doc


def propose_tool(
    ctx: Context, spec: AgentSpec, tool: str, gradients: Sequence[AggregatedGradient]
) -> tuple[Proposal, LLMCall]:
    description, argument, argument_doc = current_doc(spec, tool)
    feedback = "\n".join(g.text for g in gradients)
    user = f"Tool: {tool}({argument})\nDescription: {description}\nArgument {argument}: {argument_doc}\nFeedback:\n{feedback}"
    call = ctx.llm_for("tool_optimizer").complete(TOOL_OPTIMIZER.build(user), params=TOOL_OPTIMIZER.params)
    data = structured.read_object(call.output) if not call.error else None
    new_description = structured.field_text(data or {}, "description", 400)
    new_argument = structured.field_text(data or {}, "argument", 300)
    changes = {"tool": tool, "description": new_description, "parameters": {argument: new_argument} if new_argument else {}}
    reasons = [call.error or "the output is not the JSON object asked for"] if data is None else _problems(
        ctx, (description, argument_doc), (new_description, new_argument))
    meta = StepMetadata(node="tool_optimizer", agent="trainer", prompt_id=call.prompt_id)
    return Proposal(metadata=meta, optimizer="tool", target=tool, changes=changes if data else {},
                    valid=not reasons, reasons=tuple(reasons), raw=call.output), call


def _problems(ctx: Context, old: tuple[str, str], new: tuple[str, str]) -> list[str]:
    problems = [
        "the description is empty" if not new[0] else None,
        "the description is longer than 160 characters" if len(new[0]) > 160 else None,
        "the argument doc is longer than 100 characters" if len(new[1]) > 100 else None,
        guards.copy_problem(" ".join(new), " ".join(old), ctx.train_examples),
        "the same as the current description" if (new[0], new[1] or old[1]) == old else None,
    ]
    return [problem for problem in problems if problem]
