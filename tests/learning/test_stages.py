"""Loss, visits, backward and aggregation, each alone, with the learning fake (a named fake model)."""

from __future__ import annotations

import json

from learning_helpers import MakeWorkspace, make_context

from tape_studio.core.learning.aggregate import aggregate
from tape_studio.core.learning.backward import backward, backward_example
from tape_studio.core.learning.datasets import Example
from tape_studio.core.learning.evaluate import evaluate
from tape_studio.core.learning.forward import forward_tape_id, run_example
from tape_studio.core.learning.loss import compute_loss
from tape_studio.core.learning.visits import node_visits
from tape_studio.core.spec import Edge, NodeSpec, PromptComponents
from tape_studio.core.tape import StepMetadata, Tape, Task, Thought, ToolCall, ToolResult
from tape_studio.core.learning.steps import Gradient

GERMANY = Example(id="de", input="What is the capital of Germany?", target="Berlin")
SUM = Example(id="sum", input="What is 12 times 9?", target="108")


def test_forward_tapes_are_stored_once_per_spec_and_example(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws)
    spec = ws.spec("qa")
    first = run_example(ctx, spec, GERMANY, "train", "forward")
    again = run_example(ctx, spec, GERMANY, "train", "forward")
    assert first.id == again.id == forward_tape_id("test-run", spec.id, "train", "de")
    assert first.metadata.status == "completed" and again.steps == first.steps
    assert ctx.meter.snapshot()["forward"].calls == 2  # the second time the stored tape was reused


def test_loss_scores_with_the_metric_and_marks_the_tape(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws)
    evaluation, scored = evaluate(ctx, ws.spec("qa"), [GERMANY, SUM], "train", "forward")
    assert evaluation.scores == {"de": 1.0, "sum": 0.0}
    loss = scored[1].loss
    assert loss.tape_id == scored[1].tape.id and "Expected '108'" in loss.feedback and not loss.metadata.prompt_id
    assert ws.store.summary(loss.tape_id).score == 0.0


def test_without_a_target_the_judge_scores_and_its_call_is_linked(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws, metric="judge")
    tape = run_example(ctx, ws.spec("writer"), Example(id="w", input="A note"), "train", "forward")
    loss, call = compute_loss(ctx, Example(id="w", input="A note"), tape)
    assert loss.score == 0.6 and loss.metric == "judge" and "Clear but plain" in loss.feedback
    assert call is not None and loss.metadata.prompt_id == call.prompt_id


def test_garbage_from_the_judge_scores_zero_and_says_why(make_ws: MakeWorkspace) -> None:
    ws = make_ws({"judge": lambda m: "great text!!"})
    ctx = make_context(ws, metric="judge")
    tape = run_example(ctx, ws.spec("writer"), Example(id="w", input="A note"), "train", "forward")
    loss, _ = compute_loss(ctx, Example(id="w", input="A note"), tape)
    assert loss.score == 0.0 and "could not be read" in loss.feedback


def test_visits_are_found_by_node_name_with_their_tool_results() -> None:
    def stamp(step, node: str, prompt: str = ""):  # type: ignore[no-untyped-def]
        return step.model_copy(update={"metadata": StepMetadata(node=node, agent="qa", prompt_id=prompt)})

    tape = Tape(steps=(Task(text="q"), stamp(Thought(text="t"), "plan", "p1"),
                       stamp(ToolCall(tool="lookup", arguments={"query": "x"}), "plan", "p1"),
                       ToolResult(tool="lookup", content="X: fact"), stamp(Thought(text="a"), "answer", "p2")))
    visits = node_visits(tape, "qa")
    assert [(v.node, v.start, len(v.steps), v.prompt_id) for v in visits] == [("plan", 1, 2, "p1"), ("answer", 4, 1, "p2")]
    assert visits[0].observation == "lookup returned: X: fact"
    assert node_visits(tape, "someone_else") == []


def test_backward_runs_from_the_last_visit_to_the_first_passing_input_gradients(make_ws: MakeWorkspace) -> None:
    seen: list[str] = []

    def gradient(messages: list[dict]) -> str:
        seen.append(messages[-1]["content"])
        step = messages[-1]["content"].split("\n")[0].removeprefix("Step: ")
        return json.dumps({"change": f"fix {step}", "needed": f"{step} needed more"})

    ws = make_ws({"backward": gradient})
    ctx = make_context(ws)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, [SUM], "train", "forward")
    records = backward_example(ctx, spec, scored[0].tape, scored[0].loss)
    grads = [g for g, _ in records]
    assert [g.node for g in grads] == ["answer", "plan"]
    assert grads[0].requirement.startswith("Expected '108'")  # the last visit reads the loss
    assert grads[1].requirement.startswith("answer needed more")  # the one before reads its input gradient
    assert "Given: Question: What is 12 times 9?" in seen[1] and "lookup returned" in seen[1]
    assert grads[1].step_index == 1 and grads[0].step_index == 4
    assert all(g.metadata.prompt_id == c.prompt_id for g, c in records if c)


