"""The LLM boundary: every model call goes through litellm here and comes back as an LLMCall.

No litellm type leaves this module. litellm is imported lazily (its import takes seconds).
Models living in this process (the embedded model, named fakes) are called directly: litellm's
per-call machinery (~2 ms) does nothing for them, and the direct path sends them the same
request and records the same LLMCall (tests/core/test_llm_direct.py holds both paths to that).
Modes: `live` always asks the model (and records the answer), `cached` answers from the cache
when it can, `replay` answers only from the cache and fails on a miss with the closest prompt.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from tape_studio.core.cache import CachedResponse, LLMCache, LLMRequest, miss_report
from tape_studio.core.config import LLMMode, default_llm_mode, default_model
from tape_studio.core.errors import ConfigError, ReplayMissError
from tape_studio.core.redact import redact
from tape_studio.core.tape import new_id, utc_now

DEFAULT_PARAMS: dict[str, JsonValue] = {"temperature": 0.0, "max_tokens": 256, "seed": 0}
"""Temperature 0 and a fixed seed keep the embedded model deterministic, so caches replay."""

MAX_RESPONSE_BYTES = 16 * 2**20
"""An HTTP answer is not read past this: a runaway or hostile server cannot fill the memory."""
MAX_OUTPUT_CHARS = 1_000_000
"""What a call records of a model's text; the rest is cut, with a note saying how much."""


class Prompt(BaseModel):
    """What a node sends: chat messages and, where it needs structure, a JSON schema."""

    model_config = ConfigDict(frozen=True)

    messages: list[dict[str, str]]
    response_format: dict[str, JsonValue] | None = None
    tools: list[dict[str, JsonValue]] | None = None
    """Tools a model with native tool calling may call; other models get `response_format` instead."""


class LLMCall(BaseModel):
    """The record of one model call, linked from the steps it produced by `prompt_id`."""

    model_config = ConfigDict(frozen=True)

    prompt_id: str = Field(default_factory=new_id)
    model: str
    messages: list[dict[str, JsonValue]]
    response_format: dict[str, JsonValue] | None = None
    tools: list[dict[str, JsonValue]] | None = None
    """Tool schemas sent with the call (native tool calling); the chosen call is in `output` as JSON."""
    params: dict[str, JsonValue] = {}
    output: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    """Money this call spent: zero when it was answered from the cache."""
    latency_s: float = 0.0
    cached: bool = False
    error: str = ""
    attempts: int = 1
    created_at: datetime = Field(default_factory=utc_now)

    def request(self) -> LLMRequest:
        return LLMRequest(model=self.model, messages=self.messages, params=self.params,
                          response_format=self.response_format, tools=self.tools)


_RETRYABLE = ("Timeout", "RateLimitError", "APIConnectionError", "InternalServerError", "ServiceUnavailableError")


