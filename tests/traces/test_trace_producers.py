"""Traces made by the real instrumentation packages (OpenInference, the OpenTelemetry GenAI
instrumentation in its current and its older events form, OpenLLMetry, the OpenAI Agents SDK),
calling the fake OpenAI server and exporting over OTLP/HTTP to our receiver and, at the same time,
to OTLP/JSON Lines files that are then imported. Both ways must give the same tapes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_fake import ANSWER, FakeOpenAI
from trace_helpers import KEY, kinds, only_tape, store_bytes

from tape_studio.core.interop.traces.receiver import Receiver
from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, ToolCall
from tape_studio.core.workspace import Workspace

PRODUCER = Path(__file__).with_name("producers.py")
LOOP = ["task", "tool_call", "tool_result", "final_answer"]


def _produce(kind: str, fake: FakeOpenAI, endpoint: str, folder: Path) -> tuple[Path, Path]:
    traces, logs = folder / f"{kind}.jsonl", folder / f"{kind}.logs.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, str(PRODUCER), kind, fake.url, endpoint, str(traces), str(logs)],
                          capture_output=True, text=True, timeout=180, env={**env, "OPENAI_API_KEY": KEY})
    assert done.returncode == 0, done.stderr[-3000:]
    return traces, logs


@pytest.fixture
def collected(fake: FakeOpenAI, tmp_path: Path) -> Iterator[Any]:
    """Runs a producer against a receiver on a fresh store; yields (store, traces file, logs file)."""
    store = Store(tmp_path / "received.sqlite")
    receiver = Receiver(store, port=0)
    receiver.start()

    def run(kind: str) -> tuple[Store, Path, Path]:
        return (store, *_produce(kind, fake, receiver.url, tmp_path))

    yield run
    receiver.stop()


def _imported(tmp_path: Path, *files: Path) -> Tape:
    ws = Workspace(tmp_path / "imported.sqlite")
    for file in files:
        ws.import_file(file)
    return only_tape(ws.store)


def _same(a: Tape, b: Tape) -> None:
    assert [(s.kind, s.summary()) for s in a.steps] == [(s.kind, s.summary()) for s in b.steps]


def test_opentelemetry_genai_current_attributes(collected: Any, tmp_path: Path) -> None:
    store, traces, _ = collected("genai-latest")
    tape = only_tape(store)
    assert kinds(tape) == LOOP and tape.steps[-1].summary() == ANSWER
    call = tape.steps[1]
    assert isinstance(call, ToolCall) and call.tool == "weather" and call.arguments == {"city": "Paris"}
    assert tape.steps[2].metadata.other["from"] == "next model input"  # the app ran the tool without a span
    calls = store.calls_for_tape(tape.id)
    assert [c.model for c in calls] == ["gpt-4o-mini"] * 2 and calls[0].prompt_tokens == 11
    assert calls[0].messages[0] == {"role": "system", "content": "Answer with the weather tool."}
    assert calls[0].params == {"temperature": 0.0} and "genai" in tape.metadata.tags
    _same(tape, _imported(tmp_path, traces))
    assert KEY.encode() not in store_bytes(store)


def test_genai_events_as_log_records_merge_from_another_file(collected: Any, tmp_path: Path) -> None:
    store, traces, logs = collected("genai-events")
    received = only_tape(store)
    assert kinds(received) == LOOP  # over OTLP/HTTP the logs came through /v1/logs
    ws = Workspace(tmp_path / "imported.sqlite")
    ws.import_file(traces)
    bare = only_tape(ws.store)
    assert kinds(bare) == ["task", "llm_output_not_captured", "llm_output_not_captured"]
    report = ws.import_file(logs)
    assert report.updated == [bare.id] and report.imported == []
    _same(only_tape(ws.store), received)
    assert ws.import_file(logs).skipped_existing == [bare.id]  # again: nothing changes


def test_openllmetry_flattened_prompt_attributes(collected: Any, tmp_path: Path) -> None:
    store, traces, _ = collected("openllmetry")
    tape = only_tape(store)
    assert kinds(tape) == LOOP
    assert store.calls_for_tape(tape.id)[0].tools[0]["function"]["name"] == "weather"  # type: ignore[index]
    _same(tape, _imported(tmp_path, traces))


def test_openinference_spans_of_one_session_are_one_tape(collected: Any, tmp_path: Path) -> None:
    store, traces, _ = collected("openinference")
    tape = only_tape(store)  # two requests, two traces, one session.id
    assert kinds(tape) == LOOP + LOOP[1:] and len(tape.metadata.trace_ids) == 2  # type: ignore[attr-defined]
    assert tape.metadata.session_id == "conversation-7"  # type: ignore[attr-defined]
    assert "openinference" in tape.metadata.tags
    _same(tape, _imported(tmp_path, traces))


def test_openai_agents_sdk_agent_with_a_tool_span(collected: Any, tmp_path: Path) -> None:
    store, traces, _ = collected("agents")
    tape = only_tape(store)
    assert kinds(tape) == LOOP and tape.metadata.agent == "weather-bot"
    assert tape.steps[2].summary() == "weather → sunny in Paris" and "from" not in tape.steps[2].metadata.other
    assert tape.context["otel"]["spans_without_steps"]  # type: ignore[index]  (the SDK's turn spans, kept)
    _same(tape, _imported(tmp_path, traces))
