import pytest
from pydantic import ValidationError

from tape_studio.core.tape import (
    CallAgent,
    ErrorStep,
    FinalAnswer,
    GenericStep,
    StepBase,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    Thought,
    ToolCall,
    ToolResult,
    fork_tape,
    guess_family,
    parse_step,
    prefix,
)

ONE_OF_EACH_KIND: list[StepBase] = [
    Task(text="What is the capital of France?"),
    Thought(text="I should look it up."),
    ToolCall(tool="lookup", arguments={"query": "France"}, metadata=StepMetadata(prompt_id="p1", node="act", agent="qa")),
    ToolResult(tool="lookup", content="France: capital Paris."),
    ToolResult(tool="calculate", content="ZeroDivisionError", is_error=True),
    CallAgent(agent="writer", task="Write a haiku"),
    FinalAnswer(text="Paris"),
    ErrorStep(source="parse", message="no JSON", detail="raw output"),
]


def qa_tape() -> Tape:
    metadata = TapeMetadata(agent="qa", title="capital", tags=("geo",), spec_id="qa-abc")
    return Tape(metadata=metadata, context={"dataset": "demo"}, steps=tuple(ONE_OF_EACH_KIND[:4]))


FOREIGN_STEP = {
    "kind": "react_thought",
    "reasoning": "think first",
    "score": 0.5,
    "nested": {"a": [1, 2]},
    "metadata": {"id": "s1", "prompt_id": "", "node": "n", "agent": "a", "created_at": "2024-05-01T12:00:00Z",
                 "other": {}, "foreign_field": "kept", "trace": [1, 2, 3]},
}


# --- JSON round trip ----------------------------------------------------------------------


@pytest.mark.parametrize("step", ONE_OF_EACH_KIND, ids=lambda step: step.kind)
def test_tape_json_round_trip_is_exact_for_every_step_kind(step: StepBase) -> None:
    tape = Tape(steps=(step,))
    text = tape.to_json()
    loaded = Tape.from_json(text)
    assert loaded == tape
    assert loaded.to_json() == text


def test_tape_round_trip_keeps_metadata_context_and_outcome() -> None:
    tape = qa_tape().with_metadata(status="failed", error="boom", result={"answer": "Paris"}, parent_id="p")
    loaded = Tape.from_json(tape.to_json())
    assert loaded.metadata == tape.metadata
    assert loaded.context == {"dataset": "demo"}


def test_unknown_kind_loads_as_generic_step() -> None:
    step = parse_step(FOREIGN_STEP)
    assert isinstance(step, GenericStep)
    assert step.kind == "react_thought"


def test_generic_step_keeps_unknown_content_fields() -> None:
    step = parse_step(FOREIGN_STEP)
    assert step.body() == {"kind": "react_thought", "reasoning": "think first", "score": 0.5, "nested": {"a": [1, 2]}}


def test_generic_step_keeps_unknown_metadata_fields() -> None:
    dumped = parse_step(FOREIGN_STEP).model_dump(mode="json")
    assert dumped["metadata"]["foreign_field"] == "kept"
    assert dumped["metadata"]["trace"] == [1, 2, 3]


def test_generic_step_round_trips_exactly_in_a_tape() -> None:
    tape = Tape(steps=(parse_step(FOREIGN_STEP),))
    text = tape.to_json()
    loaded = Tape.from_json(text)
    assert loaded == tape
    assert loaded.to_json() == text


# --- families -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "family"),
    [
        ("react_thought", "thought"),
        ("search_action", "action"),
        ("web_observation", "observation"),
        ("user", "observation"),
        ("assistant", "action"),
        ("final_step", "stop"),
    ],
)
def test_guess_family_from_kind_naming(kind: str, family: str) -> None:
    assert guess_family(kind) == family


def test_generic_step_family_is_guessed_from_its_kind() -> None:
    assert GenericStep(kind="search_action").family == "action"


# --- immutability -------------------------------------------------------------------------


def test_steps_are_frozen() -> None:
    step = Thought(text="a")
    with pytest.raises(ValidationError):
        step.text = "b"  # type: ignore[misc]


def test_tapes_are_frozen() -> None:
    tape = qa_tape()
    with pytest.raises(ValidationError):
        tape.steps = ()  # type: ignore[misc]


def test_tape_metadata_is_frozen() -> None:
    tape = qa_tape()
    with pytest.raises(ValidationError):
        tape.metadata.status = "completed"  # type: ignore[misc]


def test_append_returns_a_new_tape_with_the_step_at_the_end() -> None:
    tape = qa_tape()
    answer = FinalAnswer(text="Paris")
    longer = tape.append(answer)
    assert longer.steps == tape.steps + (answer,)


def test_append_leaves_the_original_unchanged() -> None:
    tape = qa_tape()
    before = tape.to_json()
    tape.append(FinalAnswer(text="Paris"))
    assert tape.to_json() == before