class LLM:
    """A model client: which model, which mode, which cache, how hard to retry."""

    def __init__(
        self,
        model: str | None = None,
        mode: LLMMode | None = None,
        cache: LLMCache | None = None,
        params: dict[str, JsonValue] | None = None,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        deadline_s: float = 300.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_output_chars: int = MAX_OUTPUT_CHARS,
        direct: bool = True,
    ) -> None:
        self.model = model or default_model()
        self.mode: LLMMode = mode or default_llm_mode()
        if self.mode != "live" and cache is None:
            raise ConfigError(f"LLM mode {self.mode!r} needs a cache")
        self.cache = cache
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.timeout_s = timeout_s
        """The most one attempt may take, first byte to last (not per read)."""
        self.retries = retries
        self.backoff_s = backoff_s
        self.deadline_s = deadline_s
        """The most one call may take, its retries and their pauses included."""
        self.max_response_bytes = max_response_bytes
        self.max_output_chars = max_output_chars
        self.direct = direct
        """Call in-process models without litellm; False sends them through litellm like any provider."""

    def complete(
        self, prompt: Prompt, model: str | None = None, params: dict[str, JsonValue] | None = None
    ) -> LLMCall:
        """One call. Model faults come back as an LLMCall with `error` set, never as an exception;
        a replay miss raises, because it means the recording does not match the code."""
        request = self.request(prompt, model, params)
        started = time.perf_counter()
        if self.mode != "live" and self.cache is not None:
            hit = self.cache.get(request)
            if hit is not None:
                return _record(request, hit, latency_s=time.perf_counter() - started, cached=True)
            if self.mode == "replay":
                raise ReplayMissError(miss_report(request, self.cache.closest(request)))
        response, error, attempts = self._call_with_retries(request)
        latency = time.perf_counter() - started
        if response is None:
            return _record(request, CachedResponse(output=""), latency, cached=False, error=error, attempts=attempts)
        if self.cache is not None:
            self.cache.put(request, response)
        return _record(request, response, latency, cached=False, attempts=attempts)

    def request(
        self, prompt: Prompt, model: str | None = None, params: dict[str, JsonValue] | None = None
    ) -> LLMRequest:
        """The request `complete` would send (and the cache key it would look up), without sending it."""
        model = model or self.model
        native = bool(prompt.tools) and supports_native_tools(model)
        return LLMRequest(
            model=model,
            messages=prompt.messages,  # type: ignore[arg-type]
            params={**self.params, **(params or {})},
            response_format=None if native else prompt.response_format,
            tools=prompt.tools if native else None,
        )

    def _call_with_retries(self, request: LLMRequest) -> tuple[CachedResponse | None, str, int]:
        if self.direct and is_in_process(request.model) and not request.tools:
            try:
                return _cut(_in_process_completion(request), self.max_output_chars), "", 1
            except Exception as exc:  # a model in this process fails the same way on a retry
                return None, _short_error(exc), 1
        from tape_studio.core.http_limits import Bounds, bounded

        first_sent: float | None = None  # the call's deadline runs from its first request
        error = ""
        for attempt in range(1, self.retries + 2):
            left = self.deadline_s - (time.monotonic() - first_sent if first_sent is not None else 0.0)
            bounds = Bounds(seconds=max(0.0, min(self.timeout_s, left)), max_bytes=self.max_response_bytes)
            try:
                with bounded(bounds):
                    response = _litellm_completion(request, self.timeout_s)
                return _cut(response, self.max_output_chars), "", attempt
            except Exception as exc:  # every provider error is recorded on the call
                # When our own limits stopped the call, say which: the provider's wording would be vague.
                error = bounds.tripped or _short_error(exc)
                retryable = not bounds.too_large and (
                    bool(bounds.tripped) or type(exc).__name__ in _RETRYABLE or isinstance(exc, TimeoutError))
                if not retryable or attempt > self.retries:
                    return None, error, attempt
                first_sent = first_sent if first_sent is not None else bounds.started
                pause = self.backoff_s * 2 ** (attempt - 1)
                if first_sent is not None and time.monotonic() + pause - first_sent >= self.deadline_s:
                    return None, f"{error} (gave up at the call's {self.deadline_s:g} s deadline after {attempt} attempts)", attempt
                time.sleep(pause)
        return None, error, self.retries + 1


def _cut(response: CachedResponse, limit: int) -> CachedResponse:
    """The answer as recorded: its head when it is longer than `limit`, with a note of the cut."""
    if len(response.output) <= limit:
        return response
    note = f"\n[tape-studio: answer cut at {limit:,} of {len(response.output):,} characters]"
    return response.model_copy(update={"output": response.output[:limit] + note})


def _short_error(exc: Exception) -> str:
    """The first meaningful line of a provider error, without litellm's traceback and bug links,
    and without any secret: a provider or proxy may quote the request's key in its error body."""
    text = redact(str(exc)).split("This looks like a bug", 1)[0]
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    # litellm prefixes its own class and the provider's ("litellm.BadRequestError: LocalException - ").
    first = re.sub(r"^litellm\.\w+:\s*(\w+Exception - )?", "", first)
    if re.match(r"^\w+(Error|Exception): ", first):
        return first[:500]
    return f"{type(exc).__name__}: {first}"[:500]


