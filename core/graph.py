"""The agent's graph as the debugger draws it: the nodes, edges and sub-agents of a spec, each node
with its visits and errors on one tape, and the node a run is at.

Pure functions of a spec and the tape's step trail (who made each step); the caller reads the
store. A node that made steps but is not in the spec (an imported tape, an older version) is kept,
marked as off the spec, so nothing on the tape is missing from its graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from tape_studio.core.catalog import subagent_names
from tape_studio.core.errors import TapeStudioError
from tape_studio.core.spec import AgentSpec

TrailRow = tuple[str, str, str]
"""(agent, node, family) of one step, in tape order."""


class GraphNode(BaseModel):
    """One node of one agent, where it sits in the drawing and what it did on the tape."""

    model_config = ConfigDict(frozen=True)

    agent: str
    name: str
    type: str
    """The node's registered type; empty for a node that is not in the spec."""
    visits: tuple[int, ...] = ()
    """Index of the first step of each of its turns on the tape."""
    errors: int = 0
    current: bool = False
    """The node the run is at now (or the one that made the step at the cursor)."""
    column: int = 0
    """Distance from its agent's entry node along the edges."""
    row: int = 0
    """Position within its column, counted across agents so that each agent has its own band."""

    @property
    def key(self) -> str:
        return f"{self.agent}/{self.name}"


class GraphEdge(BaseModel):
    """A transition of the workflow, or a delegate node's call of its sub-agent."""

    model_config = ConfigDict(frozen=True)

    source: str
    """Key of the node it leaves (`agent/node`)."""
    target: str
    label: str = ""
    """The step kind that selects it, or "calls" for a sub-agent."""


class AgentGraph(BaseModel):
    """Nodes (root agent first, then its sub-agents) and edges of a team, with a tape's figures."""

    model_config = ConfigDict(frozen=True)

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def node(self, key: str) -> GraphNode | None:
        return next((node for node in self.nodes if node.key == key), None)


def node_figures(trail: Sequence[TrailRow], root: str) -> dict[tuple[str, str], tuple[list[int], int]]:
    """Per (agent, node): where each of its turns starts and how many error steps it made.

    A turn is a run of consecutive steps by one node; a step without a node (a tool's result)
    ends it. Steps that name no agent belong to the root agent."""
    figures: dict[tuple[str, str], tuple[list[int], int]] = {}
    previous: tuple[str, str] | None = None
    for index, (agent, node, family) in enumerate(trail):
        if not node:
            previous = None
            continue
        who = (agent or root, node)
        starts, errors = figures.setdefault(who, ([], 0))
        if who != previous:
            starts.append(index)
        if family == "error":
            figures[who] = (starts, errors + 1)
        previous = who
    return figures


def team(spec: AgentSpec, subagent: Callable[[str], AgentSpec]) -> list[AgentSpec]:
    """`spec` and its sub-agents, depth first; a sub-agent that cannot be found is left out."""
    found: list[AgentSpec] = []
    stack = [spec]
    while stack:
        current = stack.pop()
        if any(known.name == current.name for known in found):
            continue
        found.append(current)
        for name in sorted(subagent_names(current), reverse=True):
            try:
                stack.append(subagent(name))
            except TapeStudioError:
                continue
    return found


def agent_graph(specs: Sequence[AgentSpec], trail: Sequence[TrailRow], current: tuple[str, str] | None = None,
                root: str = "") -> AgentGraph:
    """The graph of `specs` (root first) with the visits and errors of `trail` and the `current` node.

    `root` names the root agent when there is no spec (an imported tape): its graph is then the
    nodes the tape shows, joined in the order their turns followed one another."""
    root = specs[0].name if specs else root
    figures = node_figures(trail, root)
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    band = 0
    for spec in specs:
        columns = node_columns(spec)
        placed = _place(spec.name, [(node.name, node.type, columns[node.name]) for node in spec.nodes], band)
        off_spec = [name for agent, name in figures if agent == spec.name and name not in columns]
        placed += _place(spec.name, [(name, "", max(columns.values()) + 1) for name in off_spec], band)
        band = max((row for _, _, _, row in placed), default=band - 1) + 1
        nodes += [_node(agent, name, kind, column, row, figures, current) for agent, name, kind, column, row in
                  ((spec.name, *entry) for entry in placed)]
        edges += [GraphEdge(source=f"{spec.name}/{e.source}", target=f"{spec.name}/{e.target}", label=e.when or "")
                  for e in spec.edges]
        for node in spec.nodes:
            called = node.settings.get("agent") if node.type == "delegate" else None
            callee = next((s for s in specs if s.name == called), None)
            if callee is not None:
                edges.append(GraphEdge(source=f"{spec.name}/{node.name}", target=f"{callee.name}/{callee.entry}",
                                       label="calls"))
    known = {(node.agent, node.name) for node in nodes}
    unknown = [who for who in figures if who not in known]  # agents with no spec at hand
    for agent in dict.fromkeys(agent for agent, _ in unknown):
        names = [name for who, name in unknown if who == agent]
        placed = _place(agent, [(name, "", column) for column, name in enumerate(names)], band)
        band = max(row for _, _, _, row in placed) + 1
        nodes += [_node(agent, name, kind, column, row, figures, current) for name, kind, column, row in placed]
        edges += _observed_edges(agent, names, trail, root)
    return AgentGraph(nodes=tuple(nodes), edges=tuple(edges))


def next_visit(node: GraphNode, cursor: int) -> int | None:
    """The first step of the node's first turn after `cursor`, wrapping round to its first turn."""
    later = [start for start in node.visits if start > cursor]
    if later:
        return later[0]
    return node.visits[0] if node.visits else None


def node_columns(spec: AgentSpec) -> dict[str, int]:
    """Each node's distance from the entry along the edges (breadth first); nodes no edge reaches
    stand in a column after the rest. Both drawings of a graph (here, the Train page's) lay out by it."""
    columns = {spec.entry: 0}
    queue = [spec.entry]
    while queue:
        source = queue.pop(0)
        for edge in spec.edges:
            if edge.source == source and edge.target not in columns:
                columns[edge.target] = columns[source] + 1
                queue.append(edge.target)
    last = max(columns.values()) + 1
    return {node.name: columns.get(node.name, last) for node in spec.nodes}


def _place(agent: str, entries: list[tuple[str, str, int]], band: int) -> list[tuple[str, str, int, int]]:
    used: dict[int, int] = {}
    placed = []
    for name, kind, column in entries:
        row = band + used.get(column, 0)
        used[column] = used.get(column, 0) + 1
        placed.append((name, kind, column, row))
    return placed


def _node(agent: str, name: str, kind: str, column: int, row: int,
          figures: dict[tuple[str, str], tuple[list[int], int]], current: tuple[str, str] | None) -> GraphNode:
    starts, errors = figures.get((agent, name), ([], 0))
    return GraphNode(agent=agent, name=name, type=kind, visits=tuple(starts), errors=errors,
                     current=current == (agent, name), column=column, row=row)


def _observed_edges(agent: str, names: list[str], trail: Sequence[TrailRow], root: str) -> list[GraphEdge]:
    seen: dict[tuple[str, str], None] = {}
    previous = ""
    for who, node, _ in trail:
        if (who or root) != agent or not node:
            continue
        if previous and node != previous:
            seen[(previous, node)] = None
        previous = node
    return [GraphEdge(source=f"{agent}/{a}", target=f"{agent}/{b}") for a, b in seen if a in names and b in names]
