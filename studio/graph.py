"""The agent's graph on the Tape and Run pages: nodes, edges and sub-agents, each node with its
visits and errors on the tape; the node a run is at is highlighted while it runs (the graph polls
then), else the node of the step at the cursor. Clicking a node jumps to its next visit.

Node and agent names come from specs a user writes, and plotly reads a few HTML tags in text, so
every label is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from tape_studio.core.catalog import AGENTS
from tape_studio.core.errors import NotFoundError
from tape_studio.core.graph import AgentGraph, GraphNode, agent_graph, next_visit, team
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import TapeSummary
from tape_studio.studio.runs import REGISTRY
from tape_studio.studio.state import get_workspace
from tape_studio.studio.words import plural

POLL_S = 0.5
PICKS = "graph_picks"
"""How many nodes were clicked in this session: part of the chart's key, so each click is new."""
COLORS = {"current": "#f28e2b", "visited": "#4e79a7", "idle": "#bab0ac"}
ERROR_RING = "#e15759"


def tape_graph(summary: TapeSummary, cursor: int | None, session: str) -> AgentGraph:
    """The graph of the agent that made the tape, with the tape's figures and the current node."""
    ws = get_workspace()
    trail = ws.store.step_trail(summary.id)
    spec = _spec(summary)
    specs = team(spec, ws.subagent_spec) if spec else []
    root = specs[0].name if specs else summary.agent or "agent"
    live = REGISTRY.get(session, summary.id)
    current: tuple[str, str] | None = None
    if live is not None and not live.done:
        current = live.at_node or _who(trail, len(trail) - 1, root)
    elif cursor is not None:
        current = _who(trail, cursor, root)
    return agent_graph(specs, trail, current, root=root)


def graph_panel(summary: TapeSummary, session: str, cursor: int | None, on_pick: Callable[[int], None]) -> None:
    """Draws the graph; `on_pick(step)` gets the next visit of a clicked node, then the page reruns."""
    live = REGISTRY.get(session, summary.id)
    running = live is not None and not live.done
    st.fragment(run_every=POLL_S if running else None)(_draw)(summary, session, cursor, on_pick)


def _draw(summary: TapeSummary, session: str, cursor: int | None, on_pick: Callable[[int], None]) -> None:
    graph = tape_graph(summary, cursor, session)
    if not graph.nodes:
        st.caption("No graph: the agent that made this tape is not loaded, and no step names a node.")
        return
    picks = int(st.session_state.get(PICKS, 0))
    event = st.plotly_chart(figure(graph), key=f"graph_{summary.id}_{picks}", on_select="rerun",
                            selection_mode="points", config={"displayModeBar": False})
    chosen = _picked(graph, event)
    if chosen is None:
        return
    st.session_state[PICKS] = picks + 1  # a fresh chart, so clicking the same node again is a new click
    target = next_visit(chosen, -1 if cursor is None else cursor)
    if target is None:
        st.toast(f"{chosen.name} has made no step on this tape yet.")
        return
    on_pick(target)
    st.rerun(scope="app")


def figure(graph: AgentGraph) -> go.Figure:
    """Nodes as labelled dots in columns (one band of rows per agent), edges as arrows."""
    nodes = list(graph.nodes)
    where = {node.key: (node.column, -node.row) for node in nodes}
    fig = go.Figure(go.Scatter(
        x=[where[n.key][0] for n in nodes], y=[where[n.key][1] for n in nodes], mode="markers+text",
        text=[_label(n) for n in nodes], textposition="bottom center", hoverinfo="text",
        hovertext=[_hover(n) for n in nodes], customdata=[n.key for n in nodes],
        marker={"size": [30 if n.current else 22 for n in nodes], "color": [_color(n) for n in nodes],
                "line": {"width": [4 if n.errors else 1 for n in nodes],
                         "color": [ERROR_RING if n.errors else "#ffffff" for n in nodes]}},
    ))
    for edge in graph.edges:
        if edge.source == edge.target or edge.source not in where or edge.target not in where:
            continue
        (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowsize=1.2, standoff=14, startstandoff=14, arrowcolor="#888", text="")
        if edge.label:
            fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=html.escape(edge.label, quote=False),
                               showarrow=False, font={"size": 10, "color": "#666"}, yshift=8)
    for agent, row in {n.agent: n.row for n in reversed(nodes)}.items():  # the first row of each agent's band
        fig.add_annotation(x=-0.45, y=-row, text=f"<b>{html.escape(agent, quote=False)}</b>", showarrow=False,
                           xanchor="right", font={"size": 11})
    rows = max(n.row for n in nodes) + 1
    columns = max(n.column for n in nodes) + 1
    fig.update_layout(height=70 + 80 * rows, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
                      xaxis={"visible": False, "range": [-1.4, columns - 0.4]},
                      yaxis={"visible": False, "range": [-rows + 0.4, 0.5]}, clickmode="event+select",
                      dragmode=False, plot_bgcolor="rgba(0,0,0,0)")
    return fig


def _label(node: GraphNode) -> str:
    figures = plural(len(node.visits), "visit") + (f" · {plural(node.errors, 'error')}" if node.errors else "")
    return f"{html.escape(node.name, quote=False)}<br>{figures}"


def _hover(node: GraphNode) -> str:
    kind = node.type or "not in the spec"
    return html.escape(f"{node.agent} / {node.name} ({kind})", quote=False) + "<br>click: jump to its next visit"


def _color(node: GraphNode) -> str:
    return COLORS["current"] if node.current else COLORS["visited"] if node.visits else COLORS["idle"]


def _picked(graph: AgentGraph, event: Mapping[str, Any]) -> GraphNode | None:
    points = (event.get("selection") or {}).get("points") or []
    for point in points:
        index = point.get("point_index", point.get("point_number"))
        if isinstance(index, int) and 0 <= index < len(graph.nodes):
            return graph.nodes[index]
    return None


def _spec(summary: TapeSummary) -> AgentSpec | None:
    if summary.spec_id:
        try:
            return get_workspace().store.load_spec(summary.spec_id)
        except NotFoundError:
            pass
    return AGENTS.find(summary.agent) if summary.agent else None


def _who(trail: list[tuple[str, str, str]], index: int, root: str) -> tuple[str, str] | None:
    if not 0 <= index < len(trail) or not trail[index][1]:
        return None
    agent, node, _ = trail[index]
    return agent or root, node
