import json

import pytest
from pydantic import ValidationError

from tape_studio.core.errors import ConfigError
from tape_studio.core.spec import AgentSpec, Edge, Example, NodeSpec, PromptComponents


def qa_spec(instruction: str = "Pick a tool.", **changes: object) -> AgentSpec:
    data: dict[str, object] = {
        "name": "qa",
        "nodes": (
            NodeSpec(name="act", type="choose_tool", tools=("lookup", "calculate"),
                     prompt=PromptComponents(instruction=instruction, rules=("Be brief.",),
                                             examples=(Example(input="2+2?", output='{"tool": "calculate"}'),))),
            NodeSpec(name="answer", type="answer", prompt=PromptComponents(instruction="Answer.")),
        ),
        "edges": (
            Edge(source="act", target="answer", when="tool_result"),
            Edge(source="act", target="act"),
        ),
        "entry": "act",
        "models": {"default": "fake/qa"},
    }
    data.update(changes)
    return AgentSpec.model_validate(data)


# --- identity -----------------------------------------------------------------------------


def test_equal_content_gives_equal_id() -> None:
    assert qa_spec().id == qa_spec().id


def test_id_starts_with_the_agent_name() -> None:
    assert qa_spec().id.startswith("qa-")


def test_any_prompt_change_gives_a_new_id() -> None:
    assert qa_spec(instruction="Pick a tool!").id != qa_spec().id


def test_parent_id_is_not_part_of_the_id() -> None:
    assert qa_spec(parent_id="qa-000000000000").id == qa_spec().id


# --- versions -----------------------------------------------------------------------------


def test_derive_makes_a_version_pointing_to_the_parent() -> None:
    parent = qa_spec()
    child = parent.derive(max_iterations=5)
    assert child.parent_id == parent.id
    assert child.max_iterations == 5
    assert child.id != parent.id


def test_derive_leaves_the_parent_byte_identical() -> None:
    parent = qa_spec()
    before = parent.model_dump_json()
    parent.derive(max_iterations=5, description="shorter")
    assert parent.model_dump_json() == before


def test_derive_without_changes_keeps_the_content_id() -> None:
    parent = qa_spec()
    assert parent.derive().id == parent.id


# --- graph validation ---------------------------------------------------------------------


def test_duplicate_node_names_are_rejected() -> None:
    twice = (NodeSpec(name="act", type="answer"), NodeSpec(name="act", type="write"))
    with pytest.raises(ValidationError, match="act"):
        qa_spec(nodes=twice, edges=())


def test_unknown_entry_is_rejected_naming_it() -> None:
    with pytest.raises(ValidationError, match="'start'"):
        qa_spec(entry="start")


def test_edge_to_an_unknown_node_is_rejected_naming_it() -> None:
    with pytest.raises(ValidationError, match="'review'"):
        qa_spec(edges=(Edge(source="act", target="review"),))


def test_edge_from_an_unknown_node_is_rejected_naming_it() -> None:
    with pytest.raises(ValidationError, match="'plan'"):
        qa_spec(edges=(Edge(source="plan", target="act"),))


def test_node_lookup_of_a_missing_name_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'review'"):
        qa_spec().node("review")


# --- transitions --------------------------------------------------------------------------


def test_successor_takes_the_edge_whose_condition_matches() -> None:
    assert qa_spec().successor("act", "tool_result") == "answer"


def test_successor_falls_back_to_an_unconditional_edge() -> None:
    assert qa_spec().successor("act", "thought") == "act"


def test_successor_is_none_without_an_outgoing_edge() -> None:
    assert qa_spec().successor("answer", "final_answer") is None


# --- prompt components --------------------------------------------------------------------


def test_template_fields_lists_the_named_fields() -> None:
    prompt = PromptComponents(input_template="Task: {task}\nSeen: {observations}\n{task}")
    assert prompt.template_fields() == {"task", "observations"}


def test_template_fields_ignores_escaped_braces() -> None:
    assert PromptComponents(input_template='Answer as {{"answer": ...}}').template_fields() == set()


# --- serialisation ------------------------------------------------------------------------


def test_json_round_trip_without_id_equals_the_spec() -> None:
    spec = qa_spec().derive(description="v2")
    data = json.loads(spec.model_dump_json())
    del data["id"]
    assert AgentSpec.model_validate(data) == spec
