"""Prompt optimizer: one call per node, revised prompt components as JSON, checked by the guards."""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue, ValidationError

from tape_studio.core.learning import guards, structured
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.prompts import PROMPT_OPTIMIZER
from tape_studio.core.llm import LLMCall
from tape_studio.core.spec import NodeSpec, PromptComponents
from tape_studio.core.tape import StepMetadata
from tape_studio.core.learning.steps import AggregatedGradient, Proposal

DEFAULT_CAP = 800
"""Length cap for a node the run's first version did not have (one added by the pipeline optimizer)."""


def propose_prompt(ctx: Context, node: NodeSpec, gradient: AggregatedGradient) -> tuple[Proposal, LLMCall]:
    call = ctx.llm_for("prompt_optimizer").complete(PROMPT_OPTIMIZER.build(_describe(node, gradient)),
                                                    params=PROMPT_OPTIMIZER.params)
    data = structured.read_object(call.output) if not call.error else None
    changes, reasons = _changes(data), []
    if changes is None:
        reasons = [call.error or "the output is not the JSON object asked for"]
    else:
        reasons = check_prompt(ctx, node, changes)
    meta = StepMetadata(node="prompt_optimizer", agent="trainer", prompt_id=call.prompt_id)
    proposal = Proposal(metadata=meta, optimizer="prompt", target=node.name, changes=changes or {},
                        valid=not reasons, reasons=tuple(reasons), raw=call.output)
    return proposal, call


def _describe(node: NodeSpec, gradient: AggregatedGradient) -> str:
    rules = "\n".join(f"- {rule}" for rule in node.prompt.rules) or "(none)"
    return (f"Job: {node.description or '(none)'}\nInstruction: {node.prompt.instruction}\nRules:\n{rules}\n"
            f"Feedback:\n{gradient.text}")


def _changes(data: dict[str, Any] | None) -> dict[str, JsonValue] | None:
    """The components the output revises; optional ones only when a (stronger) model gave them."""
    if data is None:
        return None
    changes: dict[str, JsonValue] = {"instruction": structured.field_text(data, "instruction", 400),
                                     "rules": list(structured.field_texts(data, "rules", 200, 6))}
    for optional in ("input_template", "output_format"):
        if isinstance(data.get(optional), str):
            changes[optional] = data[optional]
    return changes


def revised(node: NodeSpec, changes: dict[str, JsonValue]) -> PromptComponents:
    return PromptComponents.model_validate({**node.prompt.model_dump(), **changes})


def check_prompt(ctx: Context, node: NodeSpec, changes: dict[str, JsonValue]) -> list[str]:
    """Why these revised components must not be used (empty: they may go to the gate)."""
    try:
        new = revised(node, changes)
    except ValidationError as exc:
        return [f"not valid prompt components: {exc.errors()[0]['msg']}"]
    problems = [
        "the instruction is empty" if not new.instruction.strip() else None,
        guards.template_problem(node.prompt.input_template, new.input_template),
        guards.length_problem(new, ctx.length_caps.get(node.name, DEFAULT_CAP)),
        guards.copy_problem(_text(new), _text(node.prompt), ctx.train_examples),
        "the same as the current prompt" if new == node.prompt else None,
    ]
    return [problem for problem in problems if problem]


def _text(prompt: PromptComponents) -> str:
    return "\n".join([prompt.instruction, *prompt.rules, prompt.output_format, prompt.input_template])