def test_append_keeps_the_tape_id() -> None:
    tape = qa_tape()
    assert tape.append(FinalAnswer(text="Paris")).id == tape.id


# --- forks --------------------------------------------------------------------------------


def test_fork_keeps_prefix_steps_with_their_ids() -> None:
    tape = qa_tape()
    fork = fork_tape(tape, 2, [Thought(text="Try the calculator.")])
    assert fork.steps[:2] == tape.steps[:2]
    assert [s.metadata.id for s in fork.steps[:2]] == [s.metadata.id for s in tape.steps[:2]]


def test_fork_appends_the_replacement_after_the_prefix() -> None:
    fork = fork_tape(qa_tape(), 2, [Thought(text="Try the calculator.")])
    assert len(fork.steps) == 3
    assert fork.steps[2].body() == {"kind": "thought", "text": "Try the calculator."}


def test_fork_gets_a_new_id() -> None:
    tape = qa_tape()
    assert fork_tape(tape, 1).id != tape.id


def test_fork_records_parent_and_fork_step() -> None:
    tape = qa_tape()
    fork = fork_tape(tape, 2)
    assert (fork.metadata.parent_id, fork.metadata.fork_step) == (tape.id, 2)


def test_fork_of_a_root_has_the_root_as_root_id() -> None:
    tape = qa_tape()
    assert fork_tape(tape, 2).metadata.root_id == tape.id


def test_fork_of_a_fork_keeps_the_original_root() -> None:
    root = qa_tape()
    child = fork_tape(root, 3)
    grandchild = fork_tape(child, 1)
    assert grandchild.metadata.parent_id == child.id
    assert grandchild.metadata.root_id == root.id


def test_fork_copies_agent_spec_title_and_tags_and_starts_new() -> None:
    tape = qa_tape().with_metadata(status="completed")
    meta = fork_tape(tape, 1).metadata
    assert (meta.agent, meta.spec_id, meta.title, meta.tags, meta.status) == ("qa", "qa-abc", "capital", ("geo",), "new")


def test_fork_marks_replacement_steps_as_edited_by_the_author() -> None:
    fork = fork_tape(qa_tape(), 2, [Thought(text="edited")], author="alice")
    assert fork.steps[2].metadata.other["edited_by"] == "alice"


def test_fork_does_not_mark_prefix_steps() -> None:
    fork = fork_tape(qa_tape(), 2, [Thought(text="edited")], author="alice")
    assert all("edited_by" not in step.metadata.other for step in fork.steps[:2])


def test_fork_clears_the_prompt_id_of_replacement_steps() -> None:
    from_llm = ToolCall(tool="lookup", arguments={"query": "x"}, metadata=StepMetadata(prompt_id="p9"))
    fork = fork_tape(qa_tape(), 2, [from_llm])
    assert fork.steps[2].metadata.prompt_id == ""


def test_fork_does_not_mutate_its_inputs() -> None:
    tape = qa_tape()
    replacement = ToolCall(tool="lookup", arguments={"query": "x"}, metadata=StepMetadata(prompt_id="p9"))
    tape_before, step_before = tape.to_json(), replacement.model_dump_json()
    fork_tape(tape, 2, [replacement])
    assert (tape.to_json(), replacement.model_dump_json()) == (tape_before, step_before)


def test_fork_at_the_end_keeps_every_step() -> None:
    tape = qa_tape()
    assert fork_tape(tape, len(tape.steps)).steps == tape.steps


@pytest.mark.parametrize("at", [-1, 5])
def test_fork_rejects_a_point_outside_the_tape(at: int) -> None:
    with pytest.raises(IndexError):
        fork_tape(qa_tape(), at)


def test_prefix_is_a_fork_with_the_first_steps() -> None:
    tape = qa_tape()
    short = prefix(tape, 2)
    assert short.steps == tape.steps[:2]
    assert (short.metadata.parent_id, short.metadata.fork_step) == (tape.id, 2)


# --- summaries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "summary"),
    [
        (Task(text="What is 2+2?"), "What is 2+2?"),
        (Thought(text="Add them."), "Add them."),
        (ToolCall(tool="calculate", arguments={"expression": "2+2"}), "calculate(expression='2+2')"),
        (ToolResult(tool="calculate", content="4"), "calculate → 4"),
        (CallAgent(agent="writer", task="a poem"), "call writer: a poem"),
        (FinalAnswer(text="4"), "4"),
        (ErrorStep(source="tool", message="timeout"), "tool error: timeout"),
        (GenericStep(kind="react_thought", reasoning="hmm"), "hmm"),  # type: ignore[call-arg]
        (GenericStep(kind="custom_action", x=1, y="b"), "x=1, y=b"),  # type: ignore[call-arg]
    ],
    ids=lambda value: value.kind if isinstance(value, StepBase) else "",
)
def test_summary_is_one_line_per_kind(step: StepBase, summary: str) -> None:
    assert step.summary() == summary
