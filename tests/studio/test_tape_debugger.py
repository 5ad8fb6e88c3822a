"""The Tape page as a debugger: fork, edit, rerun live (replay mode, exact steps), step once, stop,
cost preview, jumps, notes, and sessions that stay apart."""

from __future__ import annotations

import re
import time

import pytest
from studio_helpers import Demo, bodies, button, finish_runs, page, shown_text

from tape_studio.core.fake_llm import register_fake
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.studio.runs import REGISTRY
from tape_studio.studio.state import CURSOR, PENDING_RUN, SESSION_ID, TAPE_ID


def at_step(demo: Demo, index: int, tape: Tape | None = None):  # type: ignore[no-untyped-def]
    at = page("tape", tape=(tape or demo.original).id)
    at.session_state[CURSOR] = index
    return at.run()


def opened(demo: Demo, at) -> Tape:  # type: ignore[no-untyped-def]
    return demo.ws.store.load_tape(at.query_params["tape"])


def test_rerun_from_here_in_replay_mode_reproduces_the_recorded_rerun(demo: Demo) -> None:
    at = at_step(demo, 2)
    button(at, "⟲ Rerun from here").click().run()
    assert not at.exception
    assert "The rerun finishes with an answer." in [c.value for c in at.caption]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["LLM calls expected"] == "2" and metrics["From the cache"] == "2"
    button(at, "Start").click().run()
    at = finish_runs(at)
    assert not at.exception
    fork = opened(demo, at)
    assert (fork.metadata.parent_id, fork.metadata.fork_step) == (demo.original.id, 2)
    assert bodies(fork) == bodies(demo.rerun)  # the recorded plain rerun, step for step
    assert [s.metadata.node for s in fork.steps] == [s.metadata.node for s in demo.rerun.steps]
    assert fork.metadata.status == "completed"
    assert "Run finished with an answer · 3 new steps · 0 new LLM calls" in [s.value for s in at.success]
    assert at.session_state[CURSOR] == 4  # the cursor follows the run to its last step


def test_edit_a_step_then_rerun_reproduces_the_recorded_calculator_fork(demo: Demo) -> None:
    at = at_step(demo, 2)
    prefix = f"edit_{demo.original.id}_2"
    at.text_input(key=f"{prefix}_tool").input("calculator")
    at.text_area(key=f"{prefix}_arguments").input('{"expression": "17*23"}')
    button(at, "Save as fork and rerun").click().run()
    assert not at.exception
    fork = opened(demo, at)
    assert fork.id != demo.original.id and len(fork.steps) == 3
    assert fork.steps[2].metadata.other["edited_by"] == "user" and fork.steps[2].metadata.node == "plan"
    assert at.session_state[PENDING_RUN] == {"tape": fork.id, "at": None}
    assert {m.label: m.value for m in at.metric}["From the cache"] == "1"
    button(at, "Start").click().run()
    at = finish_runs(at)
    assert not at.exception
    assert bodies(opened(demo, at)) == bodies(demo.edited)
    assert "391" in shown_text(at)


def test_invalid_json_in_the_edit_form_is_shown_inline(demo: Demo) -> None:
    at = at_step(demo, 2)
    at.text_area(key=f"edit_{demo.original.id}_2_arguments").input('{"expression": ')
    button(at, "Save as fork").click().run()
    assert not at.exception
    assert "arguments: invalid JSON at line 1" in at.error[0].value
    assert demo.ws.store.count_tapes() == demo.tapes and at.query_params["tape"] == demo.original.id


def test_a_step_that_fails_validation_makes_no_fork(demo: Demo) -> None:
    at = at_step(demo, 2)
    prefix = f"edit_{demo.original.id}_2"
    at.toggle(key=f"{prefix}_as_json").set_value(True).run()
    at.text_area(key=f"{prefix}_json").input('{"kind": "tool_call", "arguments": {}}')
    button(at, "Save as fork").click().run()
    assert not at.exception
    assert "tool: Field required" in at.error[0].value
    assert demo.ws.store.count_tapes() == demo.tapes


