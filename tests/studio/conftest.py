"""Fixtures for the studio's AppTests: a store holding the demo tapes, their recorded LLM calls in
the studio's cache, and replay mode, so that reruns reproduce recorded steps exactly and offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit
from studio_helpers import Demo

from tape_studio.core.demo import demo_files, load_demo_tapes
from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.workspace import Workspace
from tape_studio.studio.runs import REGISTRY


@pytest.fixture(autouse=True)
def _no_leftover_runs() -> Iterator[None]:
    yield
    REGISTRY.wait(30)
    REGISTRY._runs.clear()


@pytest.fixture
def studio_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Points the studio at a fresh store file; the cached workspace is dropped before and after,
    so no page sees another test's store."""
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("TAPE_STUDIO_STORE", str(path))
    monkeypatch.setenv("TAPE_STUDIO_HOME", str(tmp_path))  # nothing may touch the real home folder
    streamlit.cache_resource.clear()
    streamlit.cache_data.clear()
    yield path
    streamlit.cache_resource.clear()


@pytest.fixture
def demo(studio_store: Path) -> Iterator[Demo]:
    ws = Workspace(studio_store)
    load_demo_tapes(ws.store, ws.cache)
    save_settings(ws.store, ModelSettings(llm_mode="replay"))
    family = read_bundle(next(p for p in demo_files() if p.stem == "qa-what-is-17-times-23")).tapes
    original = next(t for t in family if t.metadata.parent_id is None)
    edited = next(t for t in family if t.metadata.parent_id and t.steps[2].kind == "tool_call"
                  and t.steps[2].tool == "calculator")  # type: ignore[union-attr]
    rerun = next(t for t in family if t.metadata.parent_id and t.id != edited.id)
    yield Demo(ws=ws, tapes=ws.store.count_tapes(), original=original, edited=edited, rerun=rerun)


