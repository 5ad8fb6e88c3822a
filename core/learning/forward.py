"""Forward pass: run a spec on dataset examples, one stored tape per (run, spec, split, example).

Tape ids are derived from that key, so a resumed run finds the tapes it already made: finished
ones are reused as they are, and one cut off mid-way is continued by the ordinary agent loop.
"""

from __future__ import annotations

import hashlib

from tape_studio.core.catalog import build_agent, build_environment
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import Example
from tape_studio.core.loop import run_to_end
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape, TapeMetadata, Task


def forward_tape_id(run_id: str, spec_id: str, split: str, example_id: str) -> str:
    key = f"{run_id}\x1f{spec_id}\x1f{split}\x1f{example_id}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def run_example(ctx: Context, spec: AgentSpec, example: Example, split: str, role: str) -> Tape:
    """The finished tape of `spec` on `example`: reused when stored, else run (or continued) now."""
    tape = start_tape(ctx, spec, example, split, role)
    if is_finished(tape):
        return tape
    agent = build_agent(spec, ctx.llm_for(role))
    return run_to_end(agent, build_environment(agent), tape, ctx.store).tape


def start_tape(ctx: Context, spec: AgentSpec, example: Example, split: str, role: str) -> Tape:
    """Where the forward pass of `spec` on `example` stands: its stored tape (finished, or cut off
    mid-way) or a new one holding only the task."""
    tape_id = forward_tape_id(ctx.run_id, spec.id, split, example.id)
    if ctx.store.has_tape(tape_id):
        return ctx.store.load_tape(tape_id)
    return _new_tape(ctx, spec, example, split, role, tape_id)


def is_finished(tape: Tape) -> bool:
    return tape.metadata.status in ("completed", "failed")


def _new_tape(ctx: Context, spec: AgentSpec, example: Example, split: str, role: str, tape_id: str) -> Tape:
    metadata = TapeMetadata(id=tape_id, agent=spec.name, author=spec.name, spec_id=spec.id,
                            title=example.input[:120],
                            tags=("training" if role != "eval" else "eval", split, *ctx.tape_tags))
    context = {"run_id": ctx.run_id, "example_id": example.id, "split": split, "role": role}
    return Tape(metadata=metadata, context=context, steps=(Task(text=example.input),))


def prediction(tape: Tape) -> str:
    """The agent's final answer, or "" when the tape did not complete."""
    result = tape.metadata.result
    return str(result) if tape.metadata.status == "completed" and result is not None else ""
