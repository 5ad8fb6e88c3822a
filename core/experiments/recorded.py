"""An original tape's recorded LLM calls, offered to its fork's rerun as cache entries.

A fork reruns its agent from the fork point; every prompt the edit leaves unchanged is the prompt
the original sent, and its answer is on record with the original tape. Tapes whose calls live
only in the store (those of an evaluation or training run, imported ones) would otherwise miss
the cache on exactly those prompts and pay the model again for an answer already known.
Entries are keyed by the full request (model, messages, params), so another model or another
prompt still misses.
"""

from __future__ import annotations

from collections.abc import Iterable

from tape_studio.core.cache import CachedResponse, LLMCache, LLMRequest
from tape_studio.core.llm import LLMCall, record_calls, recorded_response


def recorded_entries(calls: Iterable[LLMCall]) -> dict[str, tuple[LLMRequest, CachedResponse]]:
    """Request key -> (request, response) for the calls that got an answer."""
    return {(request := call.request()).key(): (request, recorded_response(call)) for call in calls if not call.error}


def seed_cache(cache: LLMCache | None, calls: Iterable[LLMCall]) -> int:
    """Adds the recorded answers the cache lacks (an entry it has is never replaced); how many were added."""
    return record_calls(cache, calls, replace=False) if cache is not None else 0


class WithRecorded(LLMCache):
    """A read-only view for previews: the cache first, then the recorded calls (nothing is written)."""

    def __init__(self, base: LLMCache | None, calls: Iterable[LLMCall]) -> None:  # opens no diskcache of its own
        self.base = base
        self.directory = base.directory if base is not None else None  # type: ignore[assignment]
        self.entries = recorded_entries(calls)

    def get(self, request: LLMRequest) -> CachedResponse | None:
        hit = self.base.get(request) if self.base is not None else None
        if hit is None and request.key() in self.entries:
            return self.entries[request.key()][1]
        return hit

    def put(self, request: LLMRequest, response: CachedResponse) -> None:
        raise RuntimeError("a preview writes nothing")

    def closest(self, request: LLMRequest) -> tuple[float, LLMRequest] | None:
        return self.base.closest(request) if self.base is not None else None
