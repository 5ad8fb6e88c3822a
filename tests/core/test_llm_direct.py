"""In-process models are called directly, without litellm: the direct path must send the model the
same request and record the same LLMCall as the litellm path, field for field."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import tape_studio.core.llm
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.llm import LLM, LLMCall, Prompt

_names = itertools.count()
VARYING = {"prompt_id", "created_at", "latency_s"}
"""Fields that differ between any two calls, whichever path made them."""

PROMPT = Prompt(messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a sea."}])
SHAPED = Prompt(messages=PROMPT.messages, response_format={
    "type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}})


def recording_fake(output: str) -> tuple[str, list[dict[str, Any]]]:
    """A fake that answers `output` and keeps each request it is sent (messages and parameters)."""
    seen: list[dict[str, Any]] = []

    def respond(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        seen.append(request)
        return output

    return register_fake(f"direct-{next(_names)}", respond), seen


def both_paths(model: str, prompt: Prompt, params: dict[str, Any] | None = None) -> tuple[LLMCall, LLMCall]:
    made = [LLM(model=model, mode="live", direct=direct, backoff_s=0).complete(prompt, params=params)
            for direct in (True, False)]
    return made[0], made[1]


def fields(call: LLMCall) -> dict[str, Any]:
    return call.model_dump(exclude=VARYING)


CASES = [
    ("Sea of Japan", PROMPT, None),
    ('{"answer": "Baltic"}', SHAPED, None),
    ("", PROMPT, None),
    ("two words", PROMPT, {"temperature": 0.7, "max_tokens": 16, "stop": ["\n"], "top_p": 0.9}),
    ("x", PROMPT, {"stop": "x", "frequency_penalty": 0.1, "presence_penalty": 0.2, "seed": None}),
    ("x", PROMPT, {"max_completion_tokens": 7, "user": "u", "n": 1, "temperature": None}),
    ("x", PROMPT, {"response_format": {"type": "json_object"}}),
]


@pytest.mark.parametrize(("output", "prompt", "params"), CASES)
def test_both_paths_record_the_same_call_and_send_the_same_request(
        output: str, prompt: Prompt, params: dict[str, Any] | None) -> None:
    model, seen = recording_fake(output)
    direct, through_litellm = both_paths(model, prompt, params)
    assert fields(direct) == fields(through_litellm)
    assert direct.output == output and not direct.error
    assert seen[0] == seen[1]


def test_a_failing_in_process_model_records_the_same_error_on_both_paths() -> None:
    def broken(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        raise ValueError('bad request:\n{"detail": "context too long"}')

    direct, through_litellm = both_paths(register_fake(f"broken-{next(_names)}", broken), PROMPT)
    assert direct.error == through_litellm.error == "ValueError: bad request:"
    assert fields(direct) == fields(through_litellm)


def test_an_unknown_fake_records_the_same_error_on_both_paths() -> None:
    direct, through_litellm = both_paths("fake/never-registered", PROMPT)
    assert direct.error == through_litellm.error and "never-registered" in direct.error
    assert direct.attempts == through_litellm.attempts == 1


def test_a_long_answer_is_cut_alike_on_both_paths() -> None:
    model, _ = recording_fake("y" * 500)
    made = [LLM(model=model, mode="live", direct=d, max_output_chars=100).complete(PROMPT) for d in (True, False)]
    assert fields(made[0]) == fields(made[1]) and made[0].output.startswith("y" * 100 + "\n[tape-studio")


def test_in_process_models_skip_litellm_and_remote_ones_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []

    def litellm_completion(request: Any, timeout_s: float) -> Any:
        sent.append(request.model)
        return tape_studio.core.llm.CachedResponse(output="remote")

    monkeypatch.setattr(tape_studio.core.llm, "_litellm_completion", litellm_completion)
    model, _ = recording_fake("local answer")
    assert LLM(model=model, mode="live").complete(PROMPT).output == "local answer"
    assert LLM(model="openai/gpt-4o-mini", mode="live").complete(PROMPT).output == "remote"
    assert sent == ["openai/gpt-4o-mini"]


@pytest.mark.live_model
def test_the_embedded_model_records_the_same_call_on_both_paths() -> None:
    from tape_studio.core.errors import ConfigError
    from tape_studio.core.local_model import model_path

    try:
        model_path()
    except ConfigError as exc:
        pytest.skip(str(exc))
    direct, through_litellm = both_paths("local/smollm2", PROMPT, {"max_tokens": 12})
    assert not direct.error and direct.completion_tokens > 0
    assert fields(direct) == fields(through_litellm)
