"""Fixtures for the trace tests: the fake OpenAI server, a dummy key (read from the environment, as
a real one would be), and litellm kept offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_fake import FakeOpenAI, fake_openai
from trace_helpers import KEY

from tape_studio.core.store import Store


@pytest.fixture(autouse=True)
def _offline_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.sqlite")
