"""The panel of a run awaiting approval: the pending step, and approve / edit / reject, each of which
records the decision on the store (core/approvals.py) and lets the run go on in the background.

The pause is read from the store on every draw, so it is there after a restart of the studio."""

from __future__ import annotations

import json

import streamlit as st

from tape_studio.core import approvals
from tape_studio.core.errors import TapeStudioError
from tape_studio.core.store import TapeSummary
from tape_studio.studio import runs
from tape_studio.studio.render import plain, render_step
from tape_studio.studio.state import get_workspace, open_tape, session_id

_ERROR = "approval_error"


def approval_panel(summary: TapeSummary) -> None:
    """Draws the decision for a tape awaiting approval (nothing for any other tape)."""
    ws = get_workspace()
    pause = approvals.load_pause(ws.store, summary.id) if summary.status == "awaiting_approval" else None
    if pause is None or pause.approved:
        return
    with st.container(border=True, key="approval_panel"):
        st.markdown("**⏸ Awaiting approval**")
        st.text(f"The run paused {pause.describe()}.")
        if pause.step_index is not None:
            render_step(pause.step_index, ws.store.load_steps(summary.id, pause.step_index, pause.step_index + 1)[0])
        else:
            st.caption("Approve to let the node run, or reject: the tape then ends failed with your reason.")
        reason_key = f"reject_reason_{summary.id}"
        st.text_input("Reason (for a rejection)", key=reason_key)
        row = st.columns(3)
        row[0].button("✅ Approve and continue", type="primary", key="approve", width="stretch",
                      on_click=_decide, args=(summary.id, "approve", ""))
        row[1].button("✋ Reject", key="reject", width="stretch", on_click=_decide, args=(summary.id, "reject", reason_key),
                      help="The agent reads your reason as the tool's result and goes on." if pause.before == "tool"
                      else "Ends the run as failed, with your reason on the tape; a later Continue retries the node.")
        if pause.before == "tool" and pause.step_index is not None:
            step = ws.store.load_steps(summary.id, pause.step_index, pause.step_index + 1)[0]
            with row[2].popover("✏️ Edit and run", width="stretch"):
                key = f"approval_edit_{summary.id}"
                st.text_area("Tool call (JSON)", json.dumps(step.body(), indent=2, ensure_ascii=False), key=key)
                st.button("Run the edited call", key="approve_edited", on_click=_decide,
                          args=(summary.id, "edit", key))
        error = st.session_state.pop(_ERROR, None)
        if error:
            st.error(plain(error))


def _decide(tape_id: str, decision: str, value: str) -> None:
    """`value` names the widget holding the reason or the edited JSON."""
    ws = get_workspace()
    try:
        if decision == "approve":
            approvals.approve(ws.store, tape_id)
        elif decision == "reject":
            approvals.reject(ws.store, tape_id, st.session_state.get(value, ""))  # read in the callback: the newest text
            if ws.store.summary(tape_id).status == "failed":
                return  # a rejected node ends the run; nothing runs on
        else:
            fork = approvals.edit(ws, tape_id, approvals.parse_edit(st.session_state[value]))
            tape_id = fork.id
            open_tape(tape_id, len(fork.steps) - 1)
        runs.start(ws, session_id(), ws.store.load_tape(tape_id))
    except TapeStudioError as exc:
        st.session_state[_ERROR] = str(exc)
