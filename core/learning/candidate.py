"""The candidate spec: the current spec with every valid proposal of a step applied, as a new version."""

from __future__ import annotations

from collections.abc import Sequence

from tape_studio.core.learning.edits import EDIT_ADAPTER, EditError, apply_edit
from tape_studio.core.learning.prompt_optimizer import revised
from tape_studio.core.spec import AgentSpec, ToolDoc
from tape_studio.core.learning.steps import Proposal


def build_candidate(spec: AgentSpec, proposals: Sequence[Proposal]) -> AgentSpec | None:
    """A child version of `spec`, or None when no valid proposal changes anything.

    Prompt and tool changes are applied first, then the graph edit, so that a removed node's
    prompt change simply goes with it. `spec` itself is never touched."""
    valid = [p for p in proposals if p.valid]
    nodes = {node.name: node for node in spec.nodes}
    tool_docs = dict(spec.tool_docs)
    for proposal in valid:
        if proposal.optimizer in ("prompt", "demos") and proposal.target in nodes:
            node = nodes[proposal.target]
            nodes[node.name] = node.model_copy(update={"prompt": revised(node, proposal.changes)})
        elif proposal.optimizer == "tool":
            tool_docs[proposal.target] = ToolDoc(description=str(proposal.changes.get("description", "")),
                                                 parameters=dict(proposal.changes.get("parameters") or {}))  # type: ignore[arg-type]
    candidate = spec.derive(nodes=[n.model_dump() for n in nodes.values()],
                            tool_docs={k: v.model_dump() for k, v in tool_docs.items()})
    for proposal in valid:
        if proposal.optimizer == "pipeline":
            try:
                candidate = apply_edit(candidate, EDIT_ADAPTER.validate_python(proposal.changes))
            except (EditError, ValueError):
                continue  # checked when proposed; a clash with this step's other changes drops the edit
    if candidate.id == spec.id:
        return None
    return AgentSpec.model_validate({**candidate.model_dump(exclude={"id"}), "parent_id": spec.id})
