import json
import os
from pathlib import Path
from typing import Any

import pytest

from tape_studio.core.errors import InputError
from tape_studio.core.interop.tape_files import read_bundle, save_bundle, write_bundle
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import FinalAnswer, GenericStep, StepMetadata, Tape, TapeMetadata, Task, Thought, ToolCall, parse_step


def call(prompt_id: str) -> LLMCall:
    return LLMCall(prompt_id=prompt_id, model="fake/qa", messages=[{"role": "user", "content": "q"}], output="o",
                   prompt_tokens=3, completion_tokens=1)


def qa_tape(prompt_id: str = "p1", title: str = "capital") -> Tape:
    return Tape(metadata=TapeMetadata(agent="qa", title=title), steps=(
        Task(text="capital of France?"),
        Thought(text="Look it up.", metadata=StepMetadata(prompt_id=prompt_id)),
        ToolCall(tool="lookup", arguments={"query": "France"}, metadata=StepMetadata(prompt_id=prompt_id)),
        FinalAnswer(text="Paris"),
    ))


def foreign_tape() -> Tape:
    return Tape(steps=(Task(text="hi"), parse_step({"kind": "react_thought", "reasoning": "hmm", "score": 2})))


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def tape_json(tape: Tape) -> dict[str, Any]:
    return json.loads(tape.to_json())


def read_error(path: Path) -> str:
    with pytest.raises(InputError) as raised:
        read_bundle(path)
    return str(raised.value)


# --- writing and reading --------------------------------------------------------------------


def test_written_bundle_reads_back_the_same_tapes_and_calls(tmp_path: Path) -> None:
    tapes, calls = [qa_tape("p1"), qa_tape("p2")], [call("p1"), call("p2")]
    write_bundle(tmp_path / "out.json", tapes, calls)
    bundle = read_bundle(tmp_path / "out.json")
    assert (bundle.tapes, bundle.llm_calls) == (tapes, calls)


def test_write_stores_a_call_shared_by_several_tapes_once(tmp_path: Path) -> None:
    write_bundle(tmp_path / "out.json", [qa_tape("p1")], [call("p1"), call("p1")])
    assert [c.prompt_id for c in read_bundle(tmp_path / "out.json").llm_calls] == ["p1"]


def test_write_declares_generic_kinds_and_they_read_back_whole(tmp_path: Path) -> None:
    tape = foreign_tape()
    write_bundle(tmp_path / "out.json", [tape], [])
    bundle = read_bundle(tmp_path / "out.json")
    assert bundle.generic_kinds == ["react_thought"]
    assert bundle.tapes == [tape]


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    write_bundle(tmp_path / "out.json", [qa_tape()], [call("p1")])
    assert os.listdir(tmp_path) == ["out.json"]


def test_write_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    path, fresh = tmp_path / "out.json", tmp_path / "fresh" / "out.json"
    tape = foreign_tape()
    write_bundle(path, [qa_tape(title="x" * 10_000)], [call("p1")])
    write_bundle(path, [tape], [])
    write_bundle(fresh, [tape], [])
    assert path.read_bytes() == fresh.read_bytes()


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.json"
    write_bundle(path, [qa_tape()], [])
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_bundle(path, [foreign_tape()], [])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.json"]


def test_a_bare_tape_file_is_read_as_one_tape(tmp_path: Path) -> None:
    tape = qa_tape()
    assert read_bundle(write_json(tmp_path / "t.json", tape_json(tape))).tapes == [tape]


def test_a_list_of_tapes_is_read_as_those_tapes(tmp_path: Path) -> None:
    tapes = [qa_tape("p1"), qa_tape("p2")]
    assert read_bundle(write_json(tmp_path / "t.json", [tape_json(t) for t in tapes])).tapes == tapes


