import itertools
from pathlib import Path
from typing import Any

import pytest

import tape_studio.core.llm
from tape_studio.core.cache import KEY_VERSION, CachedResponse, LLMCache, LLMRequest
from tape_studio.core.errors import ConfigError, ReplayMissError
from tape_studio.core.fake_llm import register_fake, scripted_fake
from tape_studio.core.llm import LLM, LLMCall, Prompt, record_calls

_names = itertools.count()

QUESTION = Prompt(messages=[
    {"role": "system", "content": "Answer in one word."},
    {"role": "user", "content": "What is the capital of France?"},
])


def counting_fake(output: str = "Paris") -> tuple[str, list[list[dict[str, Any]]]]:
    """A fake that always answers `output` and keeps the messages of every call it gets."""
    seen: list[list[dict[str, Any]]] = []

    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        seen.append(messages)
        return output

    return register_fake(f"counting-{next(_names)}", respond), seen


def ask(text: str) -> Prompt:
    return Prompt(messages=[{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": text}])


@pytest.fixture
def cache(tmp_path: Path) -> LLMCache:
    opened = LLMCache(tmp_path / "llm_cache")
    yield opened  # type: ignore[misc]
    opened.close()


# --- cached mode --------------------------------------------------------------------------


def test_cached_mode_answers_a_repeated_call_from_the_cache(cache: LLMCache) -> None:
    model, seen = counting_fake()
    llm = LLM(model=model, mode="cached", cache=cache)
    first = llm.complete(QUESTION)
    second = llm.complete(QUESTION)
    assert (first.cached, second.cached) == (False, True)
    assert second.output == first.output == "Paris"
    assert len(seen) == 1


def test_cached_answer_costs_nothing(cache: LLMCache) -> None:
    model, _ = counting_fake()
    llm = LLM(model=model, mode="cached", cache=cache)
    cache.put(llm.complete(QUESTION).request(), CachedResponse(output="Paris", cost=1.5))
    assert llm.complete(QUESTION).cost == 0


def test_a_different_max_tokens_is_a_different_cache_entry(cache: LLMCache) -> None:
    model, seen = counting_fake()
    llm = LLM(model=model, mode="cached", cache=cache)
    llm.complete(QUESTION)
    other = llm.complete(QUESTION, params={"max_tokens": 16})
    assert not other.cached
    assert len(seen) == 2


def test_a_different_message_is_a_different_cache_entry(cache: LLMCache) -> None:
    model, seen = counting_fake()
    llm = LLM(model=model, mode="cached", cache=cache)
    llm.complete(ask("What is the capital of France?"))
    assert not llm.complete(ask("What is the capital of Spain?")).cached
    assert len(seen) == 2


def test_a_failed_call_is_not_cached(cache: LLMCache) -> None:
    outputs = iter([None, "Paris"])

    def flaky(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        output = next(outputs)
        if output is None:
            raise RuntimeError("model fell over")
        return output

    llm = LLM(model=register_fake(f"flaky-{next(_names)}", flaky), mode="cached", cache=cache)
    assert llm.complete(QUESTION).error
    assert llm.complete(QUESTION).output == "Paris"


def test_modes_that_read_the_cache_need_one() -> None:
    with pytest.raises(ConfigError):
        LLM(model="fake/none", mode="replay")


# --- live mode ----------------------------------------------------------------------------


def test_live_mode_always_calls_the_model(cache: LLMCache) -> None:
    model, seen = counting_fake()
    llm = LLM(model=model, mode="live", cache=cache)
    calls = [llm.complete(QUESTION), llm.complete(QUESTION)]
    assert len(seen) == 2
    assert not any(c.cached for c in calls)


def test_live_mode_records_answers_for_later_replay(cache: LLMCache) -> None:
    model = scripted_fake(f"scripted-{next(_names)}", ["Paris"])
    LLM(model=model, mode="live", cache=cache).complete(QUESTION)
    assert LLM(model=model, mode="replay", cache=cache).complete(QUESTION).output == "Paris"


def test_call_records_token_counts_from_the_model() -> None:
    model = scripted_fake(f"scripted-{next(_names)}", ["It is Paris"])
    made = LLM(model=model, mode="live").complete(QUESTION)
    # The fake counts words: 4 + 6 in the prompt, 3 in the answer.
    assert (made.prompt_tokens, made.completion_tokens) == (10, 3)


# --- replay mode --------------------------------------------------------------------------


def test_replay_answers_recorded_prompts_without_the_model(cache: LLMCache) -> None:
    model, seen = counting_fake()
    LLM(model=model, mode="cached", cache=cache).complete(QUESTION)
    replayed = LLM(model=model, mode="replay", cache=cache).complete(QUESTION)
    assert (replayed.output, replayed.cached, len(seen)) == ("Paris", True, 1)


def test_replay_miss_shows_the_differing_line_of_the_closest_prompt(cache: LLMCache) -> None:
    model, seen = counting_fake()
    LLM(model=model, mode="cached", cache=cache).complete(ask("What is the capital of France?"))
    with pytest.raises(ReplayMissError) as raised:
        LLM(model=model, mode="replay", cache=cache).complete(ask("What is the capital of Spain?"))
    message = str(raised.value)
    assert "-[user] What is the capital of France?" in message
    assert "+[user] What is the capital of Spain?" in message
    assert len(seen) == 1


def test_replay_miss_on_an_empty_cache_says_it_is_empty(cache: LLMCache) -> None:
    with pytest.raises(ReplayMissError, match="cache is empty"):
        LLM(model="fake/unregistered", mode="replay", cache=cache).complete(QUESTION)


def test_record_calls_seeds_a_cache_that_replay_answers_from(cache: LLMCache) -> None:
    recorded = LLM(model=scripted_fake(f"scripted-{next(_names)}", ["Paris"]), mode="live").complete(QUESTION)
    assert record_calls(cache, [recorded]) == 1
    replayed = LLM(model=recorded.model, mode="replay", cache=cache).complete(QUESTION)
    assert replayed.output == "Paris"


def test_record_calls_skips_failed_calls(cache: LLMCache) -> None:
    failed = LLMCall(model="fake/x", messages=QUESTION.messages, error="BadRequestError: no")  # type: ignore[arg-type]
    assert record_calls(cache, [failed]) == 0
    assert cache.stats()["entries"] == 0


# --- failures and retries -----------------------------------------------------------------


def failing_fake(message: str) -> str:
    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        raise ValueError(message)

    return register_fake(f"failing-{next(_names)}", respond)


def test_model_failure_is_recorded_on_the_call_not_raised() -> None:
    made = LLM(model=failing_fake("model fell over"), mode="live", backoff_s=0).complete(QUESTION)
    assert "model fell over" in made.error
    assert made.output == ""


def test_model_failure_message_is_one_line_without_traceback() -> None:
    made = LLM(model=failing_fake("model fell over"), mode="live", backoff_s=0).complete(QUESTION)
    assert "\n" not in made.error
    assert "Traceback" not in made.error


def test_multi_line_model_failure_is_reduced_to_one_line() -> None:
    made = LLM(model=failing_fake('bad request:\n{"detail": "context too long"}'), mode="live").complete(QUESTION)
    assert "\n" not in made.error


def test_in_process_failures_are_not_retried() -> None:
    made = LLM(model=failing_fake("model fell over"), mode="live", backoff_s=0).complete(QUESTION)
    assert made.attempts == 1


class RateLimitError(Exception):
    """Named like litellm's retryable error; the retry loop goes by the class name."""


class AuthenticationError(Exception):
    """Named like litellm's non-retryable error."""


REMOTE = "openai/gpt-4o-mini"
"""Retries are for providers across a network: an in-process model is called once (no litellm)."""


def provider(failures: list[Exception]) -> tuple[Any, list[int]]:
    """Stands in for litellm: raises `failures` in order, then answers "ok"."""
    attempts: list[int] = []

    def complete(request: LLMRequest, timeout_s: float) -> CachedResponse:
        attempts.append(1)
        if len(attempts) <= len(failures):
            raise failures[len(attempts) - 1]
        return CachedResponse(output="ok")

    return complete, attempts


def test_retryable_errors_are_retried_until_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _ = provider([RateLimitError("slow down"), RateLimitError("slow down")])
    monkeypatch.setattr(tape_studio.core.llm, "_litellm_completion", fake)
    made = LLM(model=REMOTE, mode="live", retries=3, backoff_s=0).complete(QUESTION)
    assert (made.attempts, made.output, made.error) == (3, "ok", "")


def test_builtin_timeouts_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _ = provider([TimeoutError("read timed out")])
    monkeypatch.setattr(tape_studio.core.llm, "_litellm_completion", fake)
    assert LLM(model=REMOTE, mode="live", backoff_s=0).complete(QUESTION).attempts == 2


def test_retries_back_off_exponentially(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _ = provider([RateLimitError("a"), RateLimitError("b"), RateLimitError("c")])
    slept: list[float] = []
    monkeypatch.setattr(tape_studio.core.llm, "_litellm_completion", fake)
    monkeypatch.setattr(tape_studio.core.llm.time, "sleep", slept.append)
    LLM(model=REMOTE, mode="live", retries=3, backoff_s=0.5).complete(QUESTION)
    assert slept == [0.5, 1.0, 2.0]


def test_non_retryable_errors_stop_after_one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, attempts = provider([AuthenticationError("bad key")])
    monkeypatch.setattr(tape_studio.core.llm, "_litellm_completion", fake)
    made = LLM(model=REMOTE, mode="live", retries=3, backoff_s=0).complete(QUESTION)
    assert (made.attempts, len(attempts)) == (1, 1)
    assert made.error == "AuthenticationError: bad key"


def test_exhausted_retries_record_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, attempts = provider([RateLimitError("slow down")] * 10)
    monkeypatch.setattr(tape_studio.core.llm, "_litellm_completion", fake)
    made = LLM(model=REMOTE, mode="live", retries=2, backoff_s=0).complete(QUESTION)
    assert (made.attempts, len(attempts)) == (3, 3)
    assert made.error == "RateLimitError: slow down"


# --- cache keys ---------------------------------------------------------------------------


def test_cache_keys_start_with_the_version_tag() -> None:
    key = LLMRequest(model="fake/x", messages=QUESTION.messages).key()  # type: ignore[arg-type]
    assert key.startswith(f"{KEY_VERSION}:")


def test_cache_keys_do_not_depend_on_param_order() -> None:
    one = LLMRequest(model="m", messages=[], params={"temperature": 0.0, "max_tokens": 8})
    other = LLMRequest(model="m", messages=[], params={"max_tokens": 8, "temperature": 0.0})
    assert one.key() == other.key()
