"""Registries: named things (tools, step kinds, node types, agents, metrics) and where each came from.

Built-in and user definitions register the same way, through decorators or `add`. Every entry
remembers its source (`builtin`, a file path, a module, an entry point) so that `tape-studio agents`
can say where an agent came from and a tape can say which source rebuilds it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

from tape_studio.core.errors import ConfigError, NotFoundError

T = TypeVar("T")

BUILTIN = "builtin"
"""The source label of what ships with Tape Studio (loaded through the same mechanism as user code)."""

_loading: ContextVar[str | None] = ContextVar("tape_studio_loading_source", default=None)


@contextmanager
def loading_source(label: str) -> Iterator[None]:
    """Everything registered inside this block is recorded as coming from `label`."""
    token = _loading.set(label)
    try:
        yield
    finally:
        _loading.reset(token)


def source_of_module(module: str) -> str:
    """The source label for a definition made in `module`: the loader's label while one loads it
    (our own modules stay `builtin` even when a user's file is what first imports them)."""
    label = module_label(module)
    loading = _loading.get()
    return label if label == BUILTIN or loading is None else loading


def module_label(module: str) -> str:
    """How a module names itself as a source: `builtin` for this package, else its import name."""
    if module == "tape_studio" or module.startswith("tape_studio."):
        return BUILTIN
    if module == "__main__":
        return getattr(sys.modules.get("__main__"), "__file__", None) or "__main__"
    return module


class Registry(Generic[T]):
    """Names to items, each with its source. A name may be redefined only by its own source
    (reloading a file), so two plugins cannot silently shadow each other."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}
        self._sources: dict[str, str] = {}

    def add(self, name: str, item: T, source: str) -> T:
        if not name or not isinstance(name, str):
            raise ConfigError(f"a {self.what} needs a non-empty name, got {name!r}")
        known = self._sources.get(name)
        if known is not None and self._items[name] is item:
            return item  # the same object seen again (e.g. imported into a user module): keep its source
        if known is not None and known != source:
            raise ConfigError(f"{self.what} {name!r} is defined twice: by {known} and by {source}")
        self._items[name] = item
        self._sources[name] = source
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise NotFoundError(f"no {self.what} named {name!r} (known: {known})") from None

    def find(self, name: str) -> T | None:
        return self._items.get(name)

    def source(self, name: str) -> str:
        return self._sources.get(name, "")

    def names(self) -> list[str]:
        return sorted(self._items)

    def in_order(self) -> list[str]:
        """Names in the order they were first registered (sources load in a fixed order)."""
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
