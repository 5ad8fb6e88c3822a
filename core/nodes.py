"""Node types: how a node turns the tape into a prompt and the model's output into steps.

A NodeSpec carries the weights (prompt components, tools); its `type` names one of the classes
here, which supply the behaviour. `make_prompt` and `parse` depend on the tape alone, so any tape
or prefix can be continued, and `render` is the inverse of `parse` (used to rebuild completions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import JsonValue

from tape_studio.core.errors import ConfigError
from tape_studio.core.llm import Prompt
from tape_studio.core.spec import NodeSpec
from tape_studio.core.tape import CallAgent, FinalAnswer, Step, StepBase, Tape, Thought, ToolCall, ToolResult


class ParseError(ValueError):
    """The model's output could not be read as this node's steps; becomes an error step."""


@dataclass(frozen=True)
class ToolInfo:
    """What a node needs to know of a tool to offer it to the model."""

    name: str
    description: str
    parameters: dict[str, str]

    @property
    def main_parameter(self) -> str:
        return next(iter(self.parameters), "input")


@dataclass(frozen=True)
class View:
    """What one agent sees of a tape: its task and the steps of its own frame, in order."""

    tape: Tape
    agent: str
    task: str
    indices: Sequence[int] = field(default_factory=tuple)

    def steps(self) -> list[Step]:
        return [self.tape.steps[i] for i in self.indices]


# --- variables a template may use -----------------------------------------------------------


def _observations(view: View) -> str:
    texts = [step.content if isinstance(step, ToolResult) else step.text
             for step in view.steps() if isinstance(step, (ToolResult, FinalAnswer)) and step.metadata.agent != view.agent]
    return "\n".join(texts) or "(none)"


def _history(view: View) -> str:
    lines = [f"{step.kind}: {step.summary()}" for step in view.steps()[1:] if step.family != "error"]
    return "\n".join(lines) or "(nothing yet)"


def _last_text(view: View) -> str:
    for step in reversed(view.steps()):
        if isinstance(step, (Thought, FinalAnswer)):
            return step.text
    return ""


VARIABLES: dict[str, Callable[[View], str]] = {
    "task": lambda view: view.task,
    "observations": _observations,
    "history": _history,
    "last_text": _last_text,
}
"""Fields available to every node's `input_template`; computed only when a template uses them."""


# --- tolerant reading of model output -------------------------------------------------------


def read_json_object(output: str) -> dict[str, Any]:
    """The first JSON object in `output`, repairing what small models typically break."""
    text = output.strip()
    start = text.find("{")
    if start < 0:
        raise ParseError(f"expected a JSON object, got {_clip(text)!r}")
    candidate = text[start:]
    for attempt in (candidate, candidate[: candidate.rfind("}") + 1], candidate + '"}', candidate + "}"):
        try:
            value = json.loads(attempt)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    fields = dict(re.findall(r'"(\w+)"\s*:\s*"((?:[^"\\]|\\.)*)', candidate))
    if fields:
        return fields
    raise ParseError(f"could not read a JSON object from {_clip(text)!r}")


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _string_field(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, (str, int, float)) and str(value).strip():
            return str(value).strip()
    return ""


# --- node types -----------------------------------------------------------------------------


class NodeType:
    """Behaviour shared by node types; subclasses set what they emit and how they read output."""

    name: ClassVar[str]
    terminal_kinds: ClassVar[frozenset[str]]
    """A node's turn is over once it has written a step of one of these kinds."""
    needs_llm: ClassVar[bool] = True

    def make_prompt(self, node: NodeSpec, view: View, tools: dict[str, ToolInfo]) -> Prompt:
        prompt = node.prompt
        system = [prompt.instruction.strip()]
        if prompt.rules:
            system.append("Rules:\n" + "\n".join(f"- {rule}" for rule in prompt.rules))
        if tools:
            system.append("Tools:\n" + "\n".join(
                f"- {t.name}({', '.join(t.parameters)}): {t.description}" for t in tools.values()))
        if prompt.output_format:
            system.append(prompt.output_format.strip())
        messages = [{"role": "system", "content": "\n\n".join(part for part in system if part)}]
        for example in prompt.examples:
            messages += [{"role": "user", "content": example.input}, {"role": "assistant", "content": example.output}]
        messages.append({"role": "user", "content": self.render_input(node, view)})
        return Prompt(messages=messages, response_format=self.response_format(node, tools))

    def render_input(self, node: NodeSpec, view: View) -> str:
        values: dict[str, str] = {}
        for name in node.prompt.template_fields():
            if name not in VARIABLES:
                raise ConfigError(f"node {node.name!r}: template field {{{name}}} is not one of {sorted(VARIABLES)}")
            values[name] = VARIABLES[name](view)
        return node.prompt.input_template.format(**values)

    def response_format(self, node: NodeSpec, tools: dict[str, ToolInfo]) -> dict[str, JsonValue] | None:
        return None

    def parse(self, node: NodeSpec, output: str, tools: dict[str, ToolInfo]) -> list[StepBase]:
        raise NotImplementedError

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, ToolInfo]) -> str:
        """The output that `parse` would read back as `steps`."""
        raise NotImplementedError

    def rule_steps(self, node: NodeSpec, view: View) -> list[StepBase]:
        raise ConfigError(f"node type {self.name!r} needs a model")