def _record(
    request: LLMRequest, response: CachedResponse, latency_s: float, cached: bool, error: str = "", attempts: int = 1
) -> LLMCall:
    return LLMCall(
        model=request.model,
        messages=request.messages,
        response_format=request.response_format,
        tools=request.tools,
        params=request.params,
        output=response.output,
        prompt_tokens=response.prompt_tokens,
        completion_tokens=response.completion_tokens,
        cost=0.0 if cached else response.cost,
        latency_s=latency_s,
        cached=cached,
        error=error,
        attempts=attempts,
    )


def recorded_response(call: LLMCall) -> CachedResponse:
    """The cache entry a recorded call stands for (its request is `call.request()`)."""
    return CachedResponse(output=call.output, prompt_tokens=call.prompt_tokens, completion_tokens=call.completion_tokens)


def record_calls(cache: LLMCache, calls: Iterable[LLMCall], replace: bool = True) -> int:
    """Seeds a cache with recorded calls (e.g. those exported with tapes) so replay can use them.

    With `replace=False` an entry the cache already has is kept. Calls that failed are skipped."""
    seeded = 0
    for call in calls:
        if call.error:
            continue
        request = call.request()
        if not replace and cache.get(request) is not None:
            continue
        cache.put(request, recorded_response(call))
        seeded += 1
    return seeded


IN_PROCESS_PROVIDERS = ("local", "fake")
"""Models that live in this process (the embedded model, named fakes); they take JSON-schema output."""


def is_in_process(model: str) -> bool:
    """Whether `model` is answered inside this process (no network, no provider)."""
    return model.split("/", 1)[0] in IN_PROCESS_PROVIDERS


@functools.lru_cache(maxsize=256)
def supports_native_tools(model: str) -> bool:
    """Whether litellm knows `model` to take `tools=` (function calling); in-process models do not."""
    if is_in_process(model):
        return False
    try:
        return bool(_load_litellm().supports_function_calling(model=model))
    except Exception:  # an unknown model: the JSON-schema path works everywhere
        return False


# --- litellm -----------------------------------------------------------------------------

_setup_lock = threading.Lock()
_litellm: Any = None


def _load_litellm() -> Any:
    """Imports litellm once, offline, with our in-process providers registered."""
    global _litellm
    with _setup_lock:
        if _litellm is None:
            # Without this, importing litellm tries to download a price table from the internet.
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            litellm.telemetry = False
            litellm.suppress_debug_info = True
            _bound_transports(litellm)
            litellm.custom_provider_map = [
                {"provider": "local", "custom_handler": _in_process_provider(litellm, "local")},
                {"provider": "fake", "custom_handler": _in_process_provider(litellm, "fake")},
            ]
            _litellm = litellm
        return _litellm


def litellm_module() -> Any:
    """litellm, imported once, offline, with our in-process providers registered (the recorder hooks it)."""
    return _load_litellm()


def _bound_transports(litellm: Any) -> None:
    """Sends litellm's HTTP requests through a transport that enforces each call's deadline and
    byte cap (see core/http_limits.py): the OpenAI SDK's client and litellm's own handlers."""
    import httpx
    from litellm.llms.custom_httpx.http_handler import get_ssl_configuration

    from tape_studio.core.http_limits import BoundedTransport

    transport = BoundedTransport(httpx.HTTPTransport(verify=get_ssl_configuration()))
    litellm.sync_transport = transport
    litellm.client_session = httpx.Client(transport=transport, follow_redirects=True, timeout=httpx.Timeout(600.0))


def _in_process_provider(litellm: Any, provider: str) -> Any:
    """A litellm CustomLLM that answers from a model living in this process."""
    from litellm import CustomLLM
    from litellm.llms.custom_llm import CustomLLMError

    class InProcessProvider(CustomLLM):  # type: ignore[misc]
        def completion(self, model: str, messages: list, model_response: Any, optional_params: dict, **_: Any) -> Any:
            request = _chat_request(messages, optional_params)
            try:
                raw = _in_process_chat(provider, model, request)
            except Exception as exc:
                # A 400 tells litellm (and our retry loop) that asking again will not help.
                raise CustomLLMError(status_code=400, message=f"{type(exc).__name__}: {exc}") from exc
            choice = raw["choices"][0]
            usage = raw.get("usage", {})
            return litellm.ModelResponse(
                model=f"{provider}/{model}",
                choices=[{"index": 0, "finish_reason": choice.get("finish_reason", "stop"), "message": choice["message"]}],
                usage={
                    "prompt_tokens": usage.get("prompt_tokens", 0),
                    "completion_tokens": usage.get("completion_tokens", 0),
                    "total_tokens": usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0),
                },
            )

    return InProcessProvider()


