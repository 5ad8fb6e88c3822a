"""core/diff.py: alignment on kind and content, the first divergence, field and prompt diffs."""

from tape_studio.core.diff import align, diff_tapes, field_diffs, prompt_diff, readable_prompt
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import (
    FinalAnswer,
    StepMetadata,
    Tape,
    Task,
    Thought,
    ToolCall,
    ToolResult,
    fork_tape,
)


def qa(answer: str = "Paris", query: str = "France") -> Tape:
    return Tape(steps=(
        Task(text="capital of France?"),
        Thought(text="Look it up.", metadata=StepMetadata(node="plan", prompt_id="p1")),
        ToolCall(tool="lookup", arguments={"query": query}, metadata=StepMetadata(node="plan", prompt_id="p1")),
        ToolResult(tool="lookup", content=f"{query}: capital Paris."),
        FinalAnswer(text=answer, metadata=StepMetadata(node="answer", prompt_id="p2")),
    ))


def statuses(a: Tape, b: Tape) -> list[tuple[str, int | None, int | None]]:
    return [(p.status, p.a, p.b) for p in diff_tapes(a, b).pairs]


def test_equal_tapes_have_no_divergence() -> None:
    a = qa()
    diff = diff_tapes(a, fork_tape(a, len(a.steps)))
    assert diff.first_divergence is None and diff.identical
    assert diff.counts() == {"same": 5, "changed": 0, "removed": 0, "added": 0}


def test_alignment_ignores_step_ids_and_metadata() -> None:
    a, b = qa(), qa()  # same content, fresh step ids and times
    assert {p.status for p in diff_tapes(a, b).pairs} == {"same"}


def test_an_edited_step_is_changed_and_marks_the_first_divergence() -> None:
    a = qa()
    edit = ToolCall(tool="lookup", arguments={"query": "Spain"}, metadata=StepMetadata(node="plan"))
    b = fork_tape(a, 2, [edit]).append(*a.steps[3:])
    diff = diff_tapes(a, b)
    assert diff.first_divergence == 2
    pair = diff.pairs[2]
    assert (pair.status, pair.a, pair.b, pair.kind) == ("changed", 2, 2, "tool_call")
    assert [(f.path, f.a, f.b) for f in pair.fields] == [("arguments.query", "France", "Spain")]
    assert [p.status for p in diff.pairs[3:]] == ["same", "same"]


def test_an_inserted_step_is_added_and_later_steps_stay_aligned() -> None:
    a = qa()
    b = Tape(steps=a.steps[:2] + (Thought(text="Hmm, wait."),) + a.steps[2:])
    assert statuses(a, b) == [("same", 0, 0), ("same", 1, 1), ("added", None, 2), ("same", 2, 3),
                              ("same", 3, 4), ("same", 4, 5)]


def test_a_dropped_step_is_removed() -> None:
    a = qa()
    b = Tape(steps=a.steps[:1] + a.steps[2:])
    assert statuses(a, b)[1] == ("removed", 1, None)
    assert diff_tapes(a, b).first_divergence == 1


def test_steps_of_different_kinds_are_never_paired_as_changed() -> None:
    a = Tape(steps=(Task(text="t"), Thought(text="x")))
    b = Tape(steps=(Task(text="t"), FinalAnswer(text="x")))
    assert statuses(a, b) == [("same", 0, 0), ("removed", 1, None), ("added", None, 1)]


def test_repeated_steps_of_a_long_loop_align_without_autojunk() -> None:
    loop = [ToolCall(tool="echo", arguments={"input": "x"}), ToolResult(tool="echo", content="ok")] * 150
    a = Tape(steps=(Task(text="t"), *loop))
    b = Tape(steps=(Task(text="t"), *loop, FinalAnswer(text="done")))
    pairs = align(a.steps, b.steps)
    assert sum(p.status == "same" for p in pairs) == 301 and pairs[-1].status == "added"


def test_field_diffs_report_node_changes_too() -> None:
    a = Thought(text="same", metadata=StepMetadata(node="plan"))
    b = Thought(text="other", metadata=StepMetadata(node="answer"))
    assert [f.path for f in field_diffs(a, b)] == ["text", "metadata.node"]


def call(prompt_id: str, question: str) -> LLMCall:
    return LLMCall(prompt_id=prompt_id, model="m", messages=[
        {"role": "system", "content": "Answer briefly."}, {"role": "user", "content": question}])


def test_prompt_diff_of_aligned_model_steps() -> None:
    a = qa()
    b = fork_tape(a, 3, [ToolResult(tool="lookup", content="France: capital Lyon.")]).append(
        FinalAnswer(text="Lyon", metadata=StepMetadata(node="answer", prompt_id="p3")))
    calls = {"p1": call("p1", "plan"), "p2": call("p2", "Text: Paris"), "p3": call("p3", "Text: Lyon")}
    diff = diff_tapes(a, b, calls)
    shared = diff.pairs[1].prompt
    assert shared is not None and shared.same and not shared.lines  # the copied prefix shares its call
    answer = diff.pairs[4].prompt
    assert answer is not None and not answer.same
    assert "-Text: Paris" in answer.lines and "+Text: Lyon" in answer.lines


def test_prompt_diff_is_left_out_when_a_call_is_unknown() -> None:
    a = qa()
    b = fork_tape(a, 4, [FinalAnswer(text="Lyon", metadata=StepMetadata(node="answer", prompt_id="p9"))])
    assert diff_tapes(a, b, {"p2": call("p2", "x")}).pairs[4].prompt is None


def test_equal_requests_with_different_ids_are_the_same_prompt() -> None:
    assert prompt_diff(call("x", "q"), call("y", "q")).same


def test_readable_prompt_lists_model_params_and_messages() -> None:
    text = readable_prompt(call("x", "line one\nline two"))
    assert text.splitlines()[0] == "model: m"
    assert "[user]" in text and "line two" in text
