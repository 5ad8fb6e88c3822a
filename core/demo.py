"""The demo tapes shipped in `demo_tapes/`: loaded into a store on first start."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tape_studio.core.cache import LLMCache
from tape_studio.core.interop import tape_files
from tape_studio.core.llm import record_calls
from tape_studio.core.store import Store

_LOADED_KEY = "demo_tapes_loaded"


def demo_files() -> list[Path]:
    folder = resources.files("tape_studio.demo_tapes")
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
    imported += _load_training_runs(store, cache)
    store.set_setting(_LOADED_KEY, "1")
    return imported


def training_files() -> list[Path]:
    """Recorded training runs (`demo_tapes/training/`): what the Train page shows on a fresh store."""
    folder = resources.files("tape_studio.demo_tapes").joinpath("training")
    return sorted(Path(str(e)) for e in folder.iterdir() if e.name.endswith(".json")) if folder.is_dir() else []


def _load_training_runs(store: Store, cache: LLMCache | None) -> int:
    # Their calls go to the cache too: a person who reruns or forks one of the run's tapes in the
    # studio is answered from the recording instead of waiting minutes for the embedded model.
    from tape_studio.core.learning.bundle import import_run, read_run_bundle

    imported = 0
    for path in training_files():
        bundle = read_run_bundle(path)
        import_run(store, bundle, path)
        if cache is not None:
            record_calls(cache, bundle.llm_calls)
        imported += len(bundle.tapes)
    return imported