def test_fork_here_opens_a_fork_that_keeps_the_cursor_step(demo: Demo) -> None:
    at = at_step(demo, 3)
    button(at, "🔀 Fork here").click().run()
    assert not at.exception
    fork = opened(demo, at)
    assert fork.steps == demo.original.steps[:4] and fork.metadata.fork_step == 4
    assert at.session_state[TAPE_ID] == fork.id and at.session_state[CURSOR] == 3
    assert f"fork of {demo.original.metadata.title} · {demo.original.id[:8]} at step 4 (steps 0–3 are the parent's)" in shown_text(at)
    assert fork.metadata.title == "What is 17 times 23? · rerun from step 4"


def test_step_once_pauses_after_each_move(demo: Demo) -> None:
    at = at_step(demo, 2)
    button(at, "⟲ Rerun from here").click().run()
    button(at, "Start, step once").click().run()
    at = finish_runs(at)
    fork = opened(demo, at)
    assert [s.kind for s in fork.steps] == ["task", "thought", "tool_call"]  # the plan node's one visit
    assert any("paused after one move" in s.value for s in at.success)
    button(at, "⏯ Step once").click().run()
    at = finish_runs(at)
    assert not at.exception
    assert [s.kind for s in opened(demo, at).steps] == ["task", "thought", "tool_call", "tool_result"]
    button(at, "▶ Continue").click().run()
    button(at, "Start").click().run()
    at = finish_runs(at)
    assert bodies(opened(demo, at)) == bodies(demo.rerun)


def test_stop_ends_a_running_rerun(demo: Demo) -> None:
    model = register_fake("slow-plan", lambda messages, params: '{"thought": "t", "tool": "lookup", "input": "x"}',
                          latency_s=1.0)
    save_settings(demo.ws.store, ModelSettings(model=model, llm_mode="live"))
    at = at_step(demo, 1)
    button(at, "⟲ Rerun from here").click().run()
    button(at, "Start").click().run()
    fork_id = at.query_params["tape"]
    assert at.button(key=f"stop_{fork_id}")  # the live panel is up while the run lasts
    live = REGISTRY.get(at.session_state[SESSION_ID], fork_id)
    deadline = time.monotonic() + 10  # Stop during the first model call, as a person would click it
    while live is not None and not live.in_flight and not live.done and time.monotonic() < deadline:
        time.sleep(0.02)
    at.button(key=f"stop_{fork_id}").click().run()
    at = finish_runs(at)
    assert not at.exception
    live = REGISTRY.get(at.session_state[SESSION_ID], fork_id)
    assert live is not None and live.reason == "stopped"
    assert any("stopped at your request" in s.value for s in at.success)
    assert [s.kind for s in opened(demo, at).steps] == ["task", "thought", "tool_call"]


def test_a_replay_miss_is_an_error_on_the_page_and_on_the_tape(demo: Demo) -> None:
    demo.ws.cache.clear()
    at = at_step(demo, 1)
    button(at, "⟲ Rerun from here").click().run()
    assert any("replay" in w.value for w in at.warning)  # the preview warned
    button(at, "Start").click().run()
    at = finish_runs(at)
    assert not at.exception
    assert any("could not go on" in e.value for e in at.error)
    assert "no recorded call" in shown_text(at)
    assert opened(demo, at).metadata.status == "failed"


def test_cancel_drops_the_pending_rerun(demo: Demo) -> None:
    at = at_step(demo, 2)
    button(at, "⟲ Rerun from here").click().run()
    button(at, "Cancel").click().run()
    assert PENDING_RUN not in at.session_state and demo.ws.store.count_tapes() == demo.tapes


def test_rerun_is_offered_only_after_the_task(demo: Demo) -> None:
    at = at_step(demo, 0)
    assert button(at, "⟲ Rerun from here").disabled
    assert button(at, "▶ Continue").disabled  # the original is completed


def test_jump_to_a_node_cycles_through_its_visits(demo: Demo) -> None:
    at = at_step(demo, 0)
    at.selectbox(key="tape_jump_node").select("plan").run()
    button(at, "Next visit").click().run()
    assert at.session_state[CURSOR] == 1
    button(at, "Next visit").click().run()
    assert at.session_state[CURSOR] == 2
    button(at, "Next visit").click().run()
    assert at.session_state[CURSOR] == 1  # wrapped around


def test_clicking_a_step_selects_it(demo: Demo) -> None:
    at = at_step(demo, 0)
    at.button(key="select_3").click().run()
    assert at.session_state[CURSOR] == 3


