"""The studio offers a user's agent (examples/travel, named in TAPE_STUDIO_AGENTS as the launcher
does): the Run page lists and streams it, Rerun from here continues it, Train and Data offer it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from studio_helpers import button, finish_runs, page

from tape_studio.core.fake_llm import register_fake
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.workspace import Workspace
from tape_studio.studio.state import CURSOR, PENDING_RUN, RUN_PAGE_TAPE

TRAVEL = str(Path(__file__).resolve().parents[2] / "examples" / "travel" / "agent.py")


def travel_fake(name: str) -> str:
    def respond(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        if "calling exactly one tool" in str(messages[0]["content"]):
            return json.dumps({"thought": "Weather.", "tool": "weather", "arguments": {"city": "Oslo"}})
        result = re.search(r"Result: (.*)", str(messages[-1]["content"]))
        return json.dumps({"answer": result.group(1) if result else "?"})

    return register_fake(name, respond)


@pytest.fixture
def ws(studio_store: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("TAPE_STUDIO_AGENTS", TRAVEL)
    workspace = Workspace(studio_store)
    save_settings(workspace.store, ModelSettings(model=travel_fake("studio-travel"), llm_mode="live"))
    return workspace


def test_the_run_page_lists_the_user_agent_and_streams_it(ws: Workspace) -> None:
    at = page("run")
    options = at.selectbox(key="run_agent").options
    assert options[:2] == ["travel · Answers travel questions with a weather, a currency and a flight tool.",
                           "trip_planner · A team: asks the travel agent, then writes one line of advice."]
    assert at.text_area(key="run_task").placeholder == "What is the weather in Oslo in 2 days?"
    at.text_area(key="run_task").input("Weather in Oslo?").run()
    button(at, "▶ Start").click().run()
    at = finish_runs(at)
    assert not at.exception
    tape = ws.store.load_tape(at.session_state[RUN_PAGE_TAPE])
    assert tape.metadata.status == "completed" and tape.metadata.agent_source == TRAVEL
    assert [s.kind for s in tape.steps] == ["task", "route_thought", "thought", "tool_call", "tool_result",
                                            "final_answer"]


def test_rerun_from_here_continues_a_user_agents_tape(ws: Workspace) -> None:
    for _ in ws.run("travel", "Weather in Oslo?"):
        pass
    original = ws.store.list_tapes()[0]
    at = page("tape", tape=original.id)
    at.session_state[CURSOR] = 2
    at.run()
    button(at, "⟲ Rerun from here").click().run()
    assert at.session_state[PENDING_RUN] == {"tape": original.id, "at": 2}
    button(at, "Start").click().run()
    at = finish_runs(at)
    assert not at.exception
    fork = ws.store.load_tape(at.query_params["tape"])
    assert fork.metadata.parent_id == original.id and fork.metadata.status == "completed"
    assert fork.steps[1].kind == "route_thought" and fork.steps[-1].kind == "final_answer"


def test_train_and_data_pages_offer_the_user_agent(ws: Workspace) -> None:
    assert "travel" in page("train").selectbox(key="train_agent").options
    assert "travel" in page("data").selectbox(key="data_eval_agent").options
