"""The environment answers an agent's trailing actions with observation steps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tape_studio.core.tape import Tape, ToolCall, ToolResult
from tape_studio.core.tools import Tool, as_tool


class Environment:
    """Runs tools by name. A tool that fails yields an error observation the agent can read.

    Tools are `Tool` values or plain typed functions (made into tools by their signature)."""

    def __init__(self, tools: Mapping[str, Tool | Callable[..., Any]]) -> None:
        self.tools = {name: as_tool(value, name=name) for name, value in tools.items()}

    def pending_calls(self, tape: Tape) -> list[ToolCall]:
        """The tool calls at the end of the tape, which have no results yet."""
        calls: list[ToolCall] = []
        for step in reversed(tape.steps):
            if not isinstance(step, ToolCall):
                break
            calls.append(step)
        return calls[::-1]

    def react(self, tape: Tape) -> list[ToolResult]:
        return [self.run_tool(call) for call in self.pending_calls(tape)]

    def run_tool(self, call: ToolCall) -> ToolResult:
        tool = self.tools.get(call.tool)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return ToolResult(tool=call.tool, content=f"no tool named {call.tool!r} (known: {known})", is_error=True)
        try:
            return ToolResult(tool=call.tool, content=tool.run(dict(call.arguments)))
        except Exception as exc:  # a tool's failure is an observation, not a crash of the session
            return ToolResult(tool=call.tool, content=f"{type(exc).__name__}: {exc}", is_error=True)
