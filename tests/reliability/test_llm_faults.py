"""Model faults from a real HTTP server on 127.0.0.1, reached through litellm like any provider:
each is retried with backoff, ends on the tape as an error step with its reason, and the tape
resumes to completion once the server answers well again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_server import FaultServer, fault_server
from reliability_helpers import check_store

from tape_studio.core.catalog import agent_spec, build_agent, build_environment
from tape_studio.core.llm import LLM
from tape_studio.core.loop import run_to_end
from tape_studio.core.store import Store
from tape_studio.core.tape import ErrorStep, Tape, TapeMetadata, Task

RETRIES = 2
BACKOFF_S = 0.05
# What the recorded reason says for each fault (litellm's class name leads the message).
REASONS = {
    "429": "RateLimitError", "500": "InternalServerError", "timeout": "Timeout",
    "malformed": "Unterminated string", "truncated": "Connection error", "truncated_stream": "",
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    with fault_server() as state:
        # litellm's OpenAI provider reads these, as it would for a self-hosted OpenAI-compatible server.
        monkeypatch.setenv("OPENAI_API_BASE", state.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fault-server")
        yield state


def llm() -> LLM:
    return LLM(model="openai/test-model", mode="live", timeout_s=0.5, retries=RETRIES, backoff_s=BACKOFF_S)


@pytest.mark.parametrize("fault", list(REASONS))
def test_a_fault_is_retried_recorded_on_the_tape_and_the_tape_resumes(
    fault: str, server: FaultServer, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store.sqlite")
    agent = build_agent(agent_spec("qa"), llm())
    env = build_environment(agent)
    tape = Tape(metadata=TapeMetadata(agent="qa"), steps=(Task(text="What is the capital of France?"),))
    server.fault = fault
    failed = run_to_end(agent, env, tape, store).tape

    assert len(server.requests) == RETRIES + 1, "every retryable fault is asked again, then given up"
    gaps = [later - earlier for earlier, later in zip(server.times, server.times[1:])]
    assert all(gap >= BACKOFF_S * 2 ** n for n, gap in enumerate(gaps)), f"no backoff between attempts: {gaps}"
    error = failed.steps[-1]
    assert isinstance(error, ErrorStep) and error.source == "llm" and REASONS[fault] in error.message
    assert failed.metadata.status == "failed" and error.message in failed.metadata.error
    call = store.load_llm_call(error.metadata.prompt_id)
    assert call.error == error.message and call.attempts == RETRIES + 1

    server.fault = "good"
    resumed = run_to_end(agent, env, store.load_tape(failed.id), store).tape
    assert resumed.metadata.status == "completed" and resumed.steps[: len(failed.steps)] == failed.steps
    assert store.load_tape(failed.id).steps == resumed.steps
    check_store(tmp_path / "store.sqlite")


def test_a_bad_request_is_recorded_once_without_retrying(server: FaultServer) -> None:
    from tape_studio.core.llm import Prompt

    server.fault = "400"
    call = llm().complete(Prompt(messages=[{"role": "user", "content": "Question: anything"}]))
    assert len(server.requests) == 1 and call.attempts == 1
    assert call.error.startswith("BadRequestError") and not call.output
