"""A user's step kind and node types work everywhere a built-in one does: JSON, the store, bundles,
OTLP export and import, the step editor, the studio's view, and the agent loop."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from tape_studio.core.agent import Agent
from tape_studio.core.environment import Environment
from tape_studio.core.errors import ConfigError, InputError
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.interop.formats import read_file
from tape_studio.core.interop.otel import to_otlp
from tape_studio.core.interop.tape_files import make_bundle, read_bundle
from tape_studio.core.llm import LLM
from tape_studio.core.loop import run_to_end
from tape_studio.core.nodes import NodeType, View, register_node_type
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents
from tape_studio.core.store import Store
from tape_studio.core.tape import (
    FinalAnswer, GenericStep, StepBase, StepMetadata, Tape, TapeMetadata, Task, parse_step, register_step, step_class,
)
from tape_studio.core.tools import Tool
from tape_studio.studio.edit import form_fields


@register_step
class MoodThought(StepBase):
    """A user step kind: how the agent judges the user's mood."""

    kind: Literal["test_mood_thought"] = "test_mood_thought"
    family: ClassVar = "thought"
    mood: Literal["calm", "upset"]
    confidence: float = 0.5
    notes: str = ""

    def summary(self) -> str:
        return f"{self.mood} ({self.confidence:.0%})"


@register_node_type
class MoodRule(NodeType):
    """A rule node: no model, writes a MoodThought from the task's punctuation."""

    name = "test_mood_rule"
    terminal_kinds = frozenset({"test_mood_thought"})
    needs_llm = False

    def rule_steps(self, node: NodeSpec, view: View) -> list[StepBase]:
        return [MoodThought(mood="upset" if "!" in view.task else "calm", confidence=0.9)]


@register_node_type
class Shout(NodeType):
    """An LLM node with its own prompt and format: the model answers in one upper-case line."""

    name = "test_shout"
    terminal_kinds = frozenset({"final_answer"})

    def make_prompt(self, node, view, tools):  # type: ignore[no-untyped-def]
        prompt = super().make_prompt(node, view, tools)
        return prompt.model_copy(update={"messages": [*prompt.messages, {"role": "user", "content": "SHOUT IT"}]})

    def parse(self, node: NodeSpec, output: str, tools: dict[str, Tool]) -> list[StepBase]:
        return [FinalAnswer(text=output.strip().upper())]

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, Tool]) -> str:
        return next(s.text for s in steps if isinstance(s, FinalAnswer))


MOOD = AgentSpec(
    name="test_mood", entry="judge",
    nodes=(NodeSpec(name="judge", type="test_mood_rule"),
           NodeSpec(name="reply", type="test_shout", prompt=PromptComponents(instruction="Reply.",
                                                                              input_template="{task} / {history}"))),
    edges=(Edge(source="judge", target="reply", when="test_mood_thought"),),
)


def mood_tape() -> Tape:
    meta = StepMetadata(node="judge", agent="test_mood", other={"why": "rules"})
    return Tape(metadata=TapeMetadata(agent="test_mood", title="mood"),
                steps=(Task(text="Where is my order!"), MoodThought(mood="upset", confidence=0.8, metadata=meta)))


def test_a_user_step_round_trips_through_json_as_its_own_class() -> None:
    tape = mood_tape()
    back = Tape.from_json(tape.to_json())
    assert back == tape and type(back.steps[1]) is MoodThought and back.steps[1].family == "thought"
    assert parse_step(back.steps[1].model_dump(mode="json")) == tape.steps[1]
    assert step_class("test_mood_thought") is MoodThought


def test_a_user_step_round_trips_through_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    tape = mood_tape()
    store.save_tape(tape)
    store.append_step(tape.id, 2, MoodThought(mood="calm"))
    loaded = store.load_tape(tape.id)
    assert loaded.steps[:2] == tape.steps and loaded.steps[2] == MoodThought(mood="calm", metadata=loaded.steps[2].metadata)
    row = store.query("SELECT kind, family, summary FROM steps WHERE tape_id = ? AND idx = 1", (tape.id,))[0]
    assert tuple(row) == ("test_mood_thought", "thought", "upset (80%)")


def test_a_bundle_declares_a_user_kind_with_its_source_and_reads_back(tmp_path: Path) -> None:
    bundle = make_bundle([mood_tape()], [], [MOOD])
    assert bundle.step_kinds == {"test_mood_thought": __name__} and bundle.generic_kinds == []
    path = tmp_path / "b.json"
    path.write_text(bundle.model_dump_json())
    back = read_bundle(path)
    assert type(back.tapes[0].steps[1]) is MoodThought and back.specs == [MOOD]


