"""The LLM response cache (diskcache), keyed by the canonical JSON of a request."""

from __future__ import annotations

import difflib
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, JsonValue

from tape_studio.core.store_faults import StoreError, describe_cache

KEY_VERSION = "v1"
"""Tagged into every key so that a future change of the canonical form cannot hit old entries."""


class LLMRequest(BaseModel):
    """Everything that determines a model's answer; two equal requests share one cache entry."""

    model: str
    messages: list[dict[str, JsonValue]]
    params: dict[str, JsonValue] = {}
    response_format: dict[str, JsonValue] | None = None
    tools: list[dict[str, JsonValue]] | None = None
    """Tool schemas sent for native tool calling; None (and then left out of the key) otherwise."""

    def key(self) -> str:
        data = self.model_dump(mode="json")
        if data["tools"] is None:
            del data["tools"]  # keys of requests without tools stay what they were before tools existed
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return f"{KEY_VERSION}:" + hashlib.sha256(canonical.encode()).hexdigest()

    def readable(self) -> str:
        lines = [f"model: {self.model}"]
        lines += [f"[{m.get('role')}] {m.get('content')}" for m in self.messages]
        return "\n".join(lines)


class CachedResponse(BaseModel):
    """What we keep of an answer: enough to rebuild the LLMCall without the model."""

    output: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class LLMCache:
    """diskcache under the hood: safe across threads and processes, survives restarts."""

    def __init__(self, directory: Path) -> None:
        import diskcache

        self.directory = Path(directory)
        with self._guarded():
            self._cache = diskcache.Cache(str(self.directory))

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """A fault of the cache folder (a file in its place, a full disk) in one line."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(describe_cache(self.directory, exc)) from exc

    def get(self, request: LLMRequest) -> CachedResponse | None:
        with self._guarded():
            entry = self._cache.get(request.key())
        return CachedResponse.model_validate(entry["response"]) if entry else None

    def put(self, request: LLMRequest, response: CachedResponse) -> None:
        with self._guarded():
            self._cache.set(request.key(), {"request": request.model_dump(mode="json"), "response": response.model_dump()})

    def requests(self, limit: int = 20_000) -> Iterable[LLMRequest]:
        for n, key in enumerate(self._cache.iterkeys()):
            if n >= limit:
                return
            entry = self._cache.get(key)
            if entry:
                yield LLMRequest.model_validate(entry["request"])

    def closest(self, request: LLMRequest) -> tuple[float, LLMRequest] | None:
        """The recorded request most similar to `request`, for replay-miss messages."""
        target = request.readable()
        best: tuple[float, LLMRequest] | None = None
        for candidate in self.requests():
            ratio = difflib.SequenceMatcher(None, target, candidate.readable(), autojunk=False).quick_ratio()
            if best is None or ratio > best[0]:
                best = (ratio, candidate)
        if best is None:
            return None
        exact = difflib.SequenceMatcher(None, target, best[1].readable(), autojunk=False).ratio()
        return exact, best[1]

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._cache), "bytes": int(self._cache.volume())}

    def clear(self) -> int:
        return int(self._cache.clear())

    def close(self) -> None:
        self._cache.close()


def miss_report(request: LLMRequest, closest: tuple[float, LLMRequest] | None) -> str:
    """A replay-miss message that shows how the prompt differs from the nearest recorded one."""
    if closest is None:
        return f"replay mode: no recorded call for model {request.model!r} and the cache is empty"
    ratio, other = closest
    diff = difflib.unified_diff(
        other.readable().splitlines(), request.readable().splitlines(), "recorded", "requested", lineterm="", n=1
    )
    shown = "\n".join(list(diff)[:40])
    return f"replay mode: no recorded call for this prompt; closest recorded prompt ({ratio:.0%} similar):\n{shown}"
