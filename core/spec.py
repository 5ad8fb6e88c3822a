"""AgentSpec: the serializable, content-hashed description of an agent that training updates.

A spec is a value. Changing it means making a new spec whose `parent_id` points at the old one;
the id is a hash of the content, so equal agents have equal ids however they were reached.
"""

from __future__ import annotations

import hashlib
import json
import string
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from tape_studio.core.errors import ConfigError


class Example(BaseModel):
    """One worked example shown to the model (few-shot): what it is given and what it answers."""

    model_config = ConfigDict(frozen=True)

    input: str
    output: str


class PromptComponents(BaseModel):
    """The trainable text of an LLM node; all empty means the node is rule-based."""

    model_config = ConfigDict(frozen=True)

    instruction: str = ""
    rules: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    input_template: str = "{task}"
    """What the model is shown for the current tape; `{name}` fields come from the node type."""
    output_format: str = ""

    def is_empty(self) -> bool:
        return not (self.instruction or self.rules or self.examples or self.output_format)

    def template_fields(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.input_template) if name}


class Edge(BaseModel):
    """A transition of the workflow graph, taken after `source` finishes its turn."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    when: str | None = None
    """Take this edge only if the source's last step has this kind (None: always)."""


class NodeSpec(BaseModel):
    """A layer of the agent: its type (how it reads the tape and writes steps) and its weights."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    """Registered node type, e.g. "choose_tool", "answer", "write", "delegate"."""
    description: str = ""
    prompt: PromptComponents = PromptComponents()
    tools: tuple[str, ...] = ()
    role: str = "default"
    """Which model serves this node (see AgentSpec.models)."""
    max_tokens: int = 128
    params: dict[str, float] = Field(default_factory=dict)
    """Extra sampling parameters for this node's calls, e.g. frequency_penalty for free text."""
    settings: dict[str, str] = Field(default_factory=dict)
    """Type-specific knobs, e.g. the sub-agent a delegate node calls."""
    approve_tools: tuple[str, ...] = ()
    """Tools whose calls from this node wait for a person's approval on every run ("*": all of them);
    left out of the spec's id while empty, so older ids stay valid."""


class ToolDoc(BaseModel):
    """How a spec describes one tool to the model, overriding the built-in words (the tool optimizer edits it)."""

    model_config = ConfigDict(frozen=True)

    description: str = ""
    """Replaces the tool's own description when not empty."""
    parameters: dict[str, str] = Field(default_factory=dict)
    """Argument name -> one-line doc; names must be the tool's own arguments."""


class AgentSpec(BaseModel):
    """Nodes, edges and entry of one agent version, plus the model per role."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    nodes: tuple[NodeSpec, ...]
    edges: tuple[Edge, ...] = ()
    entry: str
    models: dict[str, str] = Field(default_factory=dict)
    """Model per role; roles left out use the session's model."""
    max_iterations: int = 12
    """Node visits allowed in one tape before the loop stops it as failed."""
    tool_docs: dict[str, ToolDoc] = Field(default_factory=dict)
    """Per-tool description overrides; left out of the id while empty, so older ids stay valid."""
    parent_id: str | None = None
    """The version this one was derived from; not part of the content hash."""
    example_task: str = ""
    """A task to offer as a placeholder where a run is started; not part of the hash (no behaviour)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        content = self.model_dump(mode="json", exclude={"id", "parent_id", "example_task"})
        if not content.get("tool_docs"):
            content.pop("tool_docs", None)
        for node in content["nodes"]:
            if not node.get("approve_tools"):
                node.pop("approve_tools", None)
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode())
        return f"{self.name}-{digest.hexdigest()[:12]}"

    @model_validator(mode="after")
    def _check_graph(self) -> AgentSpec:
        names = [node.name for node in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"agent {self.name!r}: node names repeat: {names}")
        if self.entry not in names:
            raise ValueError(f"agent {self.name!r}: entry node {self.entry!r} is not one of {names}")
        for edge in self.edges:
            for end in (edge.source, edge.target):
                if end not in names:
                    raise ValueError(f"agent {self.name!r}: edge {edge.source}->{edge.target} names unknown node {end!r}")
        return self

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        raise ConfigError(f"agent {self.name!r} has no node named {name!r}")

    def successor(self, name: str, last_kind: str) -> str | None:
        """The node after `name` when its turn ended with a step of `last_kind`."""
        for edge in self.edges:
            if edge.source == name and edge.when in (None, last_kind):
                return edge.target
        return None

    def derive(self, **changes: Any) -> AgentSpec:
        """A new version with `changes`, pointing back at this one."""
        data = self.model_dump(exclude={"id"})
        data.update(changes)
        data["parent_id"] = self.id
        return AgentSpec.model_validate(data)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)
