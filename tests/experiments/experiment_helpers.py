"""Shared pieces of the experiment tests: a workspace on the learning fake and a few qa tapes."""

from __future__ import annotations

import itertools
from pathlib import Path

from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.loop import run_to_end
from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace

_names = itertools.count()
QUESTIONS = ("What is the capital of France?", "What is the capital of Japan?", "What is 12 times 7?")
TARGETS = {"What is the capital of France?": "Paris", "What is the capital of Japan?": "Tokyo",
           "What is 12 times 7?": "84", "What is 9 plus 4?": "13"}
LYON = "France: France is a country in Europe. Its capital is Lyon."
"""A tool result the experiments put in place of the real lookup: the fake answers from it."""


def fake_workspace(folder: Path, latency_s: float = 0.0, mode: str = "cached", name: str | None = None) -> Workspace:
    model = register_learning_fake(name or f"exp-{next(_names)}", latency_s=latency_s)
    return Workspace(folder / "store.sqlite", model=model, mode=mode)  # type: ignore[arg-type]


def run_tapes(ws: Workspace, questions: tuple[str, ...] = QUESTIONS) -> list[Tape]:
    """One finished qa tape per question, each with `target` in its context (as a user's set may put it)."""
    tapes = []
    for question in questions:
        spec = ws.spec("qa")
        tape = ws.new_tape(spec, question)
        tape = tape.model_copy(update={"context": {"target": TARGETS[question]}})
        agent = ws.agent(spec)
        tapes.append(run_to_end(agent, ws.environment(agent), tape, ws.store).tape)
    return tapes
