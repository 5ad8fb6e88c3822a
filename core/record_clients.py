"""The hooks that let `record` see chat calls: litellm and the official `openai` client, sync, async
and streaming, plus a litellm callback for code that already configures litellm callbacks.

Hooks are installed once per process, on the first `record`, into the clients already imported (or
those named: `record(..., clients=("openai", "litellm"))`), and do nothing outside a recorded
session. A call made through litellm is recorded once, by the litellm hook, even though litellm
uses the openai client inside. A stream is recorded when it ends (or is closed), from its chunks.
Only the request's sampling parameters are kept: keys, headers and addresses' credentials are not.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tape_studio.core.chat_steps import (
    ChatAnswer,
    ChatToolCall,
    answer_of_response,
    field_of,
    parse_arguments,
    safe_params,
    usage_of_response,
)
from tape_studio.core.llm import LLMCall
from tape_studio.core.record import Frame, current_frame
from tape_studio.core.redact import redact

CLIENTS = ("litellm", "openai")
_INSIDE_LITELLM: contextvars.ContextVar[bool] = contextvars.ContextVar("tape_studio_inside_litellm", default=False)
_MARK = "tape_studio_recorded"
"""Put in a litellm call's metadata by the hook, so the callback form does not record it twice."""
_installed: set[str] = set()
_lock = threading.Lock()
_DEFAULT_OPENAI = "https://api.openai.com/v1"


def install(clients: Sequence[str] | None = None) -> None:
    """Hooks the named clients (default: those already imported); idempotent."""
    wanted = [c for c in (clients if clients is not None else CLIENTS) if clients is not None or c in sys.modules]
    with _lock:
        for name in wanted:
            if name in _installed:
                continue
            if name not in CLIENTS:
                raise ValueError(f"record can hook {', '.join(CLIENTS)}, not {name!r}")
            if name == "litellm":
                from tape_studio.core.llm import litellm_module

                _hook_litellm(litellm_module())
            else:
                _hook_openai(importlib.import_module("openai"))
            _installed.add(name)


# --- litellm -------------------------------------------------------------------------------------


def _hook_litellm(litellm: Any) -> None:
    sync, async_ = litellm.completion, litellm.acompletion

    @functools.wraps(sync)
    def completion(*args: Any, **kwargs: Any) -> Any:
        frame = current_frame()
        if frame is None:
            return sync(*args, **kwargs)
        request = _litellm_request(args, kwargs)
        kwargs["metadata"] = {**(kwargs.get("metadata") or {}), _MARK: True}
        token, started = _INSIDE_LITELLM.set(True), time.perf_counter()
        try:
            response = sync(*args, **kwargs)
        except Exception as exc:
            _record_error(frame, request, exc, started)
            raise
        finally:
            _INSIDE_LITELLM.reset(token)
        return _finish(frame, request, response, started, kwargs.get("stream"))

    @functools.wraps(async_)
    async def acompletion(*args: Any, **kwargs: Any) -> Any:
        frame = current_frame()
        if frame is None:
            return await async_(*args, **kwargs)
        request = _litellm_request(args, kwargs)
        kwargs["metadata"] = {**(kwargs.get("metadata") or {}), _MARK: True}
        token, started = _INSIDE_LITELLM.set(True), time.perf_counter()
        try:
            response = await async_(*args, **kwargs)
        except Exception as exc:
            _record_error(frame, request, exc, started)
            raise
        finally:
            _INSIDE_LITELLM.reset(token)
        return _finish(frame, request, response, started, kwargs.get("stream"))

    litellm.completion, litellm.acompletion = completion, acompletion


def _litellm_request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("model", "messages")
    given = {**dict(zip(names, args, strict=False)), **kwargs}
    params = safe_params({k: v for k, v in given.items() if k not in ("model", "messages", "tools", "api_key")})
    if given.get("api_base") or given.get("base_url"):
        params["api_base"] = _address(str(given.get("api_base") or given.get("base_url")))
    return {"model": str(given.get("model") or ""), "messages": _plain(given.get("messages") or []),
            "tools": _plain(given.get("tools")) or None, "params": params}


# --- openai --------------------------------------------------------------------------------------