def test_a_kind_whose_source_is_not_loaded_comes_in_as_a_generic_step(tmp_path: Path) -> None:
    data = json.loads(make_bundle([mood_tape()], []).model_dump_json())
    data["tapes"][0]["steps"][1]["kind"] = "kind_of_an_unloaded_source"
    data["step_kinds"] = {"kind_of_an_unloaded_source": "elsewhere/agent.py"}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    step = read_bundle(path).tapes[0].steps[1]
    assert isinstance(step, GenericStep) and step.kind == "kind_of_an_unloaded_source" and step.mood == "upset"  # type: ignore[attr-defined]
    del data["step_kinds"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"tapes\[0\]\.steps\[1\]: unknown step kind 'kind_of_an_unloaded_source'"):
        read_bundle(path)


def test_a_user_step_round_trips_through_otlp(tmp_path: Path) -> None:
    tape = mood_tape()
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(to_otlp([tape], [])))
    back = read_file(path).bundle.tapes[0]
    assert type(back.steps[1]) is MoodThought and back.steps == tape.steps


def test_the_step_editor_makes_a_form_from_the_kinds_fields() -> None:
    assert form_fields("test_mood_thought") == [("mood", "choice", ("calm", "upset")), ("confidence", "json", ()),
                                                 ("notes", "area", ())]
    assert form_fields("tool_call") == [("tool", "line", ()), ("arguments", "json", ())]
    assert form_fields("some_foreign_kind") is None


class Recorder:
    """A canvas that writes down what a step draws."""

    def __init__(self) -> None:
        self.drawn: list[tuple[str, Any]] = []

    def text(self, text: str) -> None:
        self.drawn.append(("text", text))

    def code(self, text: str) -> None:
        self.drawn.append(("code", text))

    def json(self, value: Any) -> None:
        self.drawn.append(("json", value))


def test_a_user_step_draws_its_fields_by_default_and_built_in_ones_choose() -> None:
    canvas = Recorder()
    MoodThought(mood="calm").render(canvas)
    assert canvas.drawn == [("json", {"mood": "calm", "confidence": 0.5, "notes": ""})]
    canvas = Recorder()
    Task(text="hi").render(canvas)
    assert canvas.drawn == [("text", "hi")]


def test_an_agent_runs_a_user_rule_node_and_a_user_llm_node() -> None:
    seen: list[list[dict[str, Any]]] = []

    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        seen.append(messages)
        return "we are on it"

    agent = Agent(MOOD, LLM(model=register_fake("test-mood", respond), mode="live"))
    tape = Tape(metadata=TapeMetadata(agent="test_mood"), steps=(Task(text="Where is my order!"),))
    done = run_to_end(agent, Environment({}), tape).tape
    assert done.metadata.status == "completed"
    assert [s.kind for s in done.steps] == ["task", "test_mood_thought", "final_answer"]
    assert done.steps[1].metadata.node == "judge" and not done.steps[1].metadata.prompt_id
    assert done.steps[2].text == "WE ARE ON IT"  # type: ignore[attr-defined]
    assert "test_mood_thought: upset (90%)" in seen[0][-2]["content"] and seen[0][-1]["content"] == "SHOUT IT"


def test_an_unknown_node_type_fails_before_the_run_with_a_hint() -> None:
    spec = AgentSpec(name="test_odd", entry="x", nodes=(NodeSpec(name="x", type="no_such_type"),))
    with pytest.raises(ConfigError, match=r"node 'x' has unknown type 'no_such_type' \(known: .*\); a node type of your own"):
        Agent(spec, LLM(model="fake/none", mode="live"))


def test_registering_a_class_without_a_kind_or_family_says_what_to_declare() -> None:
    class NoKind(StepBase):
        text: str

    with pytest.raises(ConfigError, match=r'declare kind: Literal\["my_kind"\]'):
        register_step(NoKind)

    class NoFamily(StepBase):
        kind: Literal["test_no_family"] = "test_no_family"

    with pytest.raises(ConfigError, match="family must be one of"):
        register_step(NoFamily)


def test_two_sources_cannot_claim_one_step_kind() -> None:
    class Imposter(StepBase):
        kind: Literal["task"] = "task"
        family: ClassVar = "observation"

    with pytest.raises(ConfigError, match="step kind 'task' is defined twice: by builtin and by"):
        register_step(Imposter)
