"""Typed pipeline edits (add node, remove node, update description, rewire) validated against the graph.

Edges stay explicit after any edit: an inserted node takes over its predecessor's outgoing edges
with their conditions, and nothing becomes LLM-routed. An edit that leaves a node unreachable or
no way to reach an answer is refused with the reason.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents

NodeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,23}$")]
NEW_NODE_TEMPLATE = "Question: {task}\nSo far:\n{history}"
"""What an inserted node reads: the task and the steps before it (fields every node type has)."""


class EditError(ValueError):
    """An edit that does not fit the graph; the reason is recorded on the rejected proposal."""


class AddNode(BaseModel):
    """Insert a new `write` node after `after`; it inherits `after`'s outgoing edges."""

    model_config = ConfigDict(frozen=True)

    op: Literal["add_node"] = "add_node"
    name: NodeName
    after: str
    instruction: str = Field(min_length=1, max_length=400)
    description: str = Field(min_length=1, max_length=200)


class RemoveNode(BaseModel):
    """Remove a node; its predecessors point to its single successor instead."""

    model_config = ConfigDict(frozen=True)

    op: Literal["remove_node"] = "remove_node"
    name: str


class UpdateDescription(BaseModel):
    """Change what a node is said to do (read by the backward pass and by people)."""

    model_config = ConfigDict(frozen=True)

    op: Literal["update_description"] = "update_description"
    name: str
    description: str = Field(min_length=1, max_length=200)


class Rewire(BaseModel):
    """Point `source`'s edge (the one with condition `when`) to `target`."""

    model_config = ConfigDict(frozen=True)

    op: Literal["rewire"] = "rewire"
    source: str
    target: str
    when: str | None = None


PipelineEdit = Annotated[AddNode | RemoveNode | UpdateDescription | Rewire, Field(discriminator="op")]
EDIT_ADAPTER: TypeAdapter[PipelineEdit] = TypeAdapter(PipelineEdit)


def apply_edit(spec: AgentSpec, edit: PipelineEdit) -> AgentSpec:
    """The spec after `edit`, as a new version; raises EditError if the result would be broken."""
    names = [node.name for node in spec.nodes]
    if isinstance(edit, AddNode):
        nodes, edges, entry = _add(spec, edit, names)
    elif isinstance(edit, RemoveNode):
        nodes, edges, entry = _remove(spec, edit, names)
    elif isinstance(edit, UpdateDescription):
        _need(edit.name, names)
        nodes = tuple(n.model_copy(update={"description": edit.description}) if n.name == edit.name else n
                      for n in spec.nodes)
        edges, entry = spec.edges, spec.entry
    else:
        nodes, edges, entry = spec.nodes, _rewire(spec, edit, names), spec.entry
    try:
        result = spec.derive(nodes=[n.model_dump() for n in nodes], edges=[e.model_dump() for e in edges], entry=entry)
    except ValueError as exc:
        raise EditError(str(exc).splitlines()[-1]) from None
    check_graph(result)
    return result


def _need(name: str, names: list[str]) -> None:
    if name not in names:
        raise EditError(f"no node named {name!r} (nodes: {', '.join(names)})")


def _add(spec: AgentSpec, edit: AddNode, names: list[str]) -> tuple[tuple[NodeSpec, ...], tuple[Edge, ...], str]:
    _need(edit.after, names)
    if edit.name in names:
        raise EditError(f"a node named {edit.name!r} exists already")
    new = NodeSpec(name=edit.name, type="write", description=edit.description, max_tokens=96,
                   prompt=PromptComponents(instruction=edit.instruction, input_template=NEW_NODE_TEMPLATE))
    moved = tuple(e.model_copy(update={"source": edit.name, "when": None}) for e in spec.edges if e.source == edit.after)
    # The new node ends its turn with a thought, so its own edge is unconditional.
    if len({e.target for e in moved}) != 1:
        raise EditError(f"node {edit.after!r} needs exactly one next step to insert before (it has {len(moved)})")
    kept = tuple(e.model_copy(update={"target": edit.name}) if e.source == edit.after else e for e in spec.edges)
    position = names.index(edit.after) + 1
    return spec.nodes[:position] + (new,) + spec.nodes[position:], _unique(kept + moved), spec.entry


def _remove(spec: AgentSpec, edit: RemoveNode, names: list[str]) -> tuple[tuple[NodeSpec, ...], tuple[Edge, ...], str]:
    _need(edit.name, names)
    targets = {e.target for e in spec.edges if e.source == edit.name and e.target != edit.name}
    if len(targets) > 1:
        raise EditError(f"node {edit.name!r} has several next steps; rewire first")
    successor = next(iter(targets), None)
    if successor is None and any(e.target == edit.name for e in spec.edges):
        raise EditError(f"node {edit.name!r} has no next step for its predecessors to use")
    edges = tuple(e.model_copy(update={"target": successor}) if e.target == edit.name else e
                  for e in spec.edges if e.source != edit.name)
    entry = successor if spec.entry == edit.name else spec.entry
    if entry is None:
        raise EditError(f"node {edit.name!r} is the entry and has no next step")
    return tuple(n for n in spec.nodes if n.name != edit.name), _unique(edges), entry


def _rewire(spec: AgentSpec, edit: Rewire, names: list[str]) -> tuple[Edge, ...]:
    _need(edit.source, names)
    _need(edit.target, names)
    if edit.source == edit.target:
        raise EditError(f"a node may not lead to itself ({edit.source!r})")
    if not any(e.source == edit.source and e.when == edit.when for e in spec.edges):
        raise EditError(f"node {edit.source!r} has no edge with condition {edit.when!r} to rewire")
    return tuple(e.model_copy(update={"target": edit.target}) if e.source == edit.source and e.when == edit.when
                 else e for e in spec.edges)


def _unique(edges: tuple[Edge, ...]) -> tuple[Edge, ...]:
    return tuple(dict.fromkeys(edges))


def can_finish(node: NodeSpec) -> bool:
    return node.type == "answer" or (node.type == "write" and node.settings.get("emits") == "final_answer")


def check_graph(spec: AgentSpec) -> None:
    """Every node reachable from the entry, and some reachable node able to give the answer."""
    reached, frontier = {spec.entry}, [spec.entry]
    while frontier:
        current = frontier.pop()
        for edge in spec.edges:
            if edge.source == current and edge.target not in reached:
                reached.add(edge.target)
                frontier.append(edge.target)
    unreachable = [node.name for node in spec.nodes if node.name not in reached]
    if unreachable:
        raise EditError(f"node {unreachable[0]!r} would be unreachable from the entry {spec.entry!r}")
    if not any(can_finish(node) for node in spec.nodes):
        raise EditError("no node would be left to give the final answer")