def test_unreadable_gradients_are_recorded_and_the_loss_feedback_passes_upstream(make_ws: MakeWorkspace) -> None:
    ws = make_ws({"backward": lambda m: "no idea"})
    ctx = make_context(ws)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, [SUM], "train", "forward")
    grads = [g for g, _ in backward_example(ctx, spec, scored[0].tape, scored[0].loss)]
    assert all(g.error and not g.parameter for g in grads)
    assert grads[1].requirement.startswith("Expected '108'")


def test_solved_examples_get_no_backward_calls(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws)
    spec = ws.spec("qa")
    _, scored = evaluate(ctx, spec, [GERMANY, SUM], "train", "forward")
    records = backward(ctx, spec, [s.tape for s in scored], [s.loss for s in scored])
    assert {g.example_id for g, _ in records} == {"sum"}
    assert ctx.meter.snapshot()["backward"].calls == 2


def test_a_rule_based_node_passes_the_requirement_through(make_ws: MakeWorkspace) -> None:
    ws = make_ws({"edit": lambda m: "Done."})
    ctx = make_context(ws, metric="judge")
    spec = ws.spec("writer").derive(nodes=[
        NodeSpec(name="draft", type="write", prompt=PromptComponents(instruction="Write a first draft.")).model_dump(),
        NodeSpec(name="edit", type="write", settings={"emits": "final_answer"},
                 prompt=PromptComponents(instruction="Improve the draft.")).model_dump()])
    _, scored = evaluate(ctx, spec, [Example(id="w", input="A note")], "train", "forward")
    grads = [g for g, _ in backward_example(ctx, spec, scored[0].tape, scored[0].loss)]
    assert [g.node for g in grads] == ["edit", "draft"]
    spec_with_rule = spec.derive(nodes=[*[n.model_dump() for n in spec.nodes],
                                        NodeSpec(name="note", type="delegate", settings={"agent": "qa"}).model_dump()],
                                 edges=[*[e.model_dump() for e in spec.edges], Edge(source="edit", target="note").model_dump()])
    assert backward_example(ctx, spec_with_rule, scored[0].tape, scored[0].loss)[0][0].node == "edit"


def _gradient(node: str, example: str, text: str) -> Gradient:
    return Gradient(example_id=example, tape_id="t", node=node, step_index=1, parameter=text, input_gradient="")


def test_aggregation_groups_by_node_name_not_position_and_drops_repeats(make_ws: MakeWorkspace) -> None:
    ctx = make_context(make_ws())
    spec = make_ws(folder="b").spec("qa")
    grads = [_gradient("answer", "a", "Be short."), _gradient("plan", "b", "Use the calculator."),
             _gradient("answer", "b", "be short"), _gradient("plan", "c", "")]
    merged = {a.node: a for a, _ in aggregate(ctx, spec, grads)}
    assert list(merged) == ["plan", "answer"]
    assert merged["answer"].text == "- Be short." and len(merged["answer"].sources) == 2
    assert merged["plan"].text == "- Use the calculator." and not merged["plan"].summarized


def test_aggregated_gradients_above_the_cap_are_summarised(make_ws: MakeWorkspace) -> None:
    ws = make_ws()
    ctx = make_context(ws, token_cap=20)
    grads = [_gradient("plan", str(n), f"Point number {n} about the planning of lookups.") for n in range(6)]
    (merged, call), = aggregate(ctx, ws.spec("qa"), grads)
    assert merged.summarized and merged.text == "Use the calculator for arithmetic."
    assert call is not None and merged.metadata.prompt_id == call.prompt_id


def test_an_unreadable_summary_falls_back_to_the_first_lines_that_fit(make_ws: MakeWorkspace) -> None:
    ws = make_ws({"summary": lambda m: "???"})
    ctx = make_context(ws, token_cap=30)
    grads = [_gradient("plan", str(n), f"Point number {n} about the planning of lookups.") for n in range(6)]
    (merged, _), = aggregate(ctx, ws.spec("qa"), grads)
    assert merged.text.startswith("- Point number 0") and len(merged.text) <= 4 * 30
