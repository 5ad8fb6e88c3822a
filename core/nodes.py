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
from typing import Any, ClassVar, TypeVar

from pydantic import JsonValue

from tape_studio.core.errors import ConfigError
from tape_studio.core.registry import Registry, source_of_module
from tape_studio.core.llm import Prompt
from tape_studio.core.spec import NodeSpec
from tape_studio.core.tape import CallAgent, FinalAnswer, Step, StepBase, Tape, Thought, ToolCall, ToolResult
from tape_studio.core.tools import Tool


class ParseError(ValueError):
    """The model's output could not be read as this node's steps; becomes an error step."""


@dataclass(frozen=True)
class View:
    """What one agent sees of a tape: its task and the steps of its own frame, in order."""

    tape: Tape
    agent: str
    task: str
    indices: Sequence[int] = field(default_factory=tuple)
    """The frame's steps before the node's turn (the node's own turn so far is `partial`)."""
    partial: tuple[StepBase, ...] = ()
    """Steps of this node's turn already on the tape, e.g. a thought a person edited: the node
    continues from them rather than redoing them."""

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
    """Behaviour shared by node types; subclasses set what they emit and how they read output.

    A user node type subclasses this (an LLM node overriding `parse`/`render` and maybe
    `make_prompt`, or a rule node with `needs_llm = False` and `rule_steps`) and registers with
    `@register_node_type`; a NodeSpec names it by `name`."""

    name: ClassVar[str]
    terminal_kinds: ClassVar[frozenset[str]]
    """A node's turn is over once it has written a step of one of these kinds."""
    needs_llm: ClassVar[bool] = True

    def variables(self) -> dict[str, Callable[[View], str]]:
        """Fields this type's `input_template` may use; extend it to offer more."""
        return VARIABLES

    def make_prompt(self, node: NodeSpec, view: View, tools: dict[str, Tool]) -> Prompt:
        prompt = node.prompt
        system = [prompt.instruction.strip()]
        if prompt.rules:
            system.append("Rules:\n" + "\n".join(f"- {rule}" for rule in prompt.rules))
        if tools:
            system.append("Tools:\n" + "\n".join(f"- {t.signature()}: {t.description}" for t in tools.values()))
        if prompt.output_format:
            system.append(prompt.output_format.strip())
        messages = [{"role": "system", "content": "\n\n".join(part for part in system if part)}]
        for example in prompt.examples:
            messages += [{"role": "user", "content": example.input}, {"role": "assistant", "content": example.output}]
        user = self.render_input(node, view)
        if view.partial:
            user += "\n\n" + self.turn_so_far(node, view.partial)
        messages.append({"role": "user", "content": user})
        return Prompt(messages=messages, response_format=self.response_format(node, view, tools))

    def render_input(self, node: NodeSpec, view: View) -> str:
        known = self.variables()
        values: dict[str, str] = {}
        for name in node.prompt.template_fields():
            if name not in known:
                raise ConfigError(f"node {node.name!r}: template field {{{name}}} is not one of {sorted(known)}")
            values[name] = known[name](view)
        return node.prompt.input_template.format(**values)

    def turn_so_far(self, node: NodeSpec, partial: Sequence[StepBase]) -> str:
        """What the prompt says of the turn's steps already on the tape (a fork inside a turn)."""
        lines = "\n".join(f"{step.kind}: {step.summary()}" for step in partial)
        return f"You already wrote this; continue from it:\n{lines}"

    def response_format(self, node: NodeSpec, view: View, tools: dict[str, Tool]) -> dict[str, JsonValue] | None:
        return None

    def parse(self, node: NodeSpec, output: str, tools: dict[str, Tool]) -> list[StepBase]:
        raise NotImplementedError

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, Tool]) -> str:
        """The output that `parse` would read back as `steps`."""
        raise NotImplementedError

    def rule_steps(self, node: NodeSpec, view: View) -> list[StepBase]:
        raise ConfigError(f"node type {self.name!r} needs a model")


NODE_TYPES: Registry[NodeType] = Registry("node type")

N = TypeVar("N", bound=type[NodeType])


def register_node_type(cls: N) -> N:
    """Class decorator: makes a NodeType subclass available to specs under its `name`."""
    if not (isinstance(cls, type) and issubclass(cls, NodeType)):
        raise ConfigError(f"register_node_type needs a NodeType subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"node type {cls.__name__}: set the class attribute name = \"my_type\"")
    if not getattr(cls, "terminal_kinds", None):
        raise ConfigError(f"node type {name!r}: set terminal_kinds, the step kinds that end its turn")
    NODE_TYPES.add(name, cls(), source_of_module(cls.__module__))
    return cls


def node_type(node: NodeSpec) -> NodeType:
    found = NODE_TYPES.find(node.type)
    if found is None:
        raise ConfigError(f"node {node.name!r} has unknown type {node.type!r} (known: {', '.join(NODE_TYPES.names())}); "
                          "a node type of your own needs its source loaded (--agents FILE)")
    return found


def _schema(name: str, properties: dict[str, JsonValue], required: list[str]) -> dict[str, JsonValue]:
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": {"type": "object", "properties": properties, "required": required}},
    }


def _partial_thought(partial: Sequence[StepBase]) -> str | None:
    return next((step.text for step in partial if isinstance(step, Thought)), None)


def _compact(tools: dict[str, Tool]) -> bool:
    """Every tool takes one text argument: ask for it as a plain `input`, the form small models fill best."""
    return all(t.takes_one_text() for t in tools.values())


