"""The agent's graph of a tape: nodes, edges and sub-agents of the spec, each node's visits and
errors on the tape, the current node, and the next visit a click jumps to."""

from __future__ import annotations

import pytest

from tape_studio.core.errors import ConfigError
from tape_studio.core.graph import GraphNode, agent_graph, next_visit, node_figures, team
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec

QA = AgentSpec(name="qa", nodes=(NodeSpec(name="plan", type="choose_tool"), NodeSpec(name="answer", type="answer")),
               edges=(Edge(source="plan", target="answer", when="tool_result"),), entry="plan")
TEAM = AgentSpec(name="explainer", nodes=(NodeSpec(name="ask", type="delegate", settings={"agent": "qa"}),
                                          NodeSpec(name="explain", type="write")),
                 edges=(Edge(source="ask", target="explain"),), entry="ask")
SPECS = {"qa": QA, "explainer": TEAM}

# task; plan thinks and calls a tool; the tool answers; plan again (a second turn) fails; answer.
TRAIL = [("", "", "thought"), ("qa", "plan", "thought"), ("qa", "plan", "action"), ("", "", "observation"),
         ("qa", "plan", "error"), ("qa", "answer", "stop")]


def subagent(name: str) -> AgentSpec:
    if name not in SPECS:
        raise ConfigError(f"no sub-agent {name!r}")
    return SPECS[name]


def test_a_turn_is_a_run_of_steps_by_one_node_and_a_tool_result_ends_it() -> None:
    figures = node_figures(TRAIL, root="qa")
    assert figures[("qa", "plan")] == ([1, 4], 1)
    assert figures[("qa", "answer")] == ([5], 0)


def test_steps_that_name_no_agent_belong_to_the_root() -> None:
    assert node_figures([("", "plan", "thought")], root="qa") == {("qa", "plan"): ([0], 0)}


def test_nodes_and_edges_come_from_the_spec_with_the_tapes_figures() -> None:
    graph = agent_graph([QA], TRAIL, current=("qa", "answer"))
    plan, answer = graph.node("qa/plan"), graph.node("qa/answer")
    assert plan is not None and answer is not None
    assert (plan.visits, plan.errors, plan.current, plan.type) == ((1, 4), 1, False, "choose_tool")
    assert (answer.visits, answer.current) == ((5,), True)
    assert [(e.source, e.target, e.label) for e in graph.edges] == [("qa/plan", "qa/answer", "tool_result")]
    assert (plan.column, answer.column) == (0, 1)


def test_a_delegate_node_calls_its_sub_agent_which_has_a_band_of_its_own() -> None:
    specs = team(TEAM, subagent)
    assert [s.name for s in specs] == ["explainer", "qa"]
    graph = agent_graph(specs, [("explainer", "ask", "action"), ("qa", "plan", "thought")])
    assert ("explainer/ask", "qa/plan", "calls") in [(e.source, e.target, e.label) for e in graph.edges]
    rows = {node.key: node.row for node in graph.nodes}
    assert min(rows["qa/plan"], rows["qa/answer"]) > max(rows["explainer/ask"], rows["explainer/explain"])
    assert graph.node("qa/plan").visits == (1,)  # type: ignore[union-attr]


def test_a_sub_agent_that_cannot_be_found_is_left_out() -> None:
    lonely = TEAM.model_copy(update={"nodes": (NodeSpec(name="ask", type="delegate", settings={"agent": "gone"}),
                                               TEAM.nodes[1])})
    assert [s.name for s in team(lonely, subagent)] == ["explainer"]


def test_a_node_on_the_tape_but_not_in_the_spec_is_kept() -> None:
    graph = agent_graph([QA], [*TRAIL, ("qa", "review", "thought")])
    review = graph.node("qa/review")
    assert review is not None and review.type == "" and review.visits == (6,)


def test_without_a_spec_the_graph_is_what_the_tape_shows() -> None:
    trail = [("", "user", "thought"), ("", "plan", "thought"), ("", "act", "action"), ("", "plan", "thought")]
    graph = agent_graph([], trail, root="imported")
    assert [node.key for node in graph.nodes] == ["imported/user", "imported/plan", "imported/act"]
    assert {(e.source, e.target) for e in graph.edges} == {
        ("imported/user", "imported/plan"), ("imported/plan", "imported/act"), ("imported/act", "imported/plan")}


@pytest.mark.parametrize(("cursor", "expected"), [(0, 1), (1, 4), (4, 1), (9, 1)])
def test_next_visit_is_the_first_turn_after_the_cursor_then_wraps(cursor: int, expected: int) -> None:
    assert next_visit(GraphNode(agent="qa", name="plan", type="", visits=(1, 4)), cursor) == expected


def test_a_node_never_visited_has_no_next_visit() -> None:
    assert next_visit(GraphNode(agent="qa", name="answer", type="answer"), 0) is None
