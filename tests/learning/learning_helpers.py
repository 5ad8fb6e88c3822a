"""Helpers for the learning tests (the fixtures that use them are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

from tape_studio.core.learning.context import Context
from tape_studio.core.learning.datasets import named_dataset
from tape_studio.core.learning.meter import Meter
from tape_studio.core.workspace import Workspace

MakeWorkspace = Callable[..., Workspace]


def make_context(ws: Workspace, **changes: object) -> Context:
    fields: dict[str, object] = {"store": ws.store, "llm": ws.llm, "meter": Meter(), "run_id": "test-run",
                                 "metric": "answer", "train_examples": named_dataset("qa-mini").split("train")}
    fields.update(changes)
    return Context(**fields)  # type: ignore[arg-type]
