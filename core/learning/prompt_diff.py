"""Word-level diffs of prompts between two spec versions (pure functions, for the studio and tests)."""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.spec import AgentSpec, NodeSpec

Change = Literal["same", "removed", "added"]


class Segment(BaseModel):
    """A run of words that both texts share, or that only one of them has."""

    model_config = ConfigDict(frozen=True)

    change: Change
    text: str


class ComponentDiff(BaseModel):
    """One prompt component of one node (or one tool's description) in two versions."""

    model_config = ConfigDict(frozen=True)

    node: str
    component: str
    old: str
    new: str
    segments: tuple[Segment, ...]

    @property
    def changed(self) -> bool:
        return self.old != self.new


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Segments that rebuild `old` (same + removed) and `new` (same + added), word by word."""
    a, b = re.findall(r"\S+\s*", old), re.findall(r"\S+\s*", new)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.append(Segment(change="same", text="".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment(change="removed", text="".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment(change="added", text="".join(b[j1:j2])))
    return tuple(segments)


def node_texts(node: NodeSpec | None) -> dict[str, str]:
    if node is None:
        return {}
    prompt = node.prompt
    texts = {"description": node.description, "instruction": prompt.instruction, "rules": "\n".join(prompt.rules),
             "output_format": prompt.output_format, "input_template": prompt.input_template,
             "examples": "\n".join(f"{e.input} => {e.output}" for e in prompt.examples)}
    return {name: text for name, text in texts.items() if text}


def spec_diff(old: AgentSpec, new: AgentSpec) -> list[ComponentDiff]:
    """Every component of every node (and every tool doc) in either version, in node order."""
    names = list(dict.fromkeys([n.name for n in old.nodes] + [n.name for n in new.nodes]))
    diffs = []
    for name in names:
        a, b = node_texts(_node(old, name)), node_texts(_node(new, name))
        for component in dict.fromkeys([*a, *b]):
            diffs.append(_diff(name, component, a.get(component, ""), b.get(component, "")))
    for tool in sorted(set(old.tool_docs) | set(new.tool_docs)):
        diffs.append(_diff(f"tool {tool}", "doc", _tool_text(old, tool), _tool_text(new, tool)))
    return diffs


def _diff(node: str, component: str, old: str, new: str) -> ComponentDiff:
    return ComponentDiff(node=node, component=component, old=old, new=new, segments=word_diff(old, new))


def _node(spec: AgentSpec, name: str) -> NodeSpec | None:
    return next((node for node in spec.nodes if node.name == name), None)


def _tool_text(spec: AgentSpec, tool: str) -> str:
    doc = spec.tool_docs.get(tool)
    if doc is None:
        return ""
    return " ".join([doc.description, *(f"{k}: {v}" for k, v in doc.parameters.items())]).strip()
