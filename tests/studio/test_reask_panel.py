"""The Tape page's re-ask panel (AppTest): the recorded request editable, a preview, the fork opened."""

from __future__ import annotations

from pathlib import Path

from studio_helpers import PAGES
from streamlit.testing.v1 import AppTest

from tape_studio.core.fake_llm import register_fake
from tape_studio.core.llm import LLMCall
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.tape import FinalAnswer, StepMetadata, Tape, TapeMetadata, Task
from tape_studio.core.workspace import Workspace
from tape_studio.studio.state import CURSOR, TAPE_ID

CALL = LLMCall(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], output="hello",
               prompt_tokens=3, completion_tokens=1)
TAPE = Tape(metadata=TapeMetadata(agent="support-bot", status="completed", source="record"), steps=(
    Task(text="hi"), FinalAnswer(text="hello", metadata=StepMetadata(prompt_id=CALL.prompt_id, agent="support-bot"))))


def _page(at_step: int) -> AppTest:
    at = AppTest.from_file(str(PAGES / "tape.py"), default_timeout=120)
    at.query_params["tape"] = TAPE.id
    at.session_state[TAPE_ID], at.session_state[CURSOR] = TAPE.id, at_step
    return at.run()


def test_a_model_step_can_be_reasked_with_another_model_and_opens_the_fork(studio_store: Path) -> None:
    ws = Workspace(studio_store)
    ws.store.save_tape(TAPE, [CALL])
    save_settings(ws.store, ModelSettings(llm_mode="live"))
    register_fake("panel-echo", lambda messages, params: "echoed " + str(messages[-1]["content"]))
    at = _page(1)
    assert not at.exception
    assert any("Re-ask the model" in e.label for e in at.expander)
    assert any("No agent named support-bot is loaded" in c.value for c in at.caption)
    key = f"reask_{CALL.prompt_id}"
    at.toggle(key=f"{key}_open").set_value(True).run()
    assert '"content": "hi"' in at.text_area(key=f"{key}_messages").value
    at.text_input(key=f"{key}_model").set_value("fake/panel-echo").run()
    numbers = {m.label: m.value for m in at.metric}
    assert (numbers["LLM calls expected"], numbers["From the cache"]) == ("1", "0")
    at.text_area(key=f"{key}_messages").set_value('[{"role": "user", "content": "edited"}]').run()
    at.button(key=f"{key}_go").click().run()
    assert not at.exception
    fork_id = at.session_state[TAPE_ID]
    assert fork_id != TAPE.id
    fork = ws.store.load_tape(fork_id)
    assert fork.metadata.parent_id == TAPE.id and fork.steps[-1].summary() == "echoed edited"


def test_bad_json_in_the_request_is_one_message_and_no_button(studio_store: Path) -> None:
    ws = Workspace(studio_store)
    ws.store.save_tape(TAPE, [CALL])
    at = _page(1)
    key = f"reask_{CALL.prompt_id}"
    at.toggle(key=f"{key}_open").set_value(True).run()
    at.text_area(key=f"{key}_messages").set_value("[oops").run()
    assert any("Messages: invalid JSON" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == f"{key}_go"]


def test_steps_no_model_made_show_no_panel(studio_store: Path) -> None:
    Workspace(studio_store).store.save_tape(TAPE, [CALL])
    assert not any("Re-ask" in e.label for e in _page(0).expander)
