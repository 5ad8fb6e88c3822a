"""Typed pipeline edits against the graph, and candidates as new versions of an untouched spec."""

from __future__ import annotations

import pytest

from tape_studio.core.catalog import agent_spec
from tape_studio.core.learning.candidate import build_candidate
from tape_studio.core.learning.edits import (
    EDIT_ADAPTER,
    AddNode,
    EditError,
    RemoveNode,
    Rewire,
    UpdateDescription,
    apply_edit,
    check_graph,
)
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents
from tape_studio.core.learning.steps import Proposal

QA = agent_spec("qa")


def looped() -> AgentSpec:
    """plan -> answer only after a tool result, else plan again: edges with conditions."""
    return QA.derive(edges=[Edge(source="plan", target="answer", when="tool_call").model_dump(),
                            Edge(source="plan", target="plan").model_dump()])


def test_add_node_inserts_after_and_keeps_edges_explicit() -> None:
    spec = apply_edit(QA, AddNode(name="check", after="plan", instruction="Check the fact.", description="Checks."))
    assert [n.name for n in spec.nodes] == ["plan", "check", "answer"]
    assert set(spec.edges) == {Edge(source="plan", target="check"), Edge(source="check", target="answer")}
    assert spec.node("check").prompt.input_template == "Question: {task}\nSo far:\n{history}"
    assert spec.parent_id == QA.id


def test_add_node_keeps_the_predecessors_conditions() -> None:
    spec = QA.derive(edges=[Edge(source="plan", target="answer", when="tool_call").model_dump()])
    added = apply_edit(spec, AddNode(name="check", after="plan", instruction="Check.", description="Checks."))
    assert Edge(source="plan", target="check", when="tool_call") in added.edges


def test_add_node_needs_every_field() -> None:
    with pytest.raises(ValueError, match="instruction"):
        EDIT_ADAPTER.validate_python({"op": "add_node", "name": "check", "after": "plan", "description": "x"})
    with pytest.raises(ValueError):
        EDIT_ADAPTER.validate_python({"op": "add_node", "name": "Bad Name", "after": "plan", "instruction": "x",
                                      "description": "x"})


def test_add_node_refuses_a_branching_predecessor_and_a_taken_name() -> None:
    with pytest.raises(EditError, match="exactly one next step"):
        apply_edit(looped(), AddNode(name="check", after="plan", instruction="x", description="x"))
    with pytest.raises(EditError, match="exists already"):
        apply_edit(QA, AddNode(name="answer", after="plan", instruction="x", description="x"))


def test_remove_node_reconnects_its_predecessors() -> None:
    three = apply_edit(QA, AddNode(name="check", after="plan", instruction="x", description="x"))
    back = apply_edit(three, RemoveNode(name="check"))
    assert back.nodes == QA.nodes and set(back.edges) == set(QA.edges)


def test_removing_the_entry_moves_it_and_removing_the_answer_is_refused() -> None:
    assert apply_edit(QA, RemoveNode(name="plan")).entry == "answer"
    with pytest.raises(EditError, match="no next step for its predecessors"):
        apply_edit(QA, RemoveNode(name="answer"))
    with pytest.raises(EditError, match="final answer"):
        check_graph(AgentSpec(name="x", nodes=(QA.node("plan"),), entry="plan"))
    with pytest.raises(EditError, match="no node named 'ghost'"):
        apply_edit(QA, RemoveNode(name="ghost"))


def test_update_description_changes_only_the_description() -> None:
    spec = apply_edit(QA, UpdateDescription(name="plan", description="Finds the right tool."))
    assert spec.node("plan").description == "Finds the right tool."
    assert spec.node("plan").prompt == QA.node("plan").prompt


def test_rewire_validates_reachability_and_self_loops() -> None:
    two_answers = QA.derive(nodes=[*[n.model_dump() for n in QA.nodes],
                                   NodeSpec(name="short", type="answer", prompt=PromptComponents(
                                       instruction="Answer.")).model_dump()],
                            edges=[Edge(source="plan", target="answer").model_dump(),
                                   Edge(source="answer", target="short").model_dump()])
    with pytest.raises(EditError, match="unreachable"):
        apply_edit(two_answers, Rewire(source="plan", target="short"))
    with pytest.raises(EditError, match="lead to itself"):
        apply_edit(QA, Rewire(source="plan", target="plan"))
    with pytest.raises(EditError, match="no edge with condition"):
        apply_edit(QA, Rewire(source="plan", target="answer", when="tool_call"))


def proposal(optimizer: str, target: str, changes: dict, valid: bool = True) -> Proposal:  # type: ignore[type-arg]
    return Proposal(optimizer=optimizer, target=target, changes=changes, valid=valid)  # type: ignore[arg-type]


def test_a_candidate_is_a_child_version_and_the_current_spec_is_byte_identical() -> None:
    before = QA.model_dump_json()
    candidate = build_candidate(QA, [
        proposal("prompt", "plan", {"instruction": "Pick one tool.", "rules": ["Keywords only."]}),
        proposal("pipeline", "graph", {"op": "update_description", "name": "answer", "description": "Answers."}),
        proposal("prompt", "answer", {"instruction": "Ignored: invalid."}, valid=False)])
    assert candidate is not None and candidate.parent_id == QA.id and candidate.id != QA.id
    assert candidate.node("plan").prompt.rules == ("Keywords only.",)
    assert candidate.node("answer").description == "Answers."
    assert candidate.node("answer").prompt == QA.node("answer").prompt
    assert QA.model_dump_json() == before


def test_no_valid_change_means_no_candidate() -> None:
    same = {"instruction": QA.node("plan").prompt.instruction, "rules": list(QA.node("plan").prompt.rules)}
    assert build_candidate(QA, [proposal("prompt", "plan", same)]) is None
    assert build_candidate(QA, [proposal("prompt", "plan", {"instruction": "x"}, valid=False)]) is None


def test_empty_tool_docs_keep_old_spec_ids() -> None:
    assert QA.id == "qa-5cc1cca33c80"  # the id the demo tapes record
