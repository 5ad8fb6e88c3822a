"""Fixtures for the learning tests: a workspace whose model is the learning fake (a named fake that
plays every role of a run, deterministic, with any role's answer replaceable)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path

import pytest
from learning_helpers import MakeWorkspace

from tape_studio.core.learning.fake_roles import Answer, register_learning_fake
from tape_studio.core.workspace import Workspace

_names = itertools.count()


@pytest.fixture
def make_ws(tmp_path: Path) -> MakeWorkspace:
    """A workspace (store and cache in tmp_path) whose default model is a fresh learning fake."""

    def make(overrides: Mapping[str, Answer] | None = None, latency_s: float = 0.0, folder: str = "ws",
             crash_at_call: int | None = None) -> Workspace:
        model = register_learning_fake(f"learning-{next(_names)}", overrides, latency_s, crash_at_call)
        return Workspace(tmp_path / folder / "store.sqlite", model=model, mode="cached")

    return make
