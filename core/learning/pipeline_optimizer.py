"""Pipeline optimizer: one call per step proposing at most one typed edit of the graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import JsonValue, ValidationError

from tape_studio.core.learning import structured
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.edits import EDIT_ADAPTER, EditError, apply_edit
from tape_studio.core.learning.prompts import PIPELINE_OPTIMIZER
from tape_studio.core.llm import LLMCall
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import StepMetadata
from tape_studio.core.learning.steps import AggregatedGradient, Proposal


def describe_graph(spec: AgentSpec) -> str:
    steps = "\n".join(f"- {n.name} ({n.type}): {n.description or '(no description)'}" for n in spec.nodes)
    edges = ", ".join(f"{e.source} -> {e.target}" + (f" [after {e.when}]" if e.when else "") for e in spec.edges)
    return f"Steps:\n{steps}\nEdges: {edges or '(none)'}"


def propose_pipeline(
    ctx: Context, spec: AgentSpec, gradients: Sequence[AggregatedGradient]
) -> tuple[Proposal, LLMCall]:
    feedback = "\n".join(f"- {g.node}: {structured.clip(g.text, 300)}" for g in gradients)
    call = ctx.llm_for("pipeline_optimizer").complete(
        PIPELINE_OPTIMIZER.build(f"{describe_graph(spec)}\nFeedback:\n{feedback}"), params=PIPELINE_OPTIMIZER.params)
    data = structured.read_object(call.output) if not call.error else None
    changes, reasons = edit_from_output(data)
    if not reasons:
        try:
            apply_edit(spec, EDIT_ADAPTER.validate_python(changes))
        except ValidationError as exc:
            first = exc.errors()[0]
            reasons = [f"{'.'.join(str(p) for p in first['loc'][1:]) or 'edit'}: {first['msg']}"]
        except EditError as exc:
            reasons = [str(exc)]
    if data is None:
        reasons = [call.error or "the output is not the JSON object asked for"]
    meta = StepMetadata(node="pipeline_optimizer", agent="trainer", prompt_id=call.prompt_id)
    return Proposal(metadata=meta, optimizer="pipeline", target="graph", changes=changes, valid=not reasons,
                    reasons=tuple(reasons), raw=call.output), call


def edit_from_output(data: dict[str, Any] | None) -> tuple[dict[str, JsonValue], list[str]]:
    """The typed edit the flat output describes (small models fill flat forms best)."""
    if data is None:
        return {}, ["unreadable"]
    get = lambda name: structured.field_text(data, name, 400)
    op = get("op")
    if op in ("", "none"):
        return {"op": "none"}, ["no change proposed"]
    shapes: dict[str, dict[str, JsonValue]] = {
        "add_node": {"name": get("node"), "after": get("after"), "instruction": get("text"), "description": get("text")},
        "remove_node": {"name": get("node")},
        "update_description": {"name": get("node"), "description": get("text")},
        "rewire": {"source": get("node"), "target": get("target")},
    }
    if op not in shapes:
        return {"op": op}, [f"unknown edit {op!r}"]
    return {"op": op, **shapes[op]}, []
