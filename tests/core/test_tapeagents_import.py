"""TapeAgents tapes come in without TapeAgents: every field kept, legacy gaps repaired, calls linked."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tape_studio.core.errors import InputError
from tape_studio.core.interop.tapeagents import read_tapeagents
from tape_studio.core.store import Store
from tape_studio.core.tape import GenericStep, Thought
from tape_studio.core.workspace import Workspace

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "tapeagents"


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """The sample files with the tapedata.sqlite TapeAgents would keep beside them."""
    folder = tmp_path / "runs"
    shutil.copytree(SAMPLES, folder)
    with sqlite3.connect(folder / "tapedata.sqlite") as conn:
        conn.executescript((folder / "tapedata.sql").read_text())
    return folder


def test_one_tape_keeps_every_field_of_unknown_kinds(samples: Path) -> None:
    bundle, report = read_tapeagents(samples / "single.json")
    tape = bundle.tapes[0]
    raw = json.loads((samples / "single.json").read_text())
    assert len(tape.steps) == len(raw["steps"]) and all(isinstance(s, GenericStep) for s in tape.steps)
    for step, original in zip(tape.steps, raw["steps"]):
        assert {k: v for k, v in step.body().items()} == {k: v for k, v in original.items() if k != "metadata"}
        assert step.metadata.id == original["metadata"]["id"]
    assert [s.family for s in tape.steps] == ["observation", "thought", "thought", "action", "observation", "action", "stop"]
    assert tape.steps[3].metadata.model_extra == {"llm": "default"}  # unknown metadata fields stay too
    assert report.dropped == [] and report.generic_steps == 7


def test_tape_metadata_keeps_app_fields_and_gets_status_and_tag(samples: Path) -> None:
    meta = read_tapeagents(samples / "single.json")[0].tapes[0].metadata
    assert (meta.id, meta.author, meta.agent, meta.status) == ("ta-tape-1", "gaia_agent", "gaia_agent", "completed")
    assert meta.model_extra["task"] == {"question": "What is the capital of France?"}
    assert (meta.model_extra["level"], meta.model_extra["n_added_steps"]) == (1, 7)
    assert meta.result == {"answer": "Paris"} and "tapeagents" in meta.tags
    assert meta.title == "What is the capital of France?"


def test_calls_from_tapedata_sqlite_link_to_their_steps(samples: Path) -> None:
    bundle, report = read_tapeagents(samples / "single.json")
    calls = {c.prompt_id: c for c in bundle.llm_calls}
    assert set(calls) == {"p1", "p2", "p3"}
    assert calls["p3"].output == "Paris" and calls["p3"].model == "gpt-4o-mini"
    assert calls["p1"].params == {"temperature": 0.2, "llm_info": {"context_size": 128000}}
    assert calls["p1"].messages[1] == {"role": "user", "content": "What is the capital of France?"}
    assert calls["p2"].params["tools"][0]["function"]["name"] == "search"
    assert json.loads(calls["p2"].output)["tool_calls"][0]["id"] == "call_1"  # a tool-call output is kept whole
    assert (calls["p1"].prompt_tokens, calls["p1"].completion_tokens, calls["p2"].cached) == (20, 12, True)
    assert (report.llm_calls, report.steps_linked, report.prompt_ids_without_call) == (3, 4, 1)


def test_legacy_ids_are_repaired_deterministically_and_reported(samples: Path) -> None:
    first, report = read_tapeagents(samples / "list.json")
    second, _ = read_tapeagents(samples / "list.json")
    legacy = first.tapes[0]
    assert legacy.id == second.tapes[0].id and legacy.id.startswith("ta-")
    ids = [s.metadata.id for s in legacy.steps]
    assert len(set(ids)) == len(ids) and ids == [s.metadata.id for s in second.tapes[0].steps]
    assert ids[0] == f"{legacy.id}-0" and ids[1] == "same"
    assert [s.metadata.other.get("original_step_id") for s in legacy.steps[2:]] == ["same"] * 3
    assert any("repeated step ids" in line for line in report.repairs)
    assert any("no tape id" in line for line in report.repairs)


def test_our_kind_maps_only_when_its_fields_fit(samples: Path) -> None:
    steps = read_tapeagents(samples / "list.json")[0].tapes[0].steps
    assert isinstance(steps[3], Thought) and steps[3].text.startswith("A step whose kind")
    assert isinstance(steps[4], GenericStep) and steps[4].kind == "tapeagents_thought"
    assert steps[4].metadata.other["original_kind"] == "thought"
    assert steps[4].body()["content"].startswith("Our kind name")


def test_a_tape_with_an_error_is_failed_and_keeps_its_parent(samples: Path) -> None:
    tape = read_tapeagents(samples / "list.json")[0].tapes[1]
    assert (tape.metadata.status, tape.metadata.error, tape.metadata.parent_id) == ("failed", "search timed out", "ta-tape-1")
    assert tape.context == {"question": "What is the capital of France?", "level": 1}
    assert tape.steps[0].metadata.prompt_id == "" and tape.steps[2].family == "observation"


def test_yaml_stream_with_a_nested_tape_and_an_embedded_call(samples: Path) -> None:
    bundle, report = read_tapeagents(samples / "stream.yaml")
    annotation, chat = bundle.tapes
    assert annotation.context["metadata"]["id"] == "ta-inner-1"
    assert [s["kind"] for s in annotation.context["steps"]] == ["user", "assistant"]
    assert report.context_tapes == 1 and report.tapes == 2
    calls = {c.prompt_id: c for c in bundle.llm_calls}
    assert {"p-inner", "p-judge", "emb-1"} <= set(calls)
    reply = chat.steps[1]
    assert reply.metadata.prompt_id == "emb-1" and "llm_call" not in reply.metadata.other
    assert calls["emb-1"].messages[0]["content"] == "You are a friendly assistant."
    assert calls["emb-1"].params == {"temperature": 0.0, "llm_info": {"context_size": 128000}}
    assert chat.metadata.model_extra["started"] == "2024-05-01"  # YAML dates become text


def test_import_is_idempotent_and_context_calls_come_along(samples: Path, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite")
    report = ws.import_file(samples / "stream.yaml")
    assert report.format == "tapeagents" and len(report.imported) == 2 and report.llm_calls == 3
    assert ws.store.load_llm_call("p-inner").output == "4"
    again = ws.import_file(samples / "stream.yaml")
    assert again.imported == [] and len(again.skipped_existing) == 2


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.json", '[{"steps": [', "bad.json: invalid JSON at line 1"),
    ("bad.yaml", "steps:\n  - kind: user\n   content: [", "bad.yaml: invalid YAML at line"),
    ("nokind.json", '[{"steps": [{"content": "x"}]}]', "nokind.json: [0].steps[0]: missing field 'kind'"),
    ("meta.json", '{"metadata": 3, "steps": []}', "meta.json: metadata: expected an object"),
    ("stepmeta.json", '{"steps": [{"kind": "user", "metadata": []}]}', "stepmeta.json: steps[0].metadata: expected an object"),
    ("notape.yaml", "- 1\n- 2\n", "notape.yaml: document 1[0]: expected a tape"),
    ("badtype.json", '{"metadata": {"parent_id": 5}, "steps": []}', "badtype.json: metadata.parent_id: Input should be"),
])
def test_malformed_files_fail_on_one_line_naming_the_place(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as error:
        Workspace(tmp_path / "store.sqlite").import_file(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_bad_tape_later_in_the_file_imports_nothing(samples: Path, tmp_path: Path) -> None:
    tapes = json.loads((samples / "list.json").read_text())
    tapes.append({"metadata": {"id": "late"}, "steps": [{"kind": "user", "content": "x"}, {"no": "kind"}]})
    path = samples / "partly_bad.json"
    path.write_text(json.dumps(tapes))
    store_path = tmp_path / "store.sqlite"
    with pytest.raises(InputError, match=r"\[2\]\.steps\[1\]: missing field 'kind'"):
        Workspace(store_path).import_file(path)
    assert Store(store_path).count_tapes() == 0


def test_a_broken_call_row_names_the_database_and_imports_nothing(samples: Path, tmp_path: Path) -> None:
    with sqlite3.connect(samples / "tapedata.sqlite") as conn:
        conn.execute("UPDATE LLMCalls SET prompt = '{broken' WHERE prompt_id = 'p3'")
    store_path = tmp_path / "store.sqlite"
    with pytest.raises(InputError, match=r"tapedata.sqlite: LLMCalls\['p3'\]\.prompt: invalid JSON"):
        Workspace(store_path).import_file(samples / "single.json")
    assert Store(store_path).count_tapes() == 0


def test_an_old_database_without_llm_info_or_cost_still_links(samples: Path) -> None:
    (samples / "tapedata.sqlite").unlink()
    with sqlite3.connect(samples / "tapedata.sqlite") as conn:
        conn.execute("CREATE TABLE LLMCalls (prompt_id TEXT PRIMARY KEY, timestamp TEXT, prompt TEXT, "
                     "completion TEXT, prompt_length_tokens INTEGER, completion_length_tokens INTEGER, cached INTEGER)")
        conn.execute("INSERT INTO LLMCalls VALUES ('p3', '2024-01-01T00:00:00', ?, ?, -1, -1, 0)",
                     (json.dumps({"id": "p3", "messages": [{"role": "user", "content": "q"}]}),
                      json.dumps({"role": "assistant", "content": "Paris"})))
    bundle, report = read_tapeagents(samples / "single.json")
    call = bundle.llm_calls[0]
    assert (call.prompt_id, call.output, call.model, call.prompt_tokens) == ("p3", "Paris", "unknown", 0)
    assert report.llm_calls == 1


def test_imported_tapes_can_be_forked(samples: Path, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite")
    ws.import_file(samples / "single.json")
    fork = ws.fork("ta-tape-1", 3, [{"kind": "assistant", "content": "Let me think again."}])
    assert fork.metadata.parent_id == "ta-tape-1" and isinstance(fork.steps[-1], GenericStep)
    assert ws.store.load_tape(fork.id).steps[:3] == ws.store.load_tape("ta-tape-1").steps[:3]


def test_a_repeated_tape_id_is_renamed_not_merged(tmp_path: Path) -> None:
    tape = {"metadata": {"id": "dup"}, "steps": [{"kind": "user", "content": "first"}]}
    again = {"metadata": {"id": "dup"}, "steps": [{"kind": "user", "content": "second"}]}
    path = tmp_path / "dups.json"
    path.write_text(json.dumps([tape, again]))
    bundle, report = read_tapeagents(path)
    assert [t.id for t in bundle.tapes] == ["dup", "dup-1"]
    assert bundle.tapes[1].metadata.model_extra["original_id"] == "dup"
    assert any("repeats an earlier tape" in line for line in report.repairs)
