"""Edit rules: checked before anything runs, applied as pure functions of a tape (and its spec)."""

from __future__ import annotations

import pytest

from tape_studio.core.agents.qa import QA
from tape_studio.core.errors import InputError
from tape_studio.core.experiments.rerun_edits import edits_rerun
from tape_studio.core.experiments.rules import SpecPatch, StepEdit, StepMatch, apply_rule, parse_rule
from tape_studio.core.tape import FinalAnswer, StepMetadata, Tape, Task, Thought, ToolCall, ToolResult


def qa_tape() -> Tape:
    plan, answer = StepMetadata(node="plan", agent="qa"), StepMetadata(node="answer", agent="qa")
    return Tape(steps=(
        Task(text="What is the capital of France?"),
        Thought(text="Look it up.", metadata=plan),
        ToolCall(tool="lookup", arguments={"query": "France"}, metadata=plan),
        ToolResult(tool="lookup", content="France: Its capital is Paris."),
        Thought(text="Look it up again.", metadata=plan),
        FinalAnswer(text="Paris", metadata=answer),
    ))


def test_override_result_forks_at_the_matching_tool_result() -> None:
    rule = parse_rule({"match": {"kind": "tool_result", "tool": "lookup"}, "action": "override_result", "result": "X"})
    applied = apply_rule(rule, qa_tape())
    assert applied is not None and applied.at == 3 and applied.matched == (3,)
    assert [s.kind for s in applied.replacement] == ["tool_result"] and applied.replacement[0].content == "X"


def test_a_tape_without_a_matching_step_gives_none() -> None:
    rule = parse_rule({"match": {"kind": "tool_result", "text": "Tokyo"}, "action": "delete"})
    assert apply_rule(rule, qa_tape()) is None


def test_first_and_every_both_fork_at_the_first_match_and_edit_it() -> None:
    for which in ("first", "every"):
        rule = parse_rule({"match": {"kind": "thought", "which": which}, "action": "substitute", "pattern": "up",
                           "replacement": "UP"})
        applied = apply_rule(rule, qa_tape())
        # The second thought (step 4) is not kept: the rerun makes the steps after the fork again.
        assert applied is not None and applied.at == 1 and applied.matched == (1,)
        assert [s.text for s in applied.replacement] == ["Look it UP."]


def test_every_with_delete_is_refused_because_the_rerun_would_make_the_step_again() -> None:
    with pytest.raises(InputError, match="delete edits the first match only"):
        parse_rule({"match": {"kind": "thought", "which": "every"}, "action": "delete"})
    # One built in code (or stored before this check) still loads, and its rerun is not edited.
    built = StepEdit(match=StepMatch(kind="thought", which="every"), action="delete")
    assert not edits_rerun(built) and apply_rule(built, qa_tape()).matched == (1,)  # type: ignore[union-attr]


def test_replace_fields_and_insert_before_keep_the_node_of_the_step() -> None:
    replaced = apply_rule(parse_rule({"match": {"kind": "tool_call"}, "action": "replace_fields",
                                      "fields": {"arguments": {"query": "Spain"}}}), qa_tape())
    assert replaced is not None and replaced.replacement[0].arguments == {"query": "Spain"}
    inserted = apply_rule(parse_rule({"match": {"node": "answer"}, "action": "insert_before",
                                      "step": {"kind": "thought", "text": "Check."}}), qa_tape())
    assert inserted is not None and inserted.at == 5
    assert [s.kind for s in inserted.replacement] == ["thought", "final_answer"]
    assert inserted.replacement[0].metadata.node == "answer"


def test_spec_patch_forks_where_the_patched_node_first_spoke_and_makes_a_new_version() -> None:
    rule = parse_rule({"node": "answer", "rules": ["Answer in one word."]})
    assert isinstance(rule, SpecPatch)
    applied = apply_rule(rule, qa_tape(), QA)
    assert applied is not None and applied.at == 5 and applied.replacement == ()
    assert applied.spec is not None and applied.spec.id != QA.id and applied.spec.parent_id == QA.id
    assert applied.spec.node("answer").prompt.rules == ("Answer in one word.",)
    tool = apply_rule(parse_rule({"tool": "lookup", "tool_description": "Whole articles."}), qa_tape(), QA)
    assert tool is not None and tool.at == 1 and tool.spec is not None
    assert tool.spec.tool_docs["lookup"].description == "Whole articles."


@pytest.mark.parametrize(("data", "says"), [
    ({"match": {}, "action": "delete"}, "give at least one of kind"),
    ({"match": {"text": "(unclosed"}, "action": "delete"}, "not a regular expression"),
    ({"match": {"kind": "thought"}, "action": "explode"}, "action"),
    ({"match": {"kind": "thought"}, "action": "override_result", "result": "x"}, "edits tool results"),
    ({"match": {"kind": "thought"}, "action": "insert_before", "step": {"kind": "thought"}}, "does not validate"),
    ({"match": {"kind": "thought"}, "action": "replace_fields", "fields": {"kind": "task"}}, "cannot change"),
    ({"rules": ["x"]}, "names the 'node'"),
    ({"match": {"kind": "thought"}, "action": "delete", "colour": "red"}, "colour"),
])
def test_bad_rules_are_refused_in_one_line_naming_the_problem(data: dict, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rule(data)
    message = str(caught.value)
    assert message.startswith("rule: ") and says in message and "\n" not in message


def test_a_patch_naming_a_node_the_spec_lacks_is_refused() -> None:
    with pytest.raises(InputError, match="no node 'summarise'"):
        apply_rule(parse_rule({"node": "summarise", "instruction": "x"}), qa_tape(), QA)


def test_applying_a_rule_leaves_the_tape_unchanged() -> None:
    tape = qa_tape()
    before = tape.model_dump_json()
    apply_rule(parse_rule({"match": {"kind": "thought", "which": "every"}, "action": "substitute", "pattern": "up",
                           "replacement": "UP"}), tape)
    assert tape.model_dump_json() == before
