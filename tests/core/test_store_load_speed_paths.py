"""The fast paths of loading and saving tapes (issue 15) must give exactly what the general paths give:
the union tagged by `kind` for registered kinds, the general union for tapes with foreign kinds, the
serializer called directly when a step is stored."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pytest
from pydantic import ValidationError

from tape_studio.core.store import Store
from tape_studio.core.tape import (
    STEP_ADAPTER,
    CallAgent,
    ErrorStep,
    FinalAnswer,
    Family,
    GenericStep,
    StepBase,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    Thought,
    ToolCall,
    ToolResult,
    parse_steps_json,
    register_step,
)

STEPS: list[StepBase] = [
    Task(text="Quelle est la capitale ? \u00e9\u2028 \"quoted\" \\ back \x01 😀"),
    Thought(text="a thought", metadata=StepMetadata(prompt_id="p1", node="act", agent="qa", other={"k": [1, 0.5]})),
    ToolCall(tool="lookup", arguments={"q": "France", "n": 12345678901234567890, "f": 1.5e300, "l": [None, True]}),
    ToolResult(tool="lookup", content="Paris", is_error=True),
    CallAgent(agent="writer", task="a haiku"),
    FinalAnswer(text="Paris"),
    ErrorStep(source="parse", message="no JSON", detail="raw"),
]
FOREIGN = GenericStep.model_validate({"kind": "react_thought", "reasoning": "think", "nested": {"a": [1, 2]},
                                      "metadata": {"id": "s1", "foreign_field": "kept"}})


@register_step
class LooseKindStep(StepBase):
    """A user's step whose `kind` is a plain str, not a Literal: the kind-tagged union cannot hold it."""

    kind: str = "loose_kind_for_test"
    family: ClassVar[Family] = "thought"
    text: str = ""

    def summary(self) -> str:
        return self.text


def one_by_one(texts: list[str]) -> list[StepBase]:
    return [STEP_ADAPTER.validate_json(text) for text in texts]


def test_parsing_registered_kinds_with_their_kinds_known_equals_parsing_each_step() -> None:
    texts = [step.model_dump_json() for step in STEPS]
    parsed = parse_steps_json(texts, kinds={step.kind for step in STEPS})
    assert parsed == one_by_one(texts) == STEPS
    assert [type(step) for step in parsed] == [type(step) for step in STEPS]


def test_a_foreign_kind_among_them_takes_the_general_union_and_stays_generic() -> None:
    steps = [*STEPS, FOREIGN, LooseKindStep(text="loose")]
    texts = [step.model_dump_json() for step in steps]
    parsed = parse_steps_json(texts, kinds={step.kind for step in steps})
    assert parsed == one_by_one(texts) == steps
    assert type(parsed[-2]) is GenericStep and type(parsed[-1]) is LooseKindStep


def test_a_kind_wrongly_claimed_known_still_fails_as_the_step_would() -> None:
    bad = Thought(text="x").model_dump_json().replace('"text":"x"', '"text":3')
    with pytest.raises(ValidationError):
        parse_steps_json([bad], kinds={"thought"})


def test_parsing_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    texts = [step.model_dump_json() for step in STEPS]
    parse_steps_json(texts, kinds={step.kind for step in STEPS})
    assert gc.isenabled()
    gc.disable()
    try:
        parse_steps_json(texts)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_stored_step_json_is_what_model_dump_json_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    steps = [*STEPS, FOREIGN, LooseKindStep(text="loose")]
    tape = Tape(metadata=TapeMetadata(title="t"), context={"c": 1}, steps=tuple(steps))
    store.save_tape(tape)
    stored = [row[0] for row in store.query("SELECT data FROM steps WHERE tape_id = ? ORDER BY idx", (tape.id,))]
    assert stored == [step.model_dump_json() for step in steps]
    loaded = Store(tmp_path / "store.sqlite").load_tape(tape.id)
    assert loaded == tape
    assert loaded.to_json() == tape.to_json()
    assert loaded.model_fields_set == tape.model_fields_set | {"context"}


@pytest.mark.parametrize("fields", [
    {"content": "the text"}, {"reasoning": "why", "content": 3}, {"text": "t", "message": "m"},
    {"answer": "42", "extra": [1, 2]}, {"query": "no text field"}, {"message": {"nested": "not text"}, "n": 1},
    {}, {"content": None, "text": "second"},
])
def test_a_generic_steps_summary_is_what_its_dumped_fields_give(fields: dict[str, object]) -> None:
    step = GenericStep.model_validate({"kind": "foreign_thing", **fields})
    dumped = step.body()
    dumped.pop("kind")
    by_dump = next((dumped[name] for name in ("content", "text", "reasoning", "answer", "message")
                    if isinstance(dumped.get(name), str)), ", ".join(f"{k}={v}" for k, v in dumped.items()))
    assert step.summary() == by_dump
