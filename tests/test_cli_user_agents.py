"""Every command honours a user's agent (examples/travel, loaded with --agents), in-process with a
fake model: run, pause and resume, fork an edited step and rerun, a bundle rerun in a fresh store,
and the messages when the agent's source is not loaded. Also where --store may stand."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tape_studio.core.fake_llm import register_fake
from tape_studio.studio.cli import main

ROOT = Path(__file__).resolve().parents[1]
TRAVEL = str(ROOT / "examples" / "travel" / "agent.py")
_names = itertools.count()


def travel_fake(seen: list[str] | None = None) -> str:
    """Plans the tool call a careful model would make for the travel agent, and answers from the result."""

    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        last = str(messages[-1]["content"])
        if seen is not None:
            seen.append(last)
        if "calling exactly one tool" not in str(messages[0]["content"]):
            result = re.search(r"Result: (.*)", last)
            return json.dumps({"answer": result.group(1) if result else "?"})
        city = "Oslo" if "Oslo" in last else "Paris"
        return json.dumps({"thought": f"The weather in {city}.", "tool": "weather",
                           "arguments": {"city": city, "days": 2}})

    return register_fake(f"travel-{next(_names)}", respond)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        return code, json.loads(out), err
    except json.JSONDecodeError:
        return code, out, err


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store.sqlite")


def test_run_pause_and_resume_a_user_agent(capsys: pytest.CaptureFixture[str], store: str) -> None:
    model = travel_fake()
    code, paused, _ = cli(capsys, "run", "--agents", TRAVEL, "--agent", "travel", "--task", "Weather in Oslo?",
                          "--model", model, "--store", store, "--max-iterations", "2", "--json")
    assert code == 0 and paused["status"] == "paused"
    assert [s["kind"] for s in paused["steps"]] == ["task", "route_thought", "thought", "tool_call"]
    code, done, _ = cli(capsys, "resume", paused["tape_id"], "--agents", TRAVEL, "--model", model, "--store", store,
                        "--json")
    assert code == 0 and done["status"] == "completed"
    assert done["result"] == "Oslo in 2 day(s): rain, 4 degrees celsius"


def test_fork_an_edited_thought_of_a_user_agent_and_rerun(capsys: pytest.CaptureFixture[str], store: str) -> None:
    seen: list[str] = []
    model = travel_fake(seen)
    _, original, _ = cli(capsys, "run", "--agents", TRAVEL, "--agent", "travel", "--task", "Weather in Paris?",
                         "--model", model, "--store", store, "--json")
    edit = json.dumps({"kind": "thought", "text": "The user actually means Oslo."})
    code, fork, _ = cli(capsys, "fork", original["tape_id"], "--at", "2", "--replace-step", edit, "--rerun",
                        "--agents", TRAVEL, "--model", model, "--store", store, "--json")
    assert code == 0 and fork["status"] == "completed" and fork["parent_id"] == original["tape_id"]
    assert any("The user actually means Oslo." in prompt for prompt in seen)
    _, shown, _ = cli(capsys, "show", fork["tape_id"], "--store", store, "--json")
    call = next(s for s in shown["steps"] if s["kind"] == "tool_call")
    assert call["arguments"] == {"city": "Oslo", "days": 2}


def test_a_bundle_carries_the_spec_and_reruns_in_a_fresh_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model, first, second = travel_fake(), str(tmp_path / "one.sqlite"), str(tmp_path / "two.sqlite")
    _, original, _ = cli(capsys, "run", "--agents", TRAVEL, "--agent", "trip_planner", "--task", "Weather in Oslo?",
                         "--model", model, "--store", first, "--json")
    bundle = tmp_path / "bundle.json"
    assert cli(capsys, "export", original["tape_id"], "--out", str(bundle), "--store", first)[0] == 0
    carried = json.loads(bundle.read_text())
    assert {spec["name"] for spec in carried["specs"]} == {"trip_planner", "travel"}
    assert carried["step_kinds"] == {"route_thought": TRAVEL}
    assert cli(capsys, "import", str(bundle), "--store", second)[0] == 0
    code, fork, _ = cli(capsys, "fork", original["tape_id"], "--at", "1", "--rerun", "--agents", TRAVEL,
                        "--model", model, "--store", second, "--json")
    assert code == 0 and fork["status"] == "completed"


def test_without_the_source_the_error_says_which_to_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A tape made by a tool this process never loaded: the hint names the tape's recorded source.
    from tape_studio.core.spec import AgentSpec, NodeSpec
    from tape_studio.core.store import Store
    from tape_studio.core.tape import Tape, TapeMetadata, Task

    spec = AgentSpec(name="elsewhere", entry="p", nodes=(NodeSpec(name="p", type="choose_tool", tools=("teleport",)),))
    store = Store(tmp_path / "s.sqlite")
    store.save_spec(spec)
    tape = Tape(metadata=TapeMetadata(agent="elsewhere", spec_id=spec.id, agent_source="/home/ann/elsewhere.py"),
                steps=(Task(text="go"),))
    store.save_tape(tape)
    code, _, err = cli(capsys, "resume", tape.id, "--store", str(tmp_path / "s.sqlite"))
    assert code == 2
    assert err.strip().splitlines() == [
        "tape-studio: error: node 'p' of 'elsewhere' uses unknown tools ['teleport'] (known: "
        + err.split("(known: ")[1].split(")")[0] + "); load the source that defines them; this tape's agent "
        "comes from /home/ann/elsewhere.py: load it with --agents /home/ann/elsewhere.py"]


def test_agents_lists_every_loaded_agent_with_its_source(capsys: pytest.CaptureFixture[str], store: str) -> None:
    code, rows, _ = cli(capsys, "agents", "--agents", TRAVEL, "--store", store, "--json")
    sources = {row["name"]: row["source"] for row in rows}
    assert code == 0 and sources["travel"] == TRAVEL and sources["qa"] == "builtin"
    assert [row["name"] for row in rows][:2] == ["travel", "trip_planner"]  # the user's first
    code, text, _ = cli(capsys, "agents", "--store", store)
    assert "keyword_router" in text and TRAVEL in text


def test_an_unknown_agent_says_how_to_load_one(capsys: pytest.CaptureFixture[str], store: str) -> None:
    code, _, err = cli(capsys, "run", "--agent", "nobody", "--task", "x", "--store", store)
    assert code == 2 and "load yours with --agents FILE.py or TAPE_STUDIO_AGENTS" in err


def test_store_may_come_before_the_subcommand(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = Path(__import__("os").environ["TAPE_STUDIO_HOME"])
    code, rows, _ = cli(capsys, "--store", str(tmp_path / "early.sqlite"), "list", "--json")
    assert code == 0 and rows == []
    assert (tmp_path / "early.sqlite").exists() and not (home / "store.sqlite").exists()


def test_a_store_folder_means_the_store_file_inside_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    code, _, _ = cli(capsys, "list", "--store", str(folder))
    assert code == 0 and (folder / "store.sqlite").exists()


def test_sft_export_rebuilds_a_user_agents_prompts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = str(tmp_path / "store.sqlite")
    _, original, _ = cli(capsys, "run", "--agents", TRAVEL, "--agent", "travel", "--task", "Weather in Oslo?",
                         "--model", travel_fake(), "--store", store, "--json")
    out = tmp_path / "sft.jsonl"
    code, report, _ = cli(capsys, "export", original["tape_id"], "--format", "sft", "--out", str(out), "--store", store,
                          "--json")
    assert code == 0 and report["records"] == 2 and report["skipped"] == []
    plan = json.loads(out.read_text().splitlines()[0])["messages"]
    assert json.loads(plan[-1]["content"]) == {"thought": "The weather in Oslo.", "tool": "weather",
                                               "arguments": {"city": "Oslo", "days": 2}}
    assert "Route: route_thought: weather: the task mentions 'weather'" in plan[-2]["content"]
