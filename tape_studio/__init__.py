"""Tape Studio: agent sessions as tapes that are also their resumable state.

`import tape_studio` is the public API. The repository's folders install beneath it: core/ is
`tape_studio.core`, studio/ is `tape_studio.studio`, pages/ `tape_studio.pages`, demo_tapes/
`tape_studio.demo_tapes`. Names are imported on first use, so `import tape_studio.core.tape`
stays light (Ray workers and the layer test import single modules).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # tapes and steps
    "Tape": "tape_studio.core.tape",
    "TapeMetadata": "tape_studio.core.tape",
    "StepBase": "tape_studio.core.tape",
    "StepMetadata": "tape_studio.core.tape",
    "Task": "tape_studio.core.tape",
    "Thought": "tape_studio.core.tape",
    "ToolCall": "tape_studio.core.tape",
    "ToolResult": "tape_studio.core.tape",
    "FinalAnswer": "tape_studio.core.tape",
    "register_step": "tape_studio.core.tape",
    "fork_tape": "tape_studio.core.tape",
    # agents: specs, node types, tools
    "AgentSpec": "tape_studio.core.spec",
    "NodeSpec": "tape_studio.core.spec",
    "Edge": "tape_studio.core.spec",
    "Example": "tape_studio.core.spec",
    "PromptComponents": "tape_studio.core.spec",
    "NodeType": "tape_studio.core.nodes",
    "View": "tape_studio.core.nodes",
    "register_node_type": "tape_studio.core.nodes",
    "Tool": "tape_studio.core.tools",
    "tool": "tape_studio.core.tools",
    "register_agent": "tape_studio.core.catalog",
    "load_agents": "tape_studio.core.plugins",
    # evaluation and training data
    "register_metric": "tape_studio.core.learning.metrics",
    "MetricResult": "tape_studio.core.learning.metrics",
    "register_dataset": "tape_studio.core.learning.datasets",
    # running
    "Workspace": "tape_studio.core.workspace",
    "run": "tape_studio.core.loop",
    # recording agents written without Tape Studio
    "record": "tape_studio.core.record",
    "traced_tool": "tape_studio.core.record",
    "litellm_callback": "tape_studio.core.record_clients",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tape_studio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see; keep in step with _EXPORTS
    from tape_studio.core.catalog import register_agent
    from tape_studio.core.learning.datasets import register_dataset
    from tape_studio.core.learning.metrics import MetricResult, register_metric
    from tape_studio.core.loop import run
    from tape_studio.core.nodes import NodeType, View, register_node_type
    from tape_studio.core.plugins import load_agents
    from tape_studio.core.record import record, traced_tool
    from tape_studio.core.record_clients import litellm_callback
    from tape_studio.core.spec import AgentSpec, Edge, Example, NodeSpec, PromptComponents
    from tape_studio.core.tape import (
        FinalAnswer, StepBase, StepMetadata, Tape, TapeMetadata, Task, Thought, ToolCall, ToolResult, fork_tape,
        register_step,
    )
    from tape_studio.core.tools import Tool, tool
    from tape_studio.core.workspace import Workspace
