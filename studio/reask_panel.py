"""The Tape page's "Re-ask the model" panel: for a step a model made, its recorded request shown
editable (messages, tools, parameters, model), a cost preview, and a button that sends it again and
opens the fork holding the answer. It also says whether the tape's agent is loaded here (then
"Rerun from here" continues it with that agent)."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.reask import RequestEdit, edited_request, model_step, preview, reask
from tape_studio.core.tape import StepBase
from tape_studio.studio.render import plain
from tape_studio.studio.rerun import render_preview
from tape_studio.studio.state import open_tape

_ERROR = "reask_error"


def reask_panel(ws: Any, tape_id: str, cursor: int, step: StepBase | None) -> None:
    """Draws nothing for steps no model made."""
    if step is None or not step.metadata.prompt_id:
        return
    tape = ws.store.load_tape(tape_id)
    try:
        found = model_step(ws, tape, cursor)
    except TapeStudioError:
        return
    with st.expander(f"↻ Re-ask the model (steps {found.start}–{found.end - 1})"):
        st.caption(plain(_agent_note(ws, tape)))
        key = f"reask_{found.call.prompt_id}"
        if not st.toggle("Edit the request and preview the call", key=f"{key}_open"):
            return  # the editors and the preview (which may price the call) only when asked for
        recorded = edited_request(found.call, RequestEdit())
        model = st.text_input("Model (any litellm model)", value=recorded.model, key=f"{key}_model")
        messages = st.text_area("Messages (JSON)", value=json.dumps(recorded.messages, indent=1, ensure_ascii=False),
                                height=220, key=f"{key}_messages")
        tools = st.text_area("Tools (JSON; [] for none)", value=json.dumps(recorded.tools or [], indent=1),
                             height=100, key=f"{key}_tools")
        params = st.text_area("Parameters (JSON)", value=json.dumps(recorded.params), key=f"{key}_params")
        try:
            edit = RequestEdit(model=model, messages=_parsed(messages, list, "Messages"),
                               tools=_parsed(tools, list, "Tools"), params=_parsed(params, dict, "Parameters"))
            render_preview(preview(ws, tape_id, cursor, edit))
        except (TapeStudioError, ValueError) as exc:
            st.error(plain(str(exc).splitlines()[0]))
            return
        st.button("Re-ask", type="primary", key=f"{key}_go", on_click=_reask, args=(ws, tape_id, cursor, edit),
                  help=f"Sends the request again; the answer replaces steps {found.start}–{found.end - 1} in a new fork.")
        error = st.session_state.pop(_ERROR, None)
        if error:
            st.error(plain(error))


def _agent_note(ws: Any, tape: Any) -> str:
    try:
        spec = ws.spec_of(tape)
    except TapeStudioError:
        name = tape.metadata.agent or "this tape's agent"
        return (f"No agent named {name} is loaded here, so Rerun cannot continue this tape; re-ask its model "
                "instead (or load the agent's source with --agents).")
    return f"Agent {spec.name} is loaded: Rerun from here continues this tape with it; re-asking changes one answer."


def _parsed(text: str, kind: type, what: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(value, kind):
        raise ValueError(f"{what}: expected a JSON {'list' if kind is list else 'object'}")
    return value


def _reask(ws: Any, tape_id: str, cursor: int, edit: RequestEdit) -> None:
    try:
        result = reask(ws, tape_id, cursor, edit)
    except TapeStudioError as exc:
        st.session_state[_ERROR] = str(exc)
        return
    if result.call.error:
        st.session_state[_ERROR] = f"The model answered with an error (kept on the fork): {result.call.error}"
    open_tape(result.tape.id, max(len(result.tape.steps) - 1, 0))