def _schema(name: str, properties: dict[str, JsonValue], required: list[str]) -> dict[str, JsonValue]:
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": {"type": "object", "properties": properties, "required": required}},
    }


class ChooseTool(NodeType):
    """Thinks in one sentence, then calls one of its tools with one argument."""

    name = "choose_tool"
    terminal_kinds = frozenset({"tool_call"})

    def response_format(self, node: NodeSpec, tools: dict[str, ToolInfo]) -> dict[str, JsonValue]:
        return _schema("tool_choice", {
            "thought": {"type": "string", "maxLength": 160},
            "tool": {"type": "string", "enum": list(tools)},
            "input": {"type": "string", "maxLength": 80},
        }, ["thought", "tool", "input"])

    def parse(self, node: NodeSpec, output: str, tools: dict[str, ToolInfo]) -> list[StepBase]:
        data = read_json_object(output)
        tool = _string_field(data, "tool", "action", "name").lower()
        if tool not in tools:
            if len(tools) == 1 or not tool:
                tool = next(iter(tools))
            else:
                raise ParseError(f"unknown tool {tool!r}; expected one of {sorted(tools)}")
        argument = _string_field(data, "input", "query", "expression", "argument", "arguments")
        if not argument:
            raise ParseError(f"no input for tool {tool!r} in {_clip(output)!r}")
        thought = _string_field(data, "thought", "reasoning") or f"I will use {tool}."
        return [Thought(text=thought), ToolCall(tool=tool, arguments={tools[tool].main_parameter: argument})]

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, ToolInfo]) -> str:
        thought = next((s.text for s in steps if isinstance(s, Thought)), "")
        call = next(s for s in steps if isinstance(s, ToolCall))
        argument = next(iter(call.arguments.values()), "")
        return json.dumps({"thought": thought, "tool": call.tool, "input": argument})


class Answer(NodeType):
    """Writes the final answer, short, as JSON so a tiny model stays on format."""

    name = "answer"
    terminal_kinds = frozenset({"final_answer"})

    def response_format(self, node: NodeSpec, tools: dict[str, ToolInfo]) -> dict[str, JsonValue]:
        return _schema("answer", {"answer": {"type": "string", "maxLength": 120}}, ["answer"])

    def parse(self, node: NodeSpec, output: str, tools: dict[str, ToolInfo]) -> list[StepBase]:
        try:
            answer = _string_field(read_json_object(output), "answer", "final_answer", "text")
        except ParseError:
            answer = output.strip()
        if not answer:
            raise ParseError(f"empty answer in {_clip(output)!r}")
        return [FinalAnswer(text=answer)]

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, ToolInfo]) -> str:
        answer = next(s for s in steps if isinstance(s, FinalAnswer))
        return json.dumps({"answer": answer.text})


class Write(NodeType):
    """Writes free text: a thought (a draft) or, with settings emits=final_answer, the answer."""

    name = "write"
    terminal_kinds = frozenset({"thought", "final_answer"})

    def parse(self, node: NodeSpec, output: str, tools: dict[str, ToolInfo]) -> list[StepBase]:
        text = output.strip()
        if not text:
            raise ParseError("the model wrote nothing")
        if node.settings.get("emits") == "final_answer":
            return [FinalAnswer(text=text)]
        return [Thought(text=text)]

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, ToolInfo]) -> str:
        return next(s.text for s in steps if isinstance(s, (Thought, FinalAnswer)))


class Delegate(NodeType):
    """Rule-based: hands the task (through its template) to the sub-agent named in settings."""

    name = "delegate"
    terminal_kinds = frozenset({"call_agent"})
    needs_llm = False

    def rule_steps(self, node: NodeSpec, view: View) -> list[StepBase]:
        agent = node.settings.get("agent")
        if not agent:
            raise ConfigError(f"delegate node {node.name!r} needs settings.agent")
        return [CallAgent(agent=agent, task=self.render_input(node, view))]


NODE_TYPES: dict[str, NodeType] = {cls.name: cls() for cls in (ChooseTool, Answer, Write, Delegate)}


def node_type(node: NodeSpec) -> NodeType:
    try:
        return NODE_TYPES[node.type]
    except KeyError:
        raise ConfigError(f"node {node.name!r} has unknown type {node.type!r}; known: {sorted(NODE_TYPES)}") from None
