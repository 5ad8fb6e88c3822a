"""Run: start a session of an agent on a task with a chosen model, and watch it stream into a new tape."""

import streamlit as st

from tape_studio.core.config import default_model
from tape_studio.core.errors import TapeStudioError
from tape_studio.core.settings import load_settings
from tape_studio.studio import runs
from tape_studio.studio.approval_panel import approval_panel
from tape_studio.studio.graph import graph_panel
from tape_studio.studio.live import live_panel
from tape_studio.studio.rerun import breakpoint_fields, chosen_breakpoints
from tape_studio.studio.render import plain, render_step, render_summary
from tape_studio.studio.state import RUN_PAGE_TAPE, TAPE_PAGE, get_workspace, open_tape, session_id

ws = get_workspace()
st.title("Run")
settings = load_settings(ws.store)
loaded = {spec.name: spec for spec in ws.agents()}
stored = {f"{spec.name}@{spec.id}": f"{spec.name} · version {spec.id}" for spec in ws.store.list_specs()
          if spec.name not in loaded or spec.id != loaded[spec.name].id}
choices = {name: f"{name} · {spec.description}" for name, spec in loaded.items()} | stored

agent_ref = st.selectbox("Agent", list(choices), format_func=choices.get, key="run_agent",
                         help="Agents of every loaded source, then stored versions (e.g. from training). "
                              "Load your own with `tape-studio --agents my_agent.py`.")
chosen = loaded.get(agent_ref.partition("@")[0])
task = st.text_area("Task", placeholder=(chosen.example_task if chosen else "") or "What should the agent do?",
                    key="run_task")
left, right = st.columns([3, 1], vertical_alignment="bottom")
model = left.text_input("Model", value=settings.model or default_model(), key="run_model",
                        help="Any litellm model string, e.g. local/smollm2, openai/gpt-4o-mini, ollama/llama3.")
step_once = right.toggle("Step once", key="run_step_once", help="Pause after one move; continue on the Tape page.")
if chosen is not None:
    breakpoint_fields(ws, None, spec=chosen)
st.caption(f"LLM mode: {settings.llm_mode or 'from the environment (default cached)'} · change it in Settings.")


def _start() -> None:
    state = st.session_state  # callbacks read the widgets' newest values from here
    try:
        spec = ws.spec(state["run_agent"])
        tape = ws.new_tape(spec, state["run_task"])
        ws.store.save_spec(spec)
        ws.store.save_tape(tape)  # stored before the thread starts, so the page can show it at once
        runs.start(ws, session_id(), tape, model=state["run_model"].strip() or None,
                   max_iterations=1 if state["run_step_once"] else None, breakpoints=chosen_breakpoints())
    except TapeStudioError as exc:
        st.session_state["run_error"] = str(exc)
        return
    st.session_state[RUN_PAGE_TAPE] = tape.id


# Never disabled: a text area reports its text only when it loses focus, so a button disabled on
# an empty task ignored the first click after typing. The callback reads the newest text and says
# so if it is empty.
st.button("▶ Start", type="primary", on_click=_start)
error = st.session_state.pop("run_error", None)
if error:
    st.error(plain(f"Could not start: {error}"))

tape_id = st.session_state.get(RUN_PAGE_TAPE)
if not tape_id or not ws.store.has_tape(tape_id):
    st.info("Choose an agent, write a task and press Start: the steps appear here as the agent makes them.")
    st.stop()
st.divider()
render_summary(ws.store.summary(tape_id))
if st.button("Open in the debugger"):
    open_tape(tape_id)
    st.switch_page(TAPE_PAGE, query_params={"tape": tape_id})
live_panel(session_id(), tape_id)
approval_panel(ws.store.summary(tape_id))


def _jump(index: int) -> None:
    open_tape(tape_id, index)
    st.switch_page(TAPE_PAGE, query_params={"tape": tape_id, "step": str(index)})


with st.expander("Graph of the agent", expanded=True):
    graph_panel(ws.store.summary(tape_id), session_id(), None, on_pick=_jump)
live = runs.REGISTRY.get(session_id(), tape_id)
if live is None or live.done:
    for index, step in enumerate(ws.store.load_steps(tape_id, 0, 200)):
        render_step(index, step)