def test_kinds_declared_generic_are_kept_as_generic_steps(tmp_path: Path) -> None:
    data = {"generic_kinds": ["react_thought"], "tapes": [tape_json(foreign_tape())]}
    step = read_bundle(write_json(tmp_path / "t.json", data)).tapes[0].steps[1]
    assert isinstance(step, GenericStep)
    assert step.body() == {"kind": "react_thought", "reasoning": "hmm", "score": 2}


# --- read errors ---------------------------------------------------------------------------


def test_bad_json_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"tapes": [\n  {"steps": [}\n]}', encoding="utf-8")
    assert read_error(path).startswith(f"{path}: invalid JSON at line 2 column 14")


def test_undeclared_kind_is_reported_with_its_place(tmp_path: Path) -> None:
    path = write_json(tmp_path / "t.json", {"tapes": [tape_json(foreign_tape())]})
    message = read_error(path)
    assert message.startswith(f"{path}: tapes[0].steps[1]: unknown step kind 'react_thought'")


def test_missing_field_is_reported_with_step_and_field(tmp_path: Path) -> None:
    data = tape_json(qa_tape())
    del data["steps"][2]["tool"]
    message = read_error(write_json(tmp_path / "t.json", {"tapes": [data]}))
    assert "tapes[0].steps[2].tool" in message


def test_missing_task_of_a_call_agent_step_is_named(tmp_path: Path) -> None:
    data = tape_json(Tape(steps=(Task(text="t"), parse_step({"kind": "call_agent", "agent": "w", "task": "x"}))))
    del data["steps"][1]["task"]
    message = read_error(write_json(tmp_path / "t.json", {"tapes": [data]}))
    assert "tapes[0].steps[1].task" in message


def test_read_errors_are_one_line(tmp_path: Path) -> None:
    data = tape_json(qa_tape())
    del data["steps"][2]["tool"]
    del data["steps"][3]["text"]
    message = read_error(write_json(tmp_path / "t.json", {"tapes": [data]}))
    assert "\n" not in message
    assert message.endswith("(and 1 more)")


def test_a_foreign_format_is_rejected(tmp_path: Path) -> None:
    path = write_json(tmp_path / "t.json", {"format": "tapeagents", "tapes": []})
    assert read_error(path) == f"{path}: format 'tapeagents' is not 'tape-studio'"


def test_a_file_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    assert "expected a JSON object" in read_error(write_json(tmp_path / "t.json", 42))


# --- importing into a store ----------------------------------------------------------------


def test_save_bundle_imports_tapes_with_their_calls(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    tape = qa_tape("p1")
    write_bundle(tmp_path / "b.json", [tape], [call("p1")])
    report = save_bundle(store, read_bundle(tmp_path / "b.json"), tmp_path / "b.json")
    assert (report.imported, report.steps, report.llm_calls) == ([tape.id], 4, 1)
    assert store.load_tape(tape.id) == tape
    assert [c.prompt_id for c in store.calls_for_tape(tape.id)] == ["p1"]


def test_save_bundle_skips_tapes_already_in_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    old, new = qa_tape("p1"), qa_tape("p2")
    store.save_tape(old)
    write_bundle(tmp_path / "b.json", [old, new], [call("p1"), call("p2")])
    report = save_bundle(store, read_bundle(tmp_path / "b.json"), "b.json")
    assert (report.imported, report.skipped_existing) == ([new.id], [old.id])


def test_save_bundle_imports_only_calls_linked_from_imported_steps(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    old, new = qa_tape("p1"), qa_tape("p2")
    store.save_tape(old)
    write_bundle(tmp_path / "b.json", [old, new], [call("p1"), call("p2"), call("orphan")])
    save_bundle(store, read_bundle(tmp_path / "b.json"), "b.json")
    stored = {pid for pid in ("p1", "p2", "orphan") if _has_call(store, pid)}
    assert stored == {"p2"}


def _has_call(store: Store, prompt_id: str) -> bool:
    try:
        store.load_llm_call(prompt_id)
    except KeyError:
        return False
    return True
