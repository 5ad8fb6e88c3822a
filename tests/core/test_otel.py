"""Tapes as OTLP JSON with GenAI attributes; importing our own export gives back the same tapes and calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tape_studio.core.demo import demo_files
from tape_studio.core.errors import InputError
from tape_studio.core.interop.exporting import TapeSelection
from tape_studio.core.interop.formats import read_file
from tape_studio.core.interop.otel import SEMCONV_VERSION, from_any_value, to_otlp
from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import GenericStep, StepMetadata, Tape, TapeMetadata, Task
from tape_studio.core.workspace import Workspace


def demo() -> tuple[list[Tape], list[LLMCall]]:
    bundles = [read_bundle(path) for path in demo_files()]
    return [t for b in bundles for t in b.tapes], [c for b in bundles for c in b.llm_calls]


def odd_tape() -> tuple[Tape, LLMCall]:
    """A failed foreign-ish tape: generic step, nested context, a failed call with a non-text message."""
    call = LLMCall(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi", "name": "ann"}],
                   output="", error="RateLimitError: slow down", params={"temperature": 0.5}, cached=False)
    steps = (Task(text="hi"), GenericStep(kind="assistant", content="hello", tool_calls=[{"id": "c1"}],
                                          metadata=StepMetadata(prompt_id=call.prompt_id, node="n", agent="a",
                                                                other={"why": "test"})))
    meta = TapeMetadata(agent="a", status="failed", error="model failed", tags=("x",), result={"k": [1, 2]},
                        parent_id="p", fork_step=1, root_id="r")
    return Tape(metadata=meta, context={"metadata": {"id": "inner"}, "steps": []}, steps=steps), call


def spans(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for r in doc["resourceSpans"] for sc in r["scopeSpans"] for s in sc["spans"]]


def attrs(span: dict[str, Any]) -> dict[str, Any]:
    return {kv["key"]: from_any_value(kv["value"]) for kv in span["attributes"]}


def roundtrip(tmp_path: Path, tapes: list[Tape], calls: list[LLMCall]) -> tuple[list[Tape], list[LLMCall]]:
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(to_otlp(tapes, calls)))
    loaded = read_file(path)
    assert loaded.format == "otlp"
    return loaded.bundle.tapes, loaded.bundle.llm_calls


def test_demo_tapes_come_back_equal_with_their_calls(tmp_path: Path) -> None:
    tapes, calls = demo()
    back, back_calls = roundtrip(tmp_path, tapes, calls)
    assert back == tapes
    assert {c.prompt_id: c for c in back_calls} == {c.prompt_id: c for c in calls}


def test_odd_tape_comes_back_equal(tmp_path: Path) -> None:
    tape, call = odd_tape()
    back, back_calls = roundtrip(tmp_path, [tape], [call])
    assert back == [tape] and back_calls == [call]


def test_spans_follow_the_genai_conventions() -> None:
    tapes, calls = demo()
    tape = next(t for t in tapes if t.metadata.agent == "qa" and t.metadata.status == "completed")
    doc = to_otlp([tape], calls)
    assert doc["resourceSpans"][0]["scopeSpans"][0]["scope"]["version"] == SEMCONV_VERSION
    all_spans = spans(doc)
    assert len({s["traceId"] for s in all_spans}) == 1
    root = all_spans[0]
    assert root["name"] == "invoke_agent qa" and "parentSpanId" not in root
    assert attrs(root)["tape_studio.tape.id"] == tape.id and attrs(root)["gen_ai.operation.name"] == "invoke_agent"
    chats = [s for s in all_spans if attrs(s).get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 2 and all(s["kind"] == 3 for s in chats)
    chat = attrs(chats[0])
    call = next(c for c in calls if c.prompt_id == chat["tape_studio.llm_call.prompt_id"])
    assert chat["gen_ai.request.model"] == "local/smollm2" and chat["gen_ai.provider.name"] == "local"
    assert (chat["gen_ai.usage.input_tokens"], chat["gen_ai.usage.output_tokens"]) == (call.prompt_tokens, call.completion_tokens)
    messages = json.loads(chat["gen_ai.input.messages"])
    assert messages[0]["role"] == "system" and messages[0]["parts"][0] == {"type": "text", "content": call.messages[0]["content"]}
    assert json.loads(chat["gen_ai.output.messages"])[0]["parts"][0]["content"] == call.output
    steps = [s for s in all_spans if "tape_studio.step.index" in attrs(s)]
    assert len(steps) == len(tape.steps)
    made_by_call = [s for s in steps if s.get("parentSpanId") == chats[0]["spanId"]]
    assert [attrs(s)["tape_studio.step.kind"] for s in made_by_call] == ["thought", "tool_call"]
    assert any(s["name"] == "execute_tool lookup" for s in steps)


def test_lineage_attributes_of_a_fork() -> None:
    tapes, calls = demo()
    fork = next(t for t in tapes if t.metadata.parent_id)
    root = attrs(spans(to_otlp([fork], calls))[0])
    assert root["tape_studio.tape.parent_id"] == fork.metadata.parent_id
    assert root["tape_studio.tape.fork_step"] == fork.metadata.fork_step
    assert root["tape_studio.tape.root_id"] == fork.metadata.root_id


def test_export_is_deterministic() -> None:
    tapes, calls = demo()
    assert to_otlp(tapes, calls) == to_otlp(tapes, calls)


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "otlp.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_foreign_trace_with_bad_ids_is_refused_on_one_line(tmp_path: Path) -> None:
    # Foreign traces are read by convention (tests/traces/); one that breaks OTLP itself is refused.
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab", "spanId": "cd", "name": "chat",
                                                          "attributes": []}]}]}]}
    with pytest.raises(InputError, match=r"otlp.json: resourceSpans\[0\]\.spans\[0\]: a span needs a 16-byte traceId"):
        read_file(_write(tmp_path, doc))


def test_a_missing_step_span_or_bad_step_imports_nothing(tmp_path: Path) -> None:
    tapes, calls = demo()
    doc = to_otlp(tapes, calls)
    step_spans = [s for s in spans(doc) if "tape_studio.step.index" in attrs(s)]
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"].remove(step_spans[-1])
    store_path = tmp_path / "store.sqlite"
    with pytest.raises(InputError, match="a step span is missing"):
        Workspace(store_path).import_file(_write(tmp_path, doc))
    doc = to_otlp(tapes, calls)
    bad = next(s for s in spans(doc) if "tape_studio.step.index" in attrs(s))
    for kv in bad["attributes"]:
        if kv["key"] == "tape_studio.step.json":
            kv["value"]["stringValue"] = json.dumps({"kind": "tool_call", "metadata": {}})
    with pytest.raises(InputError, match=r"spans\[\d+\]\.tape_studio\.step\.json: tool: Field required"):
        Workspace(store_path).import_file(_write(tmp_path, doc))
    assert Store(store_path).count_tapes() == 0


def test_bundle_export_import_round_trip_is_exact(tmp_path: Path) -> None:
    tapes, _ = demo()
    source = Workspace(tmp_path / "a.sqlite")
    for path in demo_files():
        source.import_file(path)
    out = tmp_path / "all.json"
    report = source.export_data(TapeSelection(), "bundle", out)
    assert report.tapes == len(tapes)
    target = Workspace(tmp_path / "b.sqlite")
    imported = target.import_file(out)
    assert imported.format == "tape-studio" and imported.fidelity is not None and imported.fidelity.dropped == []
    for tape in tapes:
        assert target.store.load_tape(tape.id) == source.store.load_tape(tape.id)
        assert target.store.calls_for_tape(tape.id) == source.store.calls_for_tape(tape.id)


def test_otel_export_through_the_store_round_trips(tmp_path: Path) -> None:
    source = Workspace(tmp_path / "a.sqlite")
    source.import_file(demo_files()[0])
    ids = [row.id for row in source.store.list_tapes()]
    source.export_data(TapeSelection(ids=ids), "otel", tmp_path / "t.json")
    target = Workspace(tmp_path / "b.sqlite")
    assert target.import_file(tmp_path / "t.json").format == "otlp"
    for tape_id in ids:
        assert target.store.load_tape(tape_id) == source.store.load_tape(tape_id)
        assert target.store.calls_for_tape(tape_id) == source.store.calls_for_tape(tape_id)