def _match_tool(name: str, tools: dict[str, Tool]) -> str | None:
    return next((known for known in tools if known.lower() == name.strip().lower()), None)


@register_node_type
class ChooseTool(NodeType):
    """Thinks in one sentence, then calls one of its tools with every argument filled in."""

    name = "choose_tool"
    terminal_kinds = frozenset({"tool_call"})

    def make_prompt(self, node: NodeSpec, view: View, tools: dict[str, Tool]) -> Prompt:
        # Models with native tool calling get the tools themselves; the LLM layer then sends
        # `tools=` instead of the JSON schema and writes their choice back in this node's format.
        prompt = super().make_prompt(node, view, tools)
        return prompt.model_copy(update={"tools": [t.openai_schema() for t in tools.values()]})

    def response_format(self, node: NodeSpec, view: View, tools: dict[str, Tool]) -> dict[str, JsonValue]:
        fixed = _partial_thought(view.partial)
        # An edited thought is fixed in the schema, so the model writes its call after that thought.
        thought: dict[str, JsonValue] = {"type": "string", "enum": [fixed]} if fixed is not None else \
            {"type": "string", "maxLength": 160}
        if _compact(tools):
            return _schema("tool_choice", {
                "thought": thought,
                "tool": {"type": "string", "enum": list(tools)},
                "input": {"type": "string", "maxLength": 80},
            }, ["thought", "tool", "input"])
        options: list[JsonValue] = [{
            "type": "object",
            "properties": {"thought": thought, "tool": {"type": "string", "enum": [name]}, "arguments": t.parameters},
            "required": ["thought", "tool", "arguments"],
        } for name, t in tools.items()]
        schema = options[0] if len(options) == 1 else {"anyOf": options}
        return {"type": "json_schema", "json_schema": {"name": "tool_choice", "schema": schema}}

    def parse(self, node: NodeSpec, output: str, tools: dict[str, Tool]) -> list[StepBase]:
        data = read_json_object(output)
        named = _string_field(data, "tool", "action", "name")
        tool = _match_tool(named, tools) if named else None
        if tool is None:
            if len(tools) == 1 or not named:
                tool = next(iter(tools))
            else:
                raise ParseError(f"unknown tool {named.lower()!r}; expected one of {sorted(tools)}")
        arguments = self._arguments(data, tools[tool], output)
        thought = _string_field(data, "thought", "reasoning") or f"I will use {tool}."
        return [Thought(text=thought), ToolCall(tool=tool, arguments=arguments)]

    def _arguments(self, data: dict[str, Any], tool: Tool, output: str) -> dict[str, JsonValue]:
        given = data.get("arguments")
        if isinstance(given, str) and given.strip().startswith("{"):
            try:
                given = json.loads(given)
            except json.JSONDecodeError:
                pass
        if isinstance(given, dict):
            return given
        if tool.takes_one_text():
            argument = _string_field(data, "input", "query", "expression", "argument", "arguments",
                                     *tool.argument_names)
            if not argument:
                raise ParseError(f"no input for tool {tool.name!r} in {_clip(output)!r}")
            return {tool.main_parameter: argument}
        found = {name: data[name] for name in tool.argument_names if name in data}
        if not found and tool.argument_names:
            raise ParseError(f"no arguments for tool {tool.name!r} in {_clip(output)!r}")
        return found

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, Tool]) -> str:
        thought = next((s.text for s in steps if isinstance(s, Thought)), "")
        call = next(s for s in steps if isinstance(s, ToolCall))
        if _compact(tools):
            argument = next(iter(call.arguments.values()), "")
            return json.dumps({"thought": thought, "tool": call.tool, "input": argument})
        return json.dumps({"thought": thought, "tool": call.tool, "arguments": call.arguments})


@register_node_type
class Answer(NodeType):
    """Writes the final answer, short, as JSON so a tiny model stays on format."""

    name = "answer"
    terminal_kinds = frozenset({"final_answer"})

    def response_format(self, node: NodeSpec, view: View, tools: dict[str, Tool]) -> dict[str, JsonValue]:
        return _schema("answer", {"answer": {"type": "string", "maxLength": 120}}, ["answer"])

    def parse(self, node: NodeSpec, output: str, tools: dict[str, Tool]) -> list[StepBase]:
        try:
            answer = _string_field(read_json_object(output), "answer", "final_answer", "text")
        except ParseError:
            answer = output.strip()
        if not answer:
            raise ParseError(f"empty answer in {_clip(output)!r}")
        return [FinalAnswer(text=answer)]

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, Tool]) -> str:
        answer = next(s for s in steps if isinstance(s, FinalAnswer))
        return json.dumps({"answer": answer.text})


@register_node_type
class Write(NodeType):
    """Writes free text: a thought (a draft) or, with settings emits=final_answer, the answer."""

    name = "write"
    terminal_kinds = frozenset({"thought", "final_answer"})

    def parse(self, node: NodeSpec, output: str, tools: dict[str, Tool]) -> list[StepBase]:
        text = output.strip()
        if not text:
            raise ParseError("the model wrote nothing")
        if node.settings.get("emits") == "final_answer":
            return [FinalAnswer(text=text)]
        return [Thought(text=text)]

    def render(self, node: NodeSpec, steps: Sequence[StepBase], tools: dict[str, Tool]) -> str:
        return next(s.text for s in steps if isinstance(s, (Thought, FinalAnswer)))


@register_node_type
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
