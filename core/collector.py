"""Pausing Python's cyclic garbage collector around bulk work (loading a long tape, an import).

Building tens of thousands of objects in one go (steps, their metadata, parsed JSON) sets off full
collections again and again, each walking every object made so far, although none of these
objects form reference cycles for the collector to find. Reference counting still frees them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, then as it was (a caller that had turned it off keeps it off).

    The switch is process-wide: blocks overlapping on several threads (studio sessions) end with it
    on again, turned back by the block that found it on; one may finish with it on, only slower."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
