"""Re-asking the model of a recorded or imported step: the answer is a fork with lineage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from openai_fake import FakeOpenAI
from trace_helpers import WEATHER, kinds

import tape_studio
from tape_studio.core.errors import InputError, ReplayMissError
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.reask import RequestEdit, preview, reask, recorded_request
from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace


def _recorded(ws: Workspace, fake: FakeOpenAI) -> Tape:
    with tape_studio.record("support-bot", task="What is the weather in Paris?", store=ws.store) as session:
        openai.OpenAI(base_url=fake.url).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "What is the weather in Paris?"}], tools=[WEATHER])
    return ws.store.load_tape(session.tape_id)


def test_reasking_the_same_request_gives_a_fork_whose_new_steps_link_to_a_new_call(fake: FakeOpenAI, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite", mode="live")
    tape = _recorded(ws, fake)
    assert kinds(tape) == ["task", "tool_call"]
    result = reask(ws, tape.id, 1)
    fork = result.tape
    assert fork.metadata.parent_id == tape.id and fork.metadata.fork_step == 1 and fork.metadata.root_id == tape.id
    assert kinds(fork) == ["task", "tool_call"] and fork.steps[0] == tape.steps[0]
    new = fork.steps[1]
    assert new.metadata.prompt_id == result.call.prompt_id != tape.steps[1].metadata.prompt_id
    assert new.metadata.other["reasked_from"] == tape.steps[1].metadata.prompt_id
    assert ws.store.load_tape(fork.id) == fork and "reask" in fork.metadata.tags
    assert fake.requests[-1]["tools"] == [WEATHER]  # sent as recorded, through litellm, to the recorded server


def test_an_edited_request_without_tools_ends_the_fork_with_the_answer(fake: FakeOpenAI, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite", mode="live")
    tape = _recorded(ws, fake)
    edit = RequestEdit(messages=[{"role": "user", "content": "say hello"}], tools=[], params={"temperature": 0.5})
    assert recorded_request(ws, tape.id, 1, edit).tools is None
    fork = reask(ws, tape.id, 1, edit).tape
    assert kinds(fork) == ["task", "final_answer"] and fork.steps[-1].summary() == "echo: say hello"
    assert fork.metadata.status == "completed" and fake.requests[-1]["temperature"] == 0.5


def test_another_model_can_be_asked_and_cached_mode_answers_a_repeat_from_the_cache(fake: FakeOpenAI, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite", mode="cached")
    tape = _recorded(ws, fake)
    model = register_fake("reask-echo", lambda messages, params: "fake says " + str(messages[-1]["content"]))
    edit = RequestEdit(model=model, tools=[])
    first = reask(ws, tape.id, 1, edit)
    assert first.tape.steps[-1].summary() == "fake says What is the weather in Paris?" and not first.call.cached
    assert preview(ws, tape.id, 1, edit).cached_calls == 1
    again = reask(ws, tape.id, 1, edit)
    assert again.call.cached and again.tape.id != first.tape.id


def test_replay_mode_refuses_a_request_it_has_not_recorded(fake: FakeOpenAI, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite", mode="replay")
    tape = _recorded(ws, fake)
    with pytest.raises(ReplayMissError):
        reask(ws, tape.id, 1)


def test_steps_no_model_made_cannot_be_reasked(fake: FakeOpenAI, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "store.sqlite", mode="live")
    tape = _recorded(ws, fake)
    with pytest.raises(InputError, match="step 0 .* was not made by a model"):
        reask(ws, tape.id, 0)
    with pytest.raises(InputError, match="outside tape"):
        reask(ws, tape.id, 9)


def test_a_step_of_an_imported_trace_is_reasked_through_the_cli(fake: FakeOpenAI, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    log = tmp_path / "chat.jsonl"
    log.write_text(json.dumps({"request": {"model": "openai/gpt-4o-mini", "api_base": fake.url,
                                           "messages": [{"role": "user", "content": "hello there"}]},
                               "response": {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}}))
    ws = Workspace(store)
    (tape_id,) = ws.import_file(log).imported
    cli = [sys.executable, "-m", "tape_studio.studio.cli", "reask", tape_id, "--at", "1", "--store", str(store)]
    shown = subprocess.run([*cli, "--show"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and json.loads(shown.stdout)["messages"] == [{"role": "user", "content": "hello there"}]
    edit = json.dumps([{"role": "user", "content": "edited"}])
    done = subprocess.run([*cli, "--llm-mode", "live", "--json", "--edit-messages", edit, "--edit-params",
                           json.dumps({"api_base": fake.url})], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["parent_id"] == tape_id and answer["steps"] == [{"index": 1, "kind": "final_answer", "text": "echo: edited"}]
    bad = subprocess.run([*cli, "--edit-messages", "{oops"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("tape-studio: error: --edit-messages: invalid JSON")
