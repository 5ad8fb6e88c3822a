"""Truthful run state on the Tape page (Stop, Step once) and approvals decided in the studio,
also after a restart of the studio (the pause is on the store)."""

from __future__ import annotations

import streamlit
from studio_helpers import Demo, bodies, button, finish_runs, page, shown_text

from tape_studio.core.approvals import load_pause
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.studio.rerun import BREAK_TOOLS
from tape_studio.studio.runs import REGISTRY
from tape_studio.studio.state import CURSOR


def at_step(demo: Demo, index: int):  # type: ignore[no-untyped-def]
    at = page("tape", tape=demo.original.id)
    at.session_state[CURSOR] = index
    return at.run()


def status_line(at) -> str:  # type: ignore[no-untyped-def]
    return next(t.value for t in at.text if " · agent " in t.value)


def test_step_once_says_paused_and_the_move_that_answers_says_completed(demo: Demo) -> None:
    at = at_step(demo, 2)
    button(at, "⟲ Rerun from here").click().run()
    button(at, "Start, step once").click().run()
    at = finish_runs(at)
    fork_id = at.query_params["tape"]
    assert status_line(at).startswith("paused") and demo.ws.store.summary(fork_id).status == "paused"
    assert not button(at, "⏯ Step once").disabled and not button(at, "▶ Continue").disabled
    for _ in range(2):  # the tool, then the answer
        button(at, "⏯ Step once").click().run()
        at = finish_runs(at)
    assert demo.ws.store.summary(fork_id).status == "completed"  # at once, with no further Continue
    assert status_line(at).startswith("completed") and button(at, "⏯ Step once").disabled


def test_stop_leaves_the_tape_paused_and_continue_enabled(demo: Demo) -> None:
    model = register_fake("slow-plan-state", lambda messages, params: '{"thought": "t", "tool": "lookup", "input": "x"}',
                          latency_s=1.0)
    save_settings(demo.ws.store, ModelSettings(model=model, llm_mode="live"))
    at = at_step(demo, 1)
    button(at, "⟲ Rerun from here").click().run()
    button(at, "Start").click().run()
    fork_id = at.query_params["tape"]
    at.button(key=f"stop_{fork_id}").click().run()
    at = finish_runs(at)
    assert demo.ws.store.summary(fork_id).status == "paused"
    assert status_line(at).startswith("paused") and not button(at, "▶ Continue").disabled
    assert any("stopped at your request" in s.value for s in at.success)


def test_an_approval_survives_a_restart_and_approving_finishes_the_run(demo: Demo) -> None:
    at = at_step(demo, 2)
    button(at, "⟲ Rerun from here").click().run()
    at.multiselect(key=BREAK_TOOLS).select("*").run()
    button(at, "Start").click().run()
    at = finish_runs(at)
    fork_id = at.query_params["tape"]
    assert demo.ws.store.summary(fork_id).status == "awaiting_approval"
    # A restart: nothing in memory (runs, cached workspace, session) survives; the store does.
    REGISTRY._runs.clear()
    streamlit.cache_resource.clear()
    at = page("tape", tape=fork_id)
    assert not at.exception and status_line(at).startswith("awaiting approval")
    assert "The run paused before tool" in shown_text(at)
    button(at, "✅ Approve and continue").click().run()
    at = finish_runs(at)
    assert not at.exception
    assert demo.ws.store.summary(fork_id).status == "completed" and load_pause(demo.ws.store, fork_id) is None
    assert bodies(demo.ws.store.load_tape(fork_id)) == bodies(demo.rerun)


def test_a_rejection_from_the_studio_is_what_the_agent_reads(demo: Demo) -> None:
    at = at_step(demo, 2)
    button(at, "⟲ Rerun from here").click().run()
    at.multiselect(key=BREAK_TOOLS).select("*").run()
    button(at, "Start").click().run()
    at = finish_runs(at)
    fork_id = at.query_params["tape"]
    at.text_input(key=f"reject_reason_{fork_id}").input("not that tool")
    button(at, "✋ Reject").click().run()
    REGISTRY.wait(30)
    step = demo.ws.store.load_steps(fork_id, 3, 4)[0]
    assert step.kind == "tool_result" and step.content == "rejected by the user: not that tool"  # type: ignore[attr-defined]