def _hook_openai(openai: Any) -> None:
    from openai.resources.chat import completions

    sync, async_ = completions.Completions.create, completions.AsyncCompletions.create

    @functools.wraps(sync)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        frame = current_frame()
        if frame is None or _INSIDE_LITELLM.get():
            return sync(self, *args, **kwargs)
        request, started = _openai_request(self, kwargs), time.perf_counter()
        try:
            response = sync(self, *args, **kwargs)
        except Exception as exc:
            _record_error(frame, request, exc, started)
            raise
        return _finish(frame, request, response, started, kwargs.get("stream"))

    @functools.wraps(async_)
    async def acreate(self: Any, *args: Any, **kwargs: Any) -> Any:
        frame = current_frame()
        if frame is None or _INSIDE_LITELLM.get():
            return await async_(self, *args, **kwargs)
        request, started = _openai_request(self, kwargs), time.perf_counter()
        try:
            response = await async_(self, *args, **kwargs)
        except Exception as exc:
            _record_error(frame, request, exc, started)
            raise
        return _finish(frame, request, response, started, kwargs.get("stream"))

    completions.Completions.create, completions.AsyncCompletions.create = create, acreate


def _openai_request(resource: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    params = safe_params({k: v for k, v in kwargs.items() if not k.startswith("extra_")})
    base = str(getattr(getattr(resource, "_client", None), "base_url", "") or "").rstrip("/")
    if base and base != _DEFAULT_OPENAI:
        params["api_base"] = _address(base)  # so a re-ask reaches the same server through litellm
    return {"model": f"openai/{kwargs.get('model', '')}", "messages": _plain(kwargs.get("messages") or []),
            "tools": _plain(kwargs.get("tools")) or None, "params": params}


# --- recording -----------------------------------------------------------------------------------


def _finish(frame: Frame, request: dict[str, Any], response: Any, started: float, stream: Any) -> Any:
    if stream:
        return RecordedStream(response, lambda answer, usage: _commit(frame, request, answer, usage,
                                                                       time.perf_counter() - started, 0.0))
    cost = float((getattr(response, "_hidden_params", None) or {}).get("response_cost") or 0.0)
    _commit(frame, request, answer_of_response(response), usage_of_response(response), time.perf_counter() - started, cost)
    return response


def _commit(frame: Frame, request: dict[str, Any], answer: ChatAnswer, usage: tuple[int, int], latency_s: float,
            cost: float, error: str = "") -> None:
    call = LLMCall(model=request["model"], messages=request["messages"], tools=request["tools"],
                   params=request["params"], output=answer.output(), prompt_tokens=usage[0], completion_tokens=usage[1],
                   cost=cost, latency_s=latency_s, error=error)
    frame.model_call(call, answer)


def _record_error(frame: Frame, request: dict[str, Any], exc: Exception, started: float) -> None:
    _commit(frame, request, ChatAnswer(), (0, 0), time.perf_counter() - started, 0.0,
            error=redact(f"{type(exc).__name__}: {exc}")[:500])


def _plain(value: Any) -> Any:
    """Messages and tools as JSON values (clients accept pydantic objects too)."""
    return json.loads(json.dumps(value, default=lambda v: v.model_dump() if hasattr(v, "model_dump") else str(v)))


def _address(url: str) -> str:
    """A base URL without any user, password or query (which could carry a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RecordedStream:
    """A chat stream passed through unchanged; when it ends (or is closed) its answer is recorded once."""

    def __init__(self, inner: Any, done: Callable[[ChatAnswer, tuple[int, int]], None]) -> None:
        self._inner, self._done, self._finished = inner, done, False
        self._text: list[str] = []
        self._calls: dict[int, dict[str, str]] = {}
        self._usage = (0, 0)

    def __iter__(self) -> Any:
        try:
            for chunk in self._inner:
                self._add(chunk)
                yield chunk
        finally:
            self._finish()

    async def __aiter__(self) -> Any:
        try:
            async for chunk in self._inner:
                self._add(chunk)
                yield chunk
        finally:
            self._finish()

    def __enter__(self) -> RecordedStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    async def __aenter__(self) -> RecordedStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        closer = getattr(self._inner, "close", None)
        result = closer() if closer else None
        if hasattr(result, "__await__"):
            await result
        self._finish()

    def close(self) -> None:
        closer = getattr(self._inner, "close", None)
        if closer is not None:
            closer()
        self._finish()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _add(self, chunk: Any) -> None:
        usage = field_of(chunk, "usage")
        if usage is not None and field_of(usage, "prompt_tokens") is not None:
            self._usage = usage_of_response(chunk)
        for choice in field_of(chunk, "choices") or []:
            delta = field_of(choice, "delta")
            if field_of(delta, "content"):
                self._text.append(str(field_of(delta, "content")))
            for call in field_of(delta, "tool_calls") or []:
                slot = self._calls.setdefault(int(field_of(call, "index") or 0), {"id": "", "name": "", "arguments": ""})
                function = field_of(call, "function")
                slot["id"] = str(field_of(call, "id") or slot["id"])
                slot["name"] += str(field_of(function, "name") or "") if not slot["name"] else ""
                slot["arguments"] += str(field_of(function, "arguments") or "")

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        calls = tuple(ChatToolCall(id=c["id"], name=c["name"], arguments=parse_arguments(c["arguments"]))
                      for _, c in sorted(self._calls.items()) if c["name"])
        self._done(ChatAnswer(content="".join(self._text), tool_calls=calls), self._usage)


_CALLBACK_CLASS: Any = None
_callback_lock = threading.Lock()


def litellm_callback(agent: str = "litellm", frame: Frame | None = None) -> Any:
    """litellm's callback form: `litellm.callbacks = [tape_studio.litellm_callback("support-bot")]`.

    Each call litellm reports (success or failure) is recorded into `frame`, else the session
    recording in this context, else a session of the callback's own, opened on its first call and
    ended by its `close()`. Calls the litellm hook already recorded are skipped."""
    global _CALLBACK_CLASS
    with _lock:
        if _CALLBACK_CLASS is None:
            from tape_studio.core.llm import litellm_module

            litellm_module()
            from litellm.integrations.custom_logger import CustomLogger

            _CALLBACK_CLASS = type("RecordingCallback", (_CallbackMixin, CustomLogger), {})
    callback = _CALLBACK_CLASS()
    callback._setup(agent, frame)
    return callback


class _CallbackMixin:
    def _setup(self, agent: str, frame: Frame | None) -> None:
        self._agent, self._frame, self._own = agent, frame, None

    def _target(self) -> Frame:
        found = self._frame or current_frame()
        if found is not None:
            return found
        with _callback_lock:
            if self._own is None:
                from tape_studio.core.record import record

                self._own = record(self._agent)
                self._frame = self._own.start(detached=True)  # litellm calls back on threads of its own
        return self._frame  # type: ignore[return-value]

    @property
    def tape_id(self) -> str | None:
        """The tape this callback records into (None before its first call, if it opens its own)."""
        frame = self._frame or current_frame()
        return frame.tape_id if frame is not None else None

    def close(self) -> None:
        """Ends the session this callback opened itself (if it did)."""
        if self._own is not None and self._frame is not None:
            self._own.finish(self._frame)
            self._own = None

    def _record(self, kwargs: dict[str, Any], response: Any, error: str, start: Any, end: Any) -> None:
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or kwargs.get("metadata") or {}
        if isinstance(metadata, dict) and metadata.get(_MARK):
            return
        optional = kwargs.get("optional_params") or {}
        request = _litellm_request((), {**optional, "model": kwargs.get("model"), "messages": kwargs.get("messages")})
        full = kwargs.get("complete_streaming_response") or response
        answer = ChatAnswer() if error else answer_of_response(full)
        latency = (end - start).total_seconds() if hasattr(end, "__sub__") and start is not None else 0.0
        _commit(self._target(), request, answer, (0, 0) if error else usage_of_response(full), latency,
                float(kwargs.get("response_cost") or 0.0), error)

    def log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, response_obj, "", start_time, end_time)

    async def async_log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, response_obj, "", start_time, end_time)

    def log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._record(kwargs, None, redact(str(kwargs.get("exception") or "error"))[:500], start_time, end_time)

    async def async_log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.log_failure_event(kwargs, response_obj, start_time, end_time)
