"""The built-in agents (`qa`, `writer`, `explainer`) and their tools: the `builtin` source.

They are loaded like any user's agents file: the module-level AgentSpec values below are the
agents, and the `@tool` functions in tools.py register themselves on import.
"""

from tape_studio.core.agents import tools as _tools  # noqa: F401  (registers lookup and calculator)
from tape_studio.core.agents.explainer import EXPLAINER
from tape_studio.core.agents.qa import QA
from tape_studio.core.agents.writer import WRITER

__all__ = ["EXPLAINER", "QA", "WRITER"]
