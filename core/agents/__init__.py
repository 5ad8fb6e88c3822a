"""The built-in agents, their tools, and how to assemble a runnable agent from a spec."""

from __future__ import annotations

from core.agent import Agent
from core.environment import Environment
from core.errors import NotFoundError
from core.llm import LLM
from core.nodes import ToolInfo
from core.spec import AgentSpec

from .explainer import EXPLAINER
from .qa import QA
from .writer import WRITER

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
    infos = {name: ToolInfo(name=t.name, description=t.description, parameters=dict(t.parameters))
             for name, t in TOOLS.items()}
    used = {tool for node in spec.nodes for tool in node.tools}
    return Agent(spec, llm, tools={name: infos[name] for name in used if name in infos}, subagents=subagents)


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
