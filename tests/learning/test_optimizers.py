"""Guards and the three optimizers: valid proposals, and garbage turned into recorded rejections."""

from __future__ import annotations

import json

from learning_helpers import MakeWorkspace, make_context

from tape_studio.core.catalog import build_agent
from tape_studio.core.learning.candidate import build_candidate
from tape_studio.core.learning.datasets import named_dataset
from tape_studio.core.learning.guards import (
    copy_problem,
    length_cap,
    length_problem,
    text_length,
    template_problem,
)
from tape_studio.core.learning.optimize import optimize
from tape_studio.core.learning.pipeline_optimizer import edit_from_output, propose_pipeline
from tape_studio.core.learning.prompt_optimizer import propose_prompt
from tape_studio.core.learning.tool_optimizer import pick_tool, propose_tool
from tape_studio.core.llm import LLM
from tape_studio.core.nodes import NODE_TYPES
from tape_studio.core.spec import PromptComponents, ToolDoc
from tape_studio.core.tape import StepMetadata, Tape, ToolCall
from tape_studio.core.learning.steps import AggregatedGradient

FEEDBACK = AggregatedGradient(node="plan", text="- Use the calculator for arithmetic.")
TRAIN = named_dataset("qa-mini").split("train")


def test_template_guard_keeps_fields_and_known_variables() -> None:
    assert template_problem("Q: {task}", "Question: {task}") is None
    assert "drops field {task}" in (template_problem("Q: {task}", "Question") or "")
    assert "unknown field {answer}" in (template_problem("Q: {task}", "{task} {answer}") or "")
    assert "malformed" in (template_problem("{task}", "{task") or "")


def test_length_cap_is_relative_to_the_first_version_with_a_floor() -> None:
    assert length_cap(1000, 1.5) == 1500 and length_cap(10, 1.5) == 130
    prompt = PromptComponents(instruction="x" * 200)
    assert length_problem(prompt, 150) and length_problem(prompt, text_length(prompt)) is None


def test_copy_guard_catches_training_answers_and_question_specifics_only() -> None:
    assert "training answer 'qa-train-1'" in (copy_problem("If asked, say Berlin.", "Answer.", TRAIN) or "")
    assert "training question" in (copy_problem("Say what is the capital of germany", "", TRAIN) or "")
    assert copy_problem("Answer what is the capital of a country.", "", TRAIN) is None  # shared wording
    assert copy_problem("The symbol of iron is Fe.", "", TRAIN) is None  # two letters: too common to call
    assert copy_problem("Say Berlin.", "Berlin is the example.", TRAIN) is None  # it was there already


def test_prompt_optimizer_proposes_revised_components(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws, length_caps={"plan": 2000})
    proposal, call = propose_prompt(ctx, ws.spec("qa").node("plan"), FEEDBACK)
    assert proposal.valid and proposal.reasons == ()
    assert proposal.changes["rules"] == ["Always calculate arithmetic with the calculator."]
    assert proposal.metadata.prompt_id == call.prompt_id and proposal.raw == call.output


def _reasons(make_ws: MakeWorkspace, output: str, **context: object) -> tuple[str, ...]:
    ws = make_ws({"prompt_optimizer": lambda m: output})
    proposal, _ = propose_prompt(make_context(ws, **context), ws.spec("qa").node("plan"), FEEDBACK)
    assert not proposal.valid
    return proposal.reasons


def test_garbage_is_a_rejected_proposal_not_a_crash(make_ws: MakeWorkspace) -> None:
    assert _reasons(make_ws, "Sure! Here is a better prompt.") == ("the output is not the JSON object asked for",)
    assert _reasons(make_ws, '{"instruction": "", "rules": []}')[0] == "the instruction is empty"


