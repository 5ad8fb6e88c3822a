"""The `tape-studio` command, run in-process against a temporary store with a fake model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tape_studio.core.fake_llm import register_fake
from tape_studio.core.tape import Tape
from tape_studio.studio.cli import main

_names = itertools.count()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAPE_STUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "store.sqlite"


@pytest.fixture
def model() -> str:
    def respond(messages: list[dict], params: dict) -> str:
        if "choosing one tool" in messages[0]["content"]:
            return '{"thought": "I need facts about France.", "tool": "lookup", "input": "France"}'
        return '{"answer": "Paris"}'

    return register_fake(f"cli-{next(_names)}", respond)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_qa(capsys: pytest.CaptureFixture[str], store: Path, model: str) -> dict:
    code, out, _ = cli(capsys, "run", "--agent", "qa", "--task", "What is the capital of France?",
                       "--model", model, "--store", str(store), "--json")
    assert code == 0
    return json.loads(out)


def test_run_json_lists_steps_and_the_calls_they_link_to(capsys, store, model) -> None:
    result = run_qa(capsys, store, model)
    assert result["status"] == "completed"
    assert [s["family"] for s in result["steps"]] == ["observation", "thought", "action", "observation", "stop"]
    assert set(result["steps"][0]) == {"index", "kind", "family", "node", "prompt_id", "text"}
    linked = {s["prompt_id"] for s in result["steps"] if s["prompt_id"]}
    assert linked == {c["prompt_id"] for c in result["llm_calls"]} and len(linked) == 2
    assert all(c["prompt_tokens"] > 0 and c["latency_s"] >= 0 for c in result["llm_calls"])


def test_fork_rerun_of_an_unchanged_fork_makes_no_new_calls(capsys, store, model) -> None:
    original = run_qa(capsys, store, model)
    code, out, _ = cli(capsys, "fork", original["tape_id"], "--at", "2", "--rerun", "--json", "--store", str(store),
                       "--model", model)
    fork = json.loads(out)
    assert code == 0
    assert fork["parent_id"] == original["tape_id"] and fork["fork_step"] == 2
    assert fork["new_llm_calls"] == 0 and fork["status"] == "completed"
    code, out, _ = cli(capsys, "show", fork["tape_id"], "--json", "--store", str(store))
    shown = Tape.model_validate_json(out)
    assert [s.summary() for s in shown.steps] == [s["text"] for s in original["steps"]]


def test_fork_with_a_replacement_step_runs_the_edited_action(capsys, store, model) -> None:
    original = run_qa(capsys, store, model)
    step = json.dumps({"kind": "tool_call", "tool": "lookup", "arguments": {"query": "Spain"}})
    code, out, _ = cli(capsys, "fork", original["tape_id"], "--at", "2", "--replace-step", step, "--rerun",
                       "--json", "--store", str(store), "--model", model)
    assert code == 0 and json.loads(out)["new_llm_calls"] == 1  # only the answer saw a new observation
    code, out, _ = cli(capsys, "show", json.loads(out)["tape_id"], "--json", "--store", str(store))
    tape = Tape.model_validate_json(out)
    assert "Madrid" in tape.steps[3].summary()
    assert tape.steps[2].metadata.node == "plan"  # inherited from the step it replaced


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--agent", "nobody", "--task", "x"], "no agent or spec 'nobody'"),
        (["run", "--agent", "qa", "--task", "  "], "the task is empty"),
        (["show", "missing"], "no tape with id 'missing'"),
        (["resume", "missing"], "no tape with id 'missing'"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(capsys, store, argv, expected) -> None:
    code, out, err = cli(capsys, *argv, "--store", str(store))
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and expected in err


def test_fork_rejects_bad_positions_and_bad_step_json(capsys, store, model) -> None:
    tape_id = run_qa(capsys, store, model)["tape_id"]
    code, _, err = cli(capsys, "fork", tape_id, "--at", "9", "--store", str(store))
    assert code == 2 and "--at 9 is outside" in err
    code, _, err = cli(capsys, "fork", tape_id, "--at", "2", "--replace-step", "{nope", "--store", str(store))
    assert code == 2 and "--replace-step #1: invalid JSON" in err
    code, _, err = cli(capsys, "fork", tape_id, "--at", "2", "--replace-step", '{"kind": "tool_call"}',
                       "--store", str(store))
    assert code == 2 and "tool" in err and "Field required" in err


def test_export_then_import_into_a_fresh_store_gives_the_same_tape_and_calls(capsys, store, model, tmp_path) -> None:
    tape_id = run_qa(capsys, store, model)["tape_id"]
    out_file = tmp_path / "out.json"
    assert cli(capsys, "export", tape_id, "--out", str(out_file), "--store", str(store))[0] == 0
    fresh = tmp_path / "fresh.sqlite"
    code, out, _ = cli(capsys, "import", str(out_file), "--store", str(fresh), "--json")
    assert code == 0 and json.loads(out)["imported"][0]["llm_calls"] == 2
    original = cli(capsys, "show", tape_id, "--json", "--store", str(store))[1]
    assert cli(capsys, "show", tape_id, "--json", "--store", str(fresh))[1] == original


def test_import_reports_each_bad_file_and_imports_the_good_ones(capsys, store, model, tmp_path) -> None:
    tape_id = run_qa(capsys, store, model)["tape_id"]
    good = tmp_path / "good.json"
    cli(capsys, "export", tape_id, "--out", str(good), "--store", str(store))
    bundle = json.loads(good.read_text())
    bad_json = tmp_path / "bad_json.json"
    bad_json.write_text('{"tapes": [')
    unknown = tmp_path / "unknown_kind.json"
    bundle["tapes"][0]["steps"][1]["kind"] = "telepathy"
    unknown.write_text(json.dumps(bundle))
    missing = tmp_path / "missing_field.json"
    bundle["tapes"][0]["steps"][1]["kind"] = "tool_call"
    missing.write_text(json.dumps(bundle))
    fresh = tmp_path / "fresh.sqlite"
    code, out, err = cli(capsys, "import", str(bad_json), str(good), str(unknown), str(missing), "--store", str(fresh))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert "bad_json.json: invalid JSON at line 1" in lines[0]
    assert "unknown_kind.json: tapes[0].steps[1]: unknown step kind 'telepathy'" in lines[1]
    assert "missing_field.json: tapes[0].steps[1].tool: Field required" in lines[2]
    assert "good.json: imported 1 tapes" in out
    assert cli(capsys, "list", "--json", "--store", str(fresh))[1].count('"id"') == 1


def test_list_says_how_to_start_when_empty(capsys, store) -> None:
    code, out, _ = cli(capsys, "list", "--store", str(store))
    assert code == 0 and "tape-studio run --agent qa" in out


def test_resume_of_a_paused_run_completes_it(capsys, store, model) -> None:
    code, out, _ = cli(capsys, "run", "--agent", "qa", "--task", "What is the capital of France?", "--model", model,
                       "--store", str(store), "--max-iterations", "1", "--json")
    paused = json.loads(out)
    assert paused["status"] == "paused" and len(paused["steps"]) == 3
    code, out, _ = cli(capsys, "resume", paused["tape_id"], "--store", str(store), "--model", model, "--json")
    resumed = json.loads(out)
    assert resumed["status"] == "completed" and resumed["steps"][:3] == paused["steps"]


def test_help_teaches_with_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "fork TAPE_ID --at 2 --rerun" in out and "TAPE_STUDIO_MODEL" in out


def test_the_model_can_be_chosen_by_environment_variable(capsys, store, model, monkeypatch) -> None:
    monkeypatch.setenv("TAPE_STUDIO_MODEL", model)
    code, out, _ = cli(capsys, "run", "--agent", "qa", "--task", "What is the capital of France?",
                       "--store", str(store), "--json")
    assert code == 0 and {c["model"] for c in json.loads(out)["llm_calls"]} == {model}


def test_a_bad_llm_mode_in_the_environment_is_one_line(capsys, store, monkeypatch) -> None:
    monkeypatch.setenv("TAPE_STUDIO_LLM_MODE", "sometimes")
    code, _, err = cli(capsys, "list", "--store", str(store))
    assert code == 2 and "TAPE_STUDIO_LLM_MODE='sometimes'" in err and err.count("\n") == 1
