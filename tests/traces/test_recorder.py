"""tape_studio.record on real clients: litellm and the openai client, sync, async and streaming,
against the fake OpenAI server; traced tools, nested frames, the decorator and the callback form."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import openai
import pytest
from openai_fake import ANSWER, FakeOpenAI
from trace_helpers import KEY, WEATHER, kinds, store_bytes

import tape_studio
from tape_studio.core.llm import litellm_module
from tape_studio.core.store import Store
from tape_studio.core.tape import CallAgent, FinalAnswer, ToolCall, ToolResult


@tape_studio.traced_tool
def weather(city: str) -> str:
    return f"sunny in {city}"


def _tool_loop(client: Any) -> str:
    """The loop a user already has: ask, run the tool the model chose, ask again."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    result = weather(**json.loads(call.function.arguments))
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": result}]
    return client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER]).choices[0].message.content


def test_openai_client_loop_records_calls_tool_and_answer_as_committed_steps(fake: FakeOpenAI, store: Store) -> None:
    with tape_studio.record("support-bot", task="What is the weather in Paris?", store=store) as session:
        answer = _tool_loop(openai.OpenAI(base_url=fake.url))
        mid = store.load_tape(session.tape_id)  # committed while the session still runs
    assert answer == ANSWER
    assert kinds(mid) == ["task", "tool_call", "tool_result", "thought"]
    tape = store.load_tape(session.tape_id)
    assert kinds(tape) == ["task", "tool_call", "tool_result", "thought", "final_answer"]
    assert tape.metadata.status == "completed" and tape.metadata.result == ANSWER and tape.metadata.agent == "support-bot"
    call_step, result = tape.steps[1], tape.steps[2]
    assert isinstance(call_step, ToolCall) and call_step.arguments == {"city": "Paris"}
    assert isinstance(result, ToolResult) and result.content == "sunny in Paris"
    assert result.metadata.other["tool_call_id"] == call_step.metadata.other["tool_call_id"] == "call_1"
    calls = store.calls_for_tape(tape.id)
    assert [c.model for c in calls] == ["openai/gpt-4o-mini"] * 2
    assert calls[0].tools == [WEATHER] and calls[1].messages[-1]["role"] == "tool"
    assert calls[0].params == {"api_base": fake.url} and calls[0].prompt_tokens == 11
    assert KEY.encode() not in store_bytes(store)


def test_streaming_and_async_calls_are_recorded_once_each(fake: FakeOpenAI, store: Store) -> None:
    async def work() -> list[str]:
        client = openai.AsyncOpenAI(base_url=fake.url)
        plain = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "async plain"}])
        stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "async stream"}],
                                                      stream=True)
        pieces = [chunk.choices[0].delta.content or "" async for chunk in stream]
        return [plain.choices[0].message.content, "".join(pieces)]

    with tape_studio.record("streamer", store=store) as session:
        sync_stream = openai.OpenAI(base_url=fake.url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "weather tools"}], tools=[WEATHER], stream=True)
        chunks = list(sync_stream)
        texts = asyncio.run(work())
    tape = store.load_tape(session.tape_id)
    assert len(chunks) > 2 and texts == ["echo: async plain", "echo: async stream"]
    assert kinds(tape) == ["tool_call", "thought", "thought", "final_answer"]
    assert tape.steps[0].arguments == {"city": "Paris"}  # type: ignore[attr-defined]  (rebuilt from deltas)
    assert [s.summary() for s in tape.steps[1:3]] == texts
    assert len(store.calls_for_tape(tape.id)) == 3


