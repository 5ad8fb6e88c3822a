"""A fake model that plays every part of a training run, for tests and benchmarks (never for users).

It answers the built-in agents' nodes and each learning role with fixed, deterministic outputs,
told apart by the system message. The qa plan node calls the calculator for arithmetic only once
its rules say "Always calculate": that is the rule the fake prompt optimizer proposes, so a run
on the fake can show a real accepted improvement. Any role's answer can be replaced.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tape_studio.core.fake_llm import register_fake
from tape_studio.core.learning.prompts import role_of

Answer = Callable[[list[dict[str, Any]]], str]
TRAINED_RULE = "Always calculate arithmetic with the calculator."
_ARITHMETIC = re.compile(r"(\d+)\s*(times|divided by|plus|minus)\s*(\d+)")
_OPERATORS = {"times": "*", "divided by": "/", "plus": "+", "minus": "-"}


def _plan(messages: list[dict[str, Any]]) -> str:
    question = str(messages[-1]["content"]).removeprefix("Question: ")
    arithmetic = _ARITHMETIC.search(question)
    if arithmetic and "always calculate" in str(messages[0]["content"]).lower():
        left, op, right = arithmetic.groups()
        return json.dumps({"thought": "Arithmetic.", "tool": "calculator", "input": f"{left}{_OPERATORS[op]}{right}"})
    keywords = " ".join(w for w in re.findall(r"[A-Za-z]+", question) if w[0].isupper() and w != "What")
    return json.dumps({"thought": "Look it up.", "tool": "lookup", "input": keywords or question})


def _answer(messages: list[dict[str, Any]]) -> str:
    text = str(messages[-1]["content"]).split("\nQuestion:")[0].removeprefix("Text: ").strip()
    capital = re.search(r"capital is ([A-Z][a-z]+)", text)
    answer = text if re.fullmatch(r"-?[\d.]+", text) else capital.group(1) if capital else "unknown"
    return json.dumps({"answer": answer})


ROLE_ANSWERS: dict[str, Answer] = {
    "plan": _plan,
    "answer": _answer,
    "draft": lambda m: "A short draft.",
    "edit": lambda m: "A short, clear text.",
    "judge": lambda m: '{"reasons": "Clear but plain.", "score": 6}',
    "backward": lambda m: '{"change": "Use the calculator for arithmetic questions.", "needed": "The exact numbers."}',
    "summary": lambda m: '{"summary": "Use the calculator for arithmetic."}',
    "prompt_optimizer": lambda m: json.dumps({"instruction": _current_instruction(m), "rules": [TRAINED_RULE]}),
    "tool_optimizer": lambda m: '{"description": "Look up one fact by keywords.", "argument": "two or three keywords"}',
    "pipeline_optimizer": lambda m: '{"op": "none", "node": "", "after": "", "target": "", "text": ""}',
}


def _current_instruction(messages: list[dict[str, Any]]) -> str:
    found = re.search(r"Instruction: (.*)", str(messages[-1]["content"]))
    return found.group(1) if found else "Do the job."


def agent_role(system: str) -> str:
    """Which built-in node a system message belongs to."""
    for marker, role in (("choosing one tool", "plan"), ("Read the text", "answer"), ("first draft", "draft"),
                         ("Improve the draft", "edit")):
        if marker in system:
            return role
    return "unknown"


def register_learning_fake(
    name: str, overrides: Mapping[str, Answer] | None = None, latency_s: float = 0.0, crash_at_call: int | None = None
) -> str:
    """Registers the fake as `fake/<name>`; `overrides` replace the answers of some roles.

    With `crash_at_call` N, the N-th call raises KeyboardInterrupt once: a process killed mid-step."""
    answers = {**ROLE_ANSWERS, **(overrides or {})}
    calls = itertools.count(1)

    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        if next(calls) == crash_at_call:
            raise KeyboardInterrupt(f"the learning fake {name!r} crashed at call {crash_at_call}")
        system = str(messages[0].get("content", "")) if messages else ""
        role = role_of(system) or agent_role(system)
        if role not in answers:
            raise KeyError(f"the learning fake has no answer for a {role!r} prompt")
        return answers[role](messages)

    return register_fake(name, respond, latency_s)
