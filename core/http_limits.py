"""Limits on one model call's HTTP traffic: a total deadline and a cap on the bytes read.

httpx's timeouts are per read, so a server that sends a byte a second never times out, and
nothing stops a 300 MB answer from being read whole. litellm sends every request through the
httpx transport it is given (`litellm.client_session` for the OpenAI SDK, `litellm.sync_transport`
for its own handlers); `BoundedTransport` wraps that transport and enforces the limits that the
calling thread set with `bounded(...)`. Requests made outside `bounded` pass through unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


@dataclass
class Bounds:
    """What one attempt may spend, and why it was stopped (empty while it was not).

    The clock starts at the attempt's first request, so that our own preparation (importing
    litellm takes seconds the first time) is not counted as the server's slowness."""

    seconds: float
    max_bytes: int
    started: float | None = None
    tripped: str = ""
    too_large: bool = False

    def left(self) -> float:
        if self.started is None:
            self.started = time.monotonic()
        return self.started + self.seconds - time.monotonic()

    def trip_deadline(self, request: httpx.Request) -> httpx.TimeoutException:
        self.tripped = f"Timeout: no complete answer within {self.seconds:g} s"
        return httpx.ReadTimeout(self.tripped, request=request)

    def trip_size(self, request: httpx.Request) -> httpx.ReadError:
        self.tripped = f"ResponseTooLarge: the answer is larger than {self.max_bytes:,} bytes; stopped reading it"
        self.too_large = True
        return httpx.ReadError(self.tripped, request=request)


_active = threading.local()


@contextmanager
def bounded(bounds: Bounds) -> Iterator[Bounds]:
    """Applies `bounds` to the HTTP requests this thread makes inside the block."""
    previous = getattr(_active, "bounds", None)
    _active.bounds = bounds
    try:
        yield bounds
    finally:
        _active.bounds = previous


class BoundedTransport(httpx.BaseTransport):
    """Wraps a transport: every timeout shrinks to what is left of the deadline, and the body is
    read through a counter that stops at the deadline or the byte cap."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        bounds: Bounds | None = getattr(_active, "bounds", None)
        if bounds is None:
            return self._inner.handle_request(request)
        left = bounds.left()
        if left <= 0:
            raise bounds.trip_deadline(request)
        given = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            name: left if given.get(name) is None else min(given[name], left) for name in ("connect", "read", "write", "pool")}
        response = self._inner.handle_request(request)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > bounds.max_bytes:
            response.close()
            raise bounds.trip_size(request)
        response.stream = _BoundedStream(response.stream, bounds, request)  # type: ignore[arg-type]
        return response

    def close(self) -> None:
        self._inner.close()


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, bounds: Bounds, request: httpx.Request) -> None:
        self._inner, self._bounds, self._request = inner, bounds, request

    def __iter__(self) -> Iterator[bytes]:
        read = 0
        for chunk in self._inner:
            read += len(chunk)
            if read > self._bounds.max_bytes:
                raise self._bounds.trip_size(self._request)
            if self._bounds.left() <= 0:
                raise self._bounds.trip_deadline(self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()
