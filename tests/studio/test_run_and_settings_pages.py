"""The Run page (a new session streamed into a new tape) and the Settings page (models, mode, cache)."""

from __future__ import annotations

from studio_helpers import Demo, bodies, button, finish_runs, page, shown_text

from tape_studio.core.demo import demo_files
from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.settings import ModelSettings, load_settings
from tape_studio.studio.state import RUN_PAGE_TAPE


def recorded(stem: str):  # type: ignore[no-untyped-def]
    return read_bundle(next(p for p in demo_files() if p.stem == stem)).tapes[0]


def test_run_streams_a_new_session_that_replays_the_recorded_one(demo: Demo) -> None:
    at = page("run")
    # Start is live before the task box has reported its text (it once ignored the first click).
    assert not at.exception and not button(at, "▶ Start").disabled
    at.selectbox(key="run_agent").select("qa")
    at.text_area(key="run_task").input("What is the capital of France?")
    button(at, "▶ Start").click().run()  # typing and the click arrive in one rerun, as in a browser
    tape_id = at.session_state[RUN_PAGE_TAPE]
    at = finish_runs(at)
    assert not at.exception
    tape = demo.ws.store.load_tape(tape_id)
    assert bodies(tape) == bodies(recorded("qa-what-is-the-capital-of-france"))
    assert tape.metadata.status == "completed" and tape.metadata.author == "qa"
    assert "Paris" in shown_text(at)
    assert any("finished with an answer" in s.value for s in at.success)


def test_run_with_step_once_pauses_after_the_first_move(demo: Demo) -> None:
    at = page("run")
    at.selectbox(key="run_agent").set_value("qa")
    at.text_area(key="run_task").input("What is the capital of France?")
    at.toggle(key="run_step_once").set_value(True).run()
    button(at, "▶ Start").click().run()
    at = finish_runs(at)
    tape = demo.ws.store.load_tape(at.session_state[RUN_PAGE_TAPE])
    assert [s.kind for s in tape.steps] == ["task", "thought", "tool_call"]
    assert tape.metadata.status == "paused"


def test_start_with_an_empty_task_says_so(demo: Demo) -> None:
    at = page("run")
    button(at, "▶ Start").click().run()
    assert not at.exception and "the task is empty" in at.error[0].value


def test_run_of_an_unrecorded_task_in_replay_mode_says_why_it_stopped(demo: Demo) -> None:
    at = page("run")
    at.text_area(key="run_task").input("What is the capital of Peru?").run()
    button(at, "▶ Start").click().run()
    at = finish_runs(at)
    assert not at.exception
    assert any("could not go on" in e.value for e in at.error) and "no recorded call" in shown_text(at)


def test_run_with_a_misnamed_model_records_the_failure(demo: Demo) -> None:
    at = page("run")
    at.text_area(key="run_task").input("What is the capital of France?")
    at.text_input(key="run_model").input("local/no-such-model").run()
    button(at, "▶ Start").click().run()
    at = finish_runs(at)
    # Replay mode has no recording for this model either: the page says so instead of crashing.
    assert not at.exception and at.error


def test_settings_are_saved_per_store(demo: Demo) -> None:
    at = page("settings")
    assert not at.exception and at.radio(key="settings_mode").value == "replay"
    at.text_input(key="settings_model").input("openai/gpt-4o-mini")
    at.radio(key="settings_mode").set_value("cached")
    at.text_input(key="settings_role_default").input("ollama/llama3")
    button(at, "Save").click().run()
    assert not at.exception
    assert load_settings(demo.ws.store) == ModelSettings(model="openai/gpt-4o-mini", llm_mode="cached",
                                                         role_models={"default": "ollama/llama3"})
    again = page("settings")
    assert again.text_input(key="settings_model").value == "openai/gpt-4o-mini"
    assert page("run").text_input(key="run_model").value == "openai/gpt-4o-mini"


def test_cache_statistics_and_clearing_after_a_confirmation(demo: Demo) -> None:
    at = page("settings")
    entries = demo.ws.cache.stats()["entries"]
    assert entries > 0 and at.metric[0].value == str(entries)
    button(at, "Clear the cache…").click().run()
    assert "Clear every recorded answer?" in at.warning[0].value and demo.ws.cache.stats()["entries"] == entries
    button(at, "Clear the cache").click().run()
    assert not at.exception and demo.ws.cache.stats()["entries"] == 0
    assert at.metric[0].value == "0"