def test_litellm_sync_async_and_streaming_are_recorded_once(fake: FakeOpenAI, store: Store) -> None:
    litellm = litellm_module()
    common = {"model": "openai/gpt-4o-mini", "api_base": fake.url, "api_key": "sk-passed-as-argument-123456"}

    async def work() -> None:
        await litellm.acompletion(messages=[{"role": "user", "content": "lite async"}], **common)
        stream = await litellm.acompletion(messages=[{"role": "user", "content": "lite async stream"}], stream=True, **common)
        async for _ in stream:
            pass

    with tape_studio.record("lite", store=store) as session:
        litellm.completion(messages=[{"role": "user", "content": "lite sync"}], **common)
        for _ in litellm.completion(messages=[{"role": "user", "content": "lite stream"}], stream=True, **common):
            pass
        asyncio.run(work())
    tape = store.load_tape(session.tape_id)
    assert [s.summary() for s in tape.steps] == ["echo: lite sync", "echo: lite stream", "echo: lite async",
                                                   "echo: lite async stream", "echo: lite async stream"]
    calls = store.calls_for_tape(tape.id)
    assert len(calls) == 4, "litellm uses the openai client inside: each call must be recorded once"
    assert all("api_key" not in c.params for c in calls)
    assert b"sk-passed-as-argument" not in store_bytes(store)


def test_nested_record_blocks_are_frames_on_one_tape(fake: FakeOpenAI, store: Store) -> None:
    client = openai.OpenAI(base_url=fake.url)
    with tape_studio.record("lead", task="plan a trip", store=store) as lead:
        with tape_studio.record("researcher", task="look up the weather"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "weather please"}])
        lead.set_answer("Go to Paris.")
    tape = store.load_tape(lead.tape_id)
    assert kinds(tape) == ["task", "call_agent", "thought", "final_answer", "final_answer"]
    call = tape.steps[1]
    assert isinstance(call, CallAgent) and call.agent == "researcher" and call.metadata.agent == "lead"
    assert [s.metadata.agent for s in tape.steps[2:]] == ["researcher", "researcher", "lead"]
    assert isinstance(tape.steps[-1], FinalAnswer) and tape.steps[-1].text == "Go to Paris."


def test_the_decorator_records_a_session_per_call_with_task_and_answer(fake: FakeOpenAI, store: Store) -> None:
    @tape_studio.record("helper", store=store)
    def helper(question: str) -> str:
        return openai.OpenAI(base_url=fake.url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": question}]).choices[0].message.content

    assert helper("hello") == "echo: hello"
    (row,) = store.list_tapes()
    tape = store.load_tape(row.id)
    assert kinds(tape) == ["task", "thought", "final_answer"] and tape.steps[0].summary() == "hello"


def test_a_failing_tool_and_a_failing_block_are_recorded_and_reraised(store: Store) -> None:
    @tape_studio.traced_tool
    def broken(x: int) -> str:
        raise ValueError("no such x")

    with pytest.raises(ValueError), tape_studio.record("fragile", store=store) as session:
        broken(3)
    tape = store.load_tape(session.tape_id)
    assert kinds(tape) == ["tool_call", "tool_result", "error"]
    assert tape.steps[1].is_error and "no such x" in tape.steps[1].content  # type: ignore[attr-defined]
    assert tape.metadata.status == "failed" and "ValueError" in tape.metadata.error
    assert weather("Rome") == "sunny in Rome"  # outside a session a traced tool just runs


def test_outside_a_session_nothing_is_recorded(fake: FakeOpenAI, store: Store) -> None:
    with tape_studio.record("warm-up", store=store):
        pass  # installs the hooks
    openai.OpenAI(base_url=fake.url).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert [row.n_steps for row in store.list_tapes()] == [0]


def test_the_litellm_callback_form_records_calls_litellm_reports(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = litellm_module()
    callback = tape_studio.litellm_callback("callbacks")  # no record block: it opens a session of its own
    monkeypatch.setattr(litellm, "callbacks", [callback])
    litellm.completion(model="openai/m", api_base=fake.url, messages=[{"role": "user", "content": "from callback"}])
    _wait_for(lambda: callback.tape_id is not None)
    store = Store(os.environ["TAPE_STUDIO_HOME"] + "/store.sqlite")
    _wait_for(lambda: store.load_tape(callback.tape_id).steps)
    callback.close()
    tape = store.load_tape(callback.tape_id)
    assert [s.summary() for s in tape.steps] == ["echo: from callback", "echo: from callback"]
    assert [s.kind for s in tape.steps] == ["thought", "final_answer"] and tape.metadata.status == "completed"
    assert store.calls_for_tape(tape.id)[0].messages == [{"role": "user", "content": "from callback"}]


def _wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)  # litellm runs sync success callbacks on a worker thread
