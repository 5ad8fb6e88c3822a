"""The agents this process knows, and how to assemble a runnable agent from a spec.

Agents come from sources (see core/plugins.py): the built-in ones are the `builtin` source, a
user's file or package is another. An agent is addressed by name (the version its source defines)
or as `NAME@SPEC_ID` (any stored version, e.g. one that training produced).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tape_studio.core.agent import Agent
from tape_studio.core.environment import Environment
from tape_studio.core.errors import ConfigError
from tape_studio.core.llm import LLM
from tape_studio.core.registry import Registry, source_of_module
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tools import TOOLS, Tool

AGENTS: Registry[AgentSpec] = Registry("agent")

SpecResolver = Callable[[str], AgentSpec]
"""Finds a sub-agent's spec by name."""


def register_agent(spec: AgentSpec, source: str | None = None) -> AgentSpec:
    """Makes `spec` known by its name. Sources do this for every module-level AgentSpec they define."""
    if not isinstance(spec, AgentSpec):
        raise ConfigError(f"register_agent needs an AgentSpec, got {type(spec).__name__}")
    caller = sys._getframe(1).f_globals.get("__name__", "__main__")
    return AGENTS.add(spec.name, spec, source or source_of_module(caller))


def agent_spec(name: str) -> AgentSpec:
    """The spec a loaded source defines under `name` (the built-in and configured sources load first)."""
    _ensure_sources()
    found = AGENTS.find(name)
    if found is None:
        known = ", ".join(AGENTS.names()) or "none"
        raise ConfigError(f"no agent named {name!r} is loaded (loaded: {known}); "
                          "load the file or module that defines it with --agents or TAPE_STUDIO_AGENTS")
    return found


def agent_source(name: str) -> str:
    """Where the agent `name` was loaded from ('' when it is not loaded)."""
    return AGENTS.source(name)


def build_agent(spec: AgentSpec, llm: LLM, resolve: SpecResolver = agent_spec) -> Agent:
    """A runnable agent for `spec`: its tools (in the spec's words) and its sub-agents, resolved by name."""
    _ensure_sources()
    subagents = {
        name: build_agent(resolve(name), llm, resolve)
        for name in sorted(subagent_names(spec))
    }
    return Agent(spec, llm, tools=spec_tools(spec), subagents=subagents)


def subagent_names(spec: AgentSpec) -> set[str]:
    return {node.settings["agent"] for node in spec.nodes if node.type == "delegate" and "agent" in node.settings}


def spec_tools(spec: AgentSpec) -> dict[str, Tool]:
    """The registered tools `spec` uses, each with the spec's own description overlaid."""
    used = sorted({name for node in spec.nodes for name in node.tools})
    missing = [name for name in used if name not in TOOLS]
    if missing:
        node = next(node for node in spec.nodes if set(node.tools) & set(missing))
        raise ConfigError(f"node {node.name!r} of {spec.name!r} uses unknown tools {missing} "
                          f"(known: {', '.join(TOOLS.names()) or 'none'}); load the source that defines them")
    return {name: TOOLS.get(name).with_doc(spec.tool_docs.get(name)) for name in used}


def build_environment(agent: Agent) -> Environment:
    """The tools every agent of the team may call."""
    tools: dict[str, Tool] = {}
    stack = [agent]
    while stack:
        current = stack.pop()
        tools.update(current.tools)
        stack += list(current.subagents.values())
    return Environment(tools)


def _ensure_sources() -> None:
    """Agents and tools come from sources; any process (a Ray worker too) loads the configured ones first."""
    from tape_studio.core.plugins import ensure_configured  # plugins builds on this module

    ensure_configured()