def test_notes_are_shown_in_the_step_list(demo: Demo) -> None:
    demo.ws.store.add_annotation(demo.original.id, 2, "ana", "should use the calculator")
    at = at_step(demo, 0)
    at.toggle(key="tape_cards").set_value(True).run()  # the full card view, one click away
    assert "should use the calculator" in shown_text(at) and "ana · " in shown_text(at)


def test_two_sessions_keep_their_own_cursor_and_runs(demo: Demo) -> None:
    first, second = at_step(demo, 2), at_step(demo, 3)
    button(first, "⟲ Rerun from here").click().run()
    button(first, "Start").click().run()
    finish_runs(first)
    second.run()
    assert first.session_state[SESSION_ID] != second.session_state[SESSION_ID]
    assert second.session_state[CURSOR] == 3 and second.query_params["tape"] == demo.original.id
    assert not second.success  # the other session's run is not shown here
    assert REGISTRY.of_session(second.session_state[SESSION_ID]) == []


def test_a_long_tape_draws_only_one_window(demo: Demo) -> None:
    steps = (Task(text="long"),) + tuple(Thought(text=f"thought {n}", metadata=StepMetadata(node="plan"))
                                         for n in range(1, 5000))
    long = Tape(metadata=TapeMetadata(agent="qa", title="long"), steps=steps)
    demo.ws.store.save_tape(long)
    at = page("tape", tape=long.id)
    at.session_state[CURSOR] = 4321
    at.run()
    assert not at.exception
    rows = [b for b in at.button if b.key and b.key.startswith("select_")]  # one line per step
    assert [b.key for b in rows] == [f"select_{n}" for n in range(4300, 4350)]
    assert "4321 · 💭 · plan · thought 4321" in next(b.label for b in rows if b.key == "select_4321")
    assert any(c.value.startswith("Steps 4300–4349 of 5000") for c in at.caption)


@pytest.mark.parametrize("status", ["new", "failed"])
def test_an_unfinished_tape_can_be_continued(demo: Demo, status: str) -> None:
    start = demo.ws.fork(demo.original.id, 2)
    demo.ws.store.set_status(start.id, status)
    at = page("tape", tape=start.id)
    button(at, "▶ Continue").click().run()
    button(at, "Start").click().run()
    at = finish_runs(at)
    assert bodies(opened(demo, at)) == bodies(demo.rerun) and at.query_params["tape"] == start.id


def test_an_edit_names_itself_in_the_title_and_the_family_tree(demo: Demo) -> None:
    at = at_step(demo, 2)
    prefix = f"edit_{demo.original.id}_2"
    at.text_input(key=f"{prefix}_tool").input("calculator")
    at.text_area(key=f"{prefix}_arguments").input('{"expression": "17*23"}')
    button(at, "Save as fork").click().run()
    fork = opened(demo, at)
    assert fork.metadata.title == "What is 17 times 23? · edit step 2: tool_call calculator(expression='17*23')"
    assert not [frame for frame in at.dataframe if frame.key == "tape_family"]  # drawn only once opened
    at.session_state["tape_family_open"] = True  # a person opens the family tree
    at.run()
    family = at.dataframe(key="tape_family").value
    assert "edit step 2: tool_call calculator(expression='17*23')" in list(family["what changed"])
    assert "(the original)" in list(family["what changed"]) and "completed" in list(family["outcome"])


def test_rerun_from_an_edited_step_warns_that_it_replaces_the_edit(demo: Demo) -> None:
    fork = demo.ws.fork(demo.original.id, 2, [{"kind": "tool_call", "tool": "calculator",
                                                "arguments": {"expression": "17*23"}}])
    at = page("tape", tape=fork.id)
    at.session_state[CURSOR] = 2
    at.run()
    button(at, "⟲ Rerun from here").click().run()
    assert any("Step 2 was written by hand" in w.value for w in at.warning)


def test_the_scroll_script_survives_the_browsers_sanitizer(demo: Demo) -> None:
    # DOMPurify (in Streamlit's st.html) silently drops a script whose text has "<" before a word
    # character or "/" or "!", which once left the cursor's row out of view on long tapes.
    at = at_step(demo, 2)
    (html,) = [e.proto for e in at.get("html") if "<script>" in e.proto.body]
    script = html.body.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    assert html.unsafe_allow_javascript and "select_2" in script
    assert re.search(r"<[/\w!]", script) is None
