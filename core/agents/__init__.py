"""The built-in agents (`qa`, `writer`, `explainer`) and their tools: the `builtin` source.

They are loaded like any user's agents file: the module-level AgentSpec values below are the
agents, and the `@tool` functions in tools.py register themselves on import.
"""

from tape_studio.core.agents import tools as _tools  # noqa: F401  (registers lookup and calculator)
from tape_studio.core.agents.qa import QA  # first: the agents are offered in this order
from tape_studio.core.agents.writer import WRITER  # noqa: I001
from tape_studio.core.agents.explainer import EXPLAINER  # noqa: I001

__all__ = ["QA", "WRITER", "EXPLAINER"]
