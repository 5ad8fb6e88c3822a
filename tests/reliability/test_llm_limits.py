"""Every model call is bounded: a total time per attempt and per call (a server that drips one byte
a second still ends in an error step), and a cap on what is read and recorded (a huge answer is
cut, never held whole in memory)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_server import FaultServer, fault_server

from tape_studio.core.catalog import agent_spec, build_agent, build_environment
from tape_studio.core.llm import LLM, Prompt
from tape_studio.core.loop import run_to_end
from tape_studio.core.store import Store
from tape_studio.core.tape import ErrorStep, Tape, TapeMetadata, Task

PROMPT = Prompt(messages=[{"role": "user", "content": "Question: anything"}])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    with fault_server() as state:
        monkeypatch.setenv("OPENAI_API_BASE", state.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-limits")
        yield state


def test_a_slow_drip_answer_ends_in_an_error_step_at_the_deadline(server: FaultServer, tmp_path: Path) -> None:
    server.fault = "drip"
    llm = LLM(model="openai/test-model", mode="live", timeout_s=1.5, deadline_s=3.0, retries=5, backoff_s=0.1)
    agent = build_agent(agent_spec("qa"), llm)
    tape = Tape(metadata=TapeMetadata(agent="qa"), steps=(Task(text="What is the capital of France?"),))
    started = time.monotonic()
    failed = run_to_end(agent, build_environment(agent), tape, Store(tmp_path / "store.sqlite")).tape
    elapsed = time.monotonic() - started
    error = failed.steps[-1]
    assert isinstance(error, ErrorStep) and error.source == "llm" and failed.metadata.status == "failed"
    assert "Timeout" in error.message and "3 s" in error.message, error.message
    # Each attempt got at most its 1.5 s, and no attempt started after the call's 3 s: the server,
    # whose answer takes minutes at a byte a second, was asked twice, never six times.
    assert len(server.requests) == 2 and server.sent_bytes < 10
    assert elapsed < 15, f"the call outlived its deadline by far: {elapsed:.1f} s"


def test_an_endless_answer_is_not_read_past_the_cap(server: FaultServer) -> None:
    server.fault = "huge"
    llm = LLM(model="openai/test-model", mode="live", retries=2, backoff_s=0.01, max_response_bytes=1_000_000)
    call = llm.complete(PROMPT)
    assert call.error.startswith("ResponseTooLarge") and "1,000,000 bytes" in call.error, call.error
    assert not call.output and call.attempts == 1, "the same answer again would be as large: no retry"
    # What reached this process is the cap and what the socket buffers held, not the 2 GB on offer.
    assert server.sent_bytes < 20_000_000


def test_a_long_answer_is_recorded_as_its_head_with_a_note_of_the_cut(server: FaultServer, tmp_path: Path) -> None:
    server.fault, server.body_chars = "long", 300_000
    call = LLM(model="openai/test-model", mode="live", max_output_chars=100_000).complete(PROMPT)
    assert not call.error and call.output.startswith("x" * 100_000)
    assert call.output.endswith("[tape-studio: answer cut at 100,000 of 300,000 characters]")
    store = Store(tmp_path / "store.sqlite")
    store.save_llm_call(call)
    assert len(store.load_llm_call(call.prompt_id).output) < 100_100