_IN_PROCESS_PARAMS = ("temperature", "max_tokens", "seed", "response_format", "stop", "top_p", "frequency_penalty",
                      "presence_penalty")
"""What an in-process model is sent of a call's parameters (litellm drops the rest for them)."""


def _chat_request(messages: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"messages": messages}
    request.update((name, params[name]) for name in _IN_PROCESS_PARAMS if params.get(name) is not None)
    return request


class InProcessError(Exception):
    """An in-process model failed; worded as litellm words it (`ValueError: ...`), so both paths
    record the same error."""


def _in_process_completion(request: LLMRequest) -> CachedResponse:
    """The direct path: what `_litellm_completion` returns for an in-process model, without litellm."""
    params: dict[str, Any] = dict(request.params)
    if request.response_format is not None:
        params["response_format"] = request.response_format
    # litellm sends `max_completion_tokens` to these models as `max_tokens` (and it wins).
    if params.get("max_completion_tokens") is not None:
        params["max_tokens"] = params["max_completion_tokens"]
    provider, _, model = request.model.partition("/")
    try:
        raw = _in_process_chat(provider, model, _chat_request(list(request.messages), params))
    except Exception as exc:
        raise InProcessError(f"{type(exc).__name__}: {exc}") from exc
    usage = raw.get("usage", {})
    return CachedResponse(
        output=raw["choices"][0]["message"].get("content") or "",
        prompt_tokens=int(usage.get("prompt_tokens", 0) or 0),
        completion_tokens=int(usage.get("completion_tokens", 0) or 0),
        cost=0.0,  # litellm has no price for these models either
    )


def _in_process_chat(provider: str, model: str, request: dict[str, Any]) -> dict[str, Any]:
    if provider == "fake":
        from tape_studio.core.fake_llm import fake_chat

        return fake_chat(model, request)
    from tape_studio.core.local_model import MODEL_NAME, local_model

    if f"local/{model}" != MODEL_NAME:
        raise ConfigError(f"no embedded model named {model!r}; the embedded model is {MODEL_NAME!r}")
    return local_model().chat(request)


def _litellm_completion(request: LLMRequest, timeout_s: float) -> CachedResponse:
    litellm = _load_litellm()
    kwargs: dict[str, Any] = dict(request.params)
    if request.response_format is not None:
        kwargs["response_format"] = request.response_format
    if request.tools:
        kwargs["tools"] = request.tools
        kwargs["tool_choice"] = "required"
        # litellm 1.106 imports its MCP gateway (and the `mcp` package we do not install) for any
        # call with tools unless told these are plain function tools.
        kwargs["_skip_mcp_handler"] = True
    # drop_params: a provider is sent only what it supports (Anthropic refuses our default `seed`).
    response = litellm.completion(
        model=request.model, messages=request.messages, timeout=timeout_s, num_retries=0, drop_params=True, **kwargs
    )
    message = response.choices[0].message
    output = _tool_choice_text(message) if request.tools else (message.content or "")
    usage = getattr(response, "usage", None)
    # litellm prices the call itself; models without a price (local, self-hosted) report None.
    cost = float((getattr(response, "_hidden_params", None) or {}).get("response_cost") or 0.0)
    return CachedResponse(
        output=output,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=cost,
    )


def _tool_choice_text(message: Any) -> str:
    """A native tool call written as the JSON a tool-choosing node reads (its thought, tool and
    arguments), so one parser serves both paths and the recorded output shows the choice."""
    calls = getattr(message, "tool_calls", None) or []
    if not calls:
        return message.content or ""
    function = calls[0].function
    try:
        arguments: Any = json.loads(function.arguments or "{}")
    except json.JSONDecodeError:
        arguments = function.arguments
    return json.dumps({"thought": message.content or "", "tool": function.name, "arguments": arguments})
