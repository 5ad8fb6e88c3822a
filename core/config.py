"""Where things live and which model and LLM mode to use, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from tape_studio.core.errors import ConfigError

LLMMode = Literal["live", "cached", "replay"]
LLM_MODES: tuple[LLMMode, ...] = ("live", "cached", "replay")
DEFAULT_MODEL = "local/smollm2"


def home() -> Path:
    """The studio's data folder: `TAPE_STUDIO_HOME`, else `~/.tape_studio`."""
    return Path(os.environ.get("TAPE_STUDIO_HOME") or Path.home() / ".tape_studio").expanduser()


def store_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The SQLite store: `--store PATH` wins (a folder means `PATH/store.sqlite`), else `<home>/store.sqlite`."""
    if not override:
        return home() / "store.sqlite"
    path = Path(override).expanduser()
    return path / "store.sqlite" if path.is_dir() else path


def cache_dir(store: Path | None = None) -> Path:
    """The LLM response cache sits beside the store it serves."""
    return (store.parent if store else home()) / "llm_cache"


def default_model() -> str:
    return os.environ.get("TAPE_STUDIO_MODEL") or DEFAULT_MODEL


def default_llm_mode() -> LLMMode:
    mode = os.environ.get("TAPE_STUDIO_LLM_MODE", "cached")
    if mode not in LLM_MODES:
        raise ConfigError(f"TAPE_STUDIO_LLM_MODE={mode!r} is not one of {', '.join(LLM_MODES)}")
    return mode  # type: ignore[return-value]