def test_prompt_guards_reject_bloat_broken_templates_and_copies(make_ws: MakeWorkspace) -> None:
    long = json.dumps({"instruction": "Choose well. " * 80, "rules": []})
    assert "too long" in _reasons(make_ws, long, length_caps={"plan": 300})[0]
    broken = json.dumps({"instruction": "Pick.", "rules": [], "input_template": "Q: {question}"})
    assert "unknown field {question}" in _reasons(make_ws, broken)[0]
    copied = json.dumps({"instruction": "Pick a tool. Germany's capital is Berlin.", "rules": []})
    assert "copies 'berlin'" in _reasons(make_ws, copied)[0]


def test_an_unchanged_prompt_is_not_a_proposal(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    node = ws.spec("qa").node("plan")
    same = json.dumps({"instruction": node.prompt.instruction, "rules": list(node.prompt.rules)})
    assert "the same as the current prompt" in _reasons(make_ws, same, length_caps={"plan": 5000})


def test_tool_optimizer_picks_the_tool_the_failing_tapes_called(make_ws: MakeWorkspace) -> None:
    spec = make_ws().spec("qa")
    call = ToolCall(tool="lookup", arguments={"query": "x"}, metadata=StepMetadata(agent="qa", node="plan"))
    assert pick_tool(spec, [Tape(steps=(call,))]) == "lookup"
    assert pick_tool(spec, []) is None


def test_tool_docs_change_what_the_agent_shows_the_model(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    spec = ws.spec("qa")
    proposal, _ = propose_tool(make_context(ws), spec, "lookup", [FEEDBACK])
    assert proposal.valid and proposal.changes["description"] == "Look up one fact by keywords."
    candidate = build_candidate(spec, [proposal])
    assert candidate is not None and candidate.tool_docs["lookup"] == ToolDoc(
        description="Look up one fact by keywords.", parameters={"query": "two or three keywords"})
    tools = build_agent(candidate, LLM(model="fake/none", mode="live")).tools
    assert tools["lookup"].description == "Look up one fact by keywords. (query: two or three keywords)"
    assert spec.tool_docs == {} and "tool_docs" not in spec.model_dump(exclude_defaults=True)


def test_flat_pipeline_output_becomes_a_typed_edit() -> None:
    assert edit_from_output({"op": "remove_node", "node": "plan"}) == ({"op": "remove_node", "name": "plan"}, [])
    assert edit_from_output({"op": "none"})[1] == ["no change proposed"]
    assert edit_from_output({"op": "explode"})[1] == ["unknown edit 'explode'"]


def test_pipeline_optimizer_checks_the_edit_against_the_graph(make_ws: MakeWorkspace) -> None:
    answer = lambda m: json.dumps({"op": "remove_node", "node": "answer", "after": "", "target": "", "text": ""})
    ws = make_ws({"pipeline_optimizer": answer})
    proposal, _ = propose_pipeline(make_context(ws), ws.spec("qa"), [FEEDBACK])
    assert not proposal.valid and "no next step" in proposal.reasons[0]
    add = lambda m: json.dumps({"op": "add_node", "node": "check", "after": "plan", "target": "", "text": "Check."})
    ws = make_ws({"pipeline_optimizer": add}, folder="b")
    proposal, _ = propose_pipeline(make_context(ws), ws.spec("qa"), [FEEDBACK])
    assert proposal.valid and proposal.changes["op"] == "add_node"


def test_optimize_runs_one_proposal_per_node_plus_tool_and_graph(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    spec = ws.spec("qa")
    failing = [Tape(steps=(ToolCall(tool="calculator", arguments={"expression": "1"},
                                    metadata=StepMetadata(agent="qa", node="plan")),))]
    feedback = [FEEDBACK, AggregatedGradient(node="answer", text="- Be short.")]
    proposals = optimize(make_context(ws), spec, ("prompt", "tool", "pipeline"), feedback, failing)
    assert [(p.optimizer, p.target) for p, _ in proposals] == [
        ("prompt", "plan"), ("prompt", "answer"), ("tool", "calculator"), ("pipeline", "graph")]
    assert "choose_tool" in NODE_TYPES
