"""Agents for the debugger's Chromium tests, loaded by the studio as a user's source
(TAPE_STUDIO_AGENTS): the qa graph answered by fake models (named as fakes), so that runs are
offline and their timing is known. `slow_qa` takes 2 s a call, long enough to press Stop;
`careful_qa` asks before every calculator call."""

from __future__ import annotations

import json
from typing import Any

from tape_studio.core.agents.qa import QA
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.spec import AgentSpec


def _respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
    """Plans a calculator call, then answers with what the tool said."""
    if "choosing one tool" in messages[0]["content"]:
        return '{"thought": "Arithmetic.", "tool": "calculator", "input": "17*23"}'
    return json.dumps({"answer": "391" if "391" in messages[-1]["content"] else "unsure"})


def _variant(name: str, model: str, **changes: Any) -> AgentSpec:
    data = QA.model_dump(exclude={"id"})
    data.update(name=name, models={"default": model}, description=f"qa on {model} (a fake model)", **changes)
    return AgentSpec.model_validate(data)


SLOW_QA = _variant("slow_qa", register_fake("debugger-slow", _respond, latency_s=2.0))
CAREFUL_QA = _variant("careful_qa", register_fake("debugger-quick", _respond), nodes=[
    {**node.model_dump(), "approve_tools": ["calculator"]} if node.name == "plan" else node.model_dump()
    for node in QA.nodes])
