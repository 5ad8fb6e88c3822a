"""Fixtures for the experiment tests' studio part: the studio pointed at a fresh store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit

sys.path.insert(0, str(Path(__file__).parent))  # experiment_helpers, for the tests and the runner


@pytest.fixture
def studio_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The studio's store for this test; cached resources are dropped so no page sees another test's store."""
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("TAPE_STUDIO_STORE", str(path))
    monkeypatch.setenv("TAPE_STUDIO_HOME", str(tmp_path))
    streamlit.cache_resource.clear()
    streamlit.cache_data.clear()
    yield path
    from tape_studio.studio.experiments_runs import RUNS

    RUNS.wait(30)
    streamlit.cache_resource.clear()
