"""How many llama.cpp threads the embedded model gets: the environment, else one core left free."""

from __future__ import annotations

import pytest

from tape_studio.core import local_model
from tape_studio.core.errors import ConfigError


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (3, 2), (8, 4), (64, 4)])
def test_one_core_is_left_free_up_to_four_threads(monkeypatch: pytest.MonkeyPatch, cores: int, threads: int) -> None:
    monkeypatch.delenv(local_model.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(local_model.os, "cpu_count", lambda: cores)
    assert local_model.model_threads() == threads


def test_the_environment_sets_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(local_model.THREADS_VARIABLE, "3")
    assert local_model.model_threads() == 3


@pytest.mark.parametrize("given", ["two", "0", "-1", "1.5", "100000"])
def test_a_bad_thread_count_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv(local_model.THREADS_VARIABLE, given)
    with pytest.raises(ConfigError, match=f"TAPE_STUDIO_MODEL_THREADS='{given}': expected a whole number"):
        local_model.model_threads()
