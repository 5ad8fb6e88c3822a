"""The built-in agents, their tools, and how to assemble a runnable agent from a spec."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tape_studio.core.agent import Agent
from tape_studio.core.environment import Environment
from tape_studio.core.errors import NotFoundError
from tape_studio.core.llm import LLM
from tape_studio.core.nodes import ToolInfo
from tape_studio.core.spec import AgentSpec, ToolDoc

from .explainer import EXPLAINER
from .qa import QA
from .writer import WRITER

if TYPE_CHECKING:
    from .tools import Tool

BUILTIN_SPECS: dict[str, AgentSpec] = {spec.name: spec for spec in (QA, WRITER, EXPLAINER)}


def builtin_spec(name: str) -> AgentSpec:
    try:
        return BUILTIN_SPECS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_SPECS))
        raise NotFoundError(f"no agent named {name!r}; built-in agents: {known}") from None


def build_agent(spec: AgentSpec, llm: LLM) -> Agent:
    """A runnable agent for `spec`, with built-in tools and its sub-agents (built-in specs by name)."""
    from .tools import TOOLS

    subagents = {
        node.settings["agent"]: build_agent(builtin_spec(node.settings["agent"]), llm)
        for node in spec.nodes
        if node.type == "delegate" and "agent" in node.settings
    }
    infos = {name: tool_info(t, spec.tool_docs.get(name)) for name, t in TOOLS.items()}
    used = {tool for node in spec.nodes for tool in node.tools}
    return Agent(spec, llm, tools={name: infos[name] for name in used if name in infos}, subagents=subagents)


def tool_info(tool: Tool, doc: ToolDoc | None = None) -> ToolInfo:
    """What a node shows of `tool`, with the spec's own words where it overrides them.

    Nodes list only argument names, so overridden argument docs ride along in the description."""
    if doc is None:
        return ToolInfo(name=tool.name, description=tool.description, parameters=dict(tool.parameters))
    parameters = {name: doc.parameters.get(name) or text for name, text in tool.parameters.items()}
    notes = "; ".join(f"{name}: {doc.parameters[name]}" for name in tool.parameters if doc.parameters.get(name))
    description = doc.description or tool.description
    return ToolInfo(name=tool.name, description=f"{description} ({notes})" if notes else description,
                    parameters=parameters)


def build_environment(agent: Agent) -> Environment:
    """The tools every agent of the team may call."""
    from .tools import TOOLS

    names: set[str] = set()
    stack = [agent]
    while stack:
        current = stack.pop()
        names |= set(current.tools)
        stack += list(current.subagents.values())
    return Environment({name: TOOLS[name].run for name in sorted(names) if name in TOOLS})
