"""The demo tapes shipped in `demo_tapes/`: loaded into a store on first start."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from core.cache import LLMCache
from core.interop import tape_files
from core.llm import record_calls
from core.store import Store

_LOADED_KEY = "demo_tapes_loaded"


def demo_files() -> list[Path]:
    folder = resources.files("demo_tapes")
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".json"))


def load_demo_tapes(store: Store, cache: LLMCache | None = None, force: bool = False) -> int:
    """Imports the demo tapes once per store (a user who deletes them does not get them back),
    and records their LLM calls in the cache so that forks of them rerun without a model."""
    if store.get_setting(_LOADED_KEY) and not force:
        return 0
    imported = 0
    for path in demo_files():
        bundle = tape_files.read_bundle(path)
        imported += len(tape_files.save_bundle(store, bundle, source=path).imported)
        if cache is not None:
            record_calls(cache, bundle.llm_calls)
    store.set_setting(_LOADED_KEY, "1")
    return imported
