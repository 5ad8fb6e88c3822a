"""Breakpoints and approvals from the terminal: `run --approve-tool/--break-before` and `approve`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tape_studio.core.fake_llm import register_fake
from tape_studio.core.store import Store
from tape_studio.studio.cli import main

_names = itertools.count()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAPE_STUDIO_HOME", str(tmp_path / "home"))
    return tmp_path / "store.sqlite"


@pytest.fixture
def model() -> str:
    """Plans a calculator call, then answers with whatever the tool result said."""

    def respond(messages: list[dict], params: dict) -> str:
        if "choosing one tool" in messages[0]["content"]:
            return '{"thought": "Arithmetic.", "tool": "calculator", "input": "17*20"}'
        seen = messages[-1]["content"]
        return json.dumps({"answer": "391" if "391" in seen else ("refused" if "rejected by the user" in seen else "340")})

    return register_fake(f"approve-{next(_names)}", respond)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def paused_run(capsys, store: Path, model: str, *flags: str) -> dict:  # type: ignore[no-untyped-def]
    code, out, _ = cli(capsys, "run", "--agent", "qa", "--task", "What is 17 times 23?", "--model", model,
                       "--store", str(store), "--json", *flags)
    assert code == 0
    return json.loads(out)


def test_a_run_pauses_before_the_named_tool_with_the_pending_step(capsys, store, model) -> None:
    paused = paused_run(capsys, store, model, "--approve-tool", "calculator")
    assert paused["status"] == "awaiting_approval"
    assert [s["kind"] for s in paused["steps"]] == ["task", "thought", "tool_call"]  # the call waits, unrun
    assert paused["pause"]["tool"] == "calculator" and paused["pause"]["step_index"] == 2
    code, out, _ = cli(capsys, "list", "--store", str(store))
    assert "awaiting approval" in out


def test_approve_runs_the_step_and_the_run_completes(capsys, store, model) -> None:
    tape_id = paused_run(capsys, store, model, "--approve-tool", "*")["tape_id"]
    code, out, _ = cli(capsys, "approve", tape_id, "--store", str(store), "--model", model)
    assert code == 0 and "approved before tool 'calculator'" in out
    assert f"tape {tape_id}: completed" in out
    tape = Store(store).load_tape(tape_id)
    assert tape.steps[3].kind == "tool_result" and tape.steps[3].content == "340"  # type: ignore[attr-defined]


def test_reject_is_a_tool_result_the_agent_reads(capsys, store, model) -> None:
    tape_id = paused_run(capsys, store, model, "--approve-tool", "calculator")["tape_id"]
    code, out, _ = cli(capsys, "approve", tape_id, "--reject", "use a lookup instead", "--store", str(store),
                       "--model", model, "--json")
    done = json.loads(out)
    assert code == 0 and done["status"] == "completed" and done["result"] == "refused"
    rejected = Store(store).load_tape(tape_id).steps[3]
    assert rejected.content == "rejected by the user: use a lookup instead"  # type: ignore[attr-defined]
    assert rejected.metadata.other["edited_by"] == "user"


def test_edit_runs_the_edited_call_on_a_fork_and_keeps_the_original(capsys, store, model) -> None:
    tape_id = paused_run(capsys, store, model, "--approve-tool", "calculator")["tape_id"]
    code, out, _ = cli(capsys, "approve", tape_id, "--edit", '{"tool": "calculator", "arguments": {"expression": "17*23"}}',
                       "--store", str(store), "--model", model, "--json")
    done = json.loads(out)
    assert code == 0 and done["status"] == "completed" and done["result"] == "391"
    fork = Store(store).load_tape(done["tape_id"])
    assert fork.metadata.parent_id == tape_id and fork.steps[2].metadata.other["edited_by"] == "user"
    assert Store(store).summary(tape_id).status == "paused"  # decided: it no longer waits


def test_a_spec_that_asks_before_a_tool_pauses_every_run(capsys, store, model, tmp_path) -> None:
    agent_file = tmp_path / "careful.py"
    agent_file.write_text(
        "from tape_studio import register_agent\n"
        "from tape_studio.core.catalog import agent_spec\n"
        "qa = agent_spec('qa')\n"
        "nodes = tuple(n.model_copy(update={'approve_tools': ('calculator',)}) if n.name == 'plan' else n for n in qa.nodes)\n"
        "register_agent(qa.model_copy(update={'name': 'careful', 'nodes': nodes}))\n")
    code, out, err = cli(capsys, "run", "--agents", str(agent_file), "--agent", "careful", "--task", "17 times 23?",
                         "--model", model, "--store", str(store))
    assert code == 0, err
    assert "awaiting approval before tool 'calculator'" in out and "pending: calculator(" in out
    assert "tape-studio approve" in out


def test_a_breakpoint_before_a_node_and_its_rejection(capsys, store, model) -> None:
    paused = paused_run(capsys, store, model, "--break-before", "answer")
    assert paused["status"] == "awaiting_approval" and paused["pause"]["before"] == "node"
    assert [s["kind"] for s in paused["steps"]] == ["task", "thought", "tool_call", "tool_result"]
    code, out, _ = cli(capsys, "approve", paused["tape_id"], "--reject", "not now", "--store", str(store),
                       "--model", model, "--no-run")
    assert code == 0 and "rejected by the user before node 'answer': not now" in out
    assert Store(store).summary(paused["tape_id"]).status == "failed"


def test_approve_of_a_tape_that_does_not_wait_is_one_line(capsys, store, model) -> None:
    tape_id = paused_run(capsys, store, model)["tape_id"]
    code, _, err = cli(capsys, "approve", tape_id, "--store", str(store))
    assert code == 2 and err.strip().endswith("is not awaiting approval (it is completed)") and err.count("\n") == 1
