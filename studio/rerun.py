"""Fork here, rerun from here, continue and step once, and the cost preview shown before a run starts.

Every action is a callback (it runs before the page redraws); a failure is kept in session state
and shown as a message on the page, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from tape_studio.core.approvals import Breakpoints
from tape_studio.core.errors import NotFoundError, TapeStudioError
from tape_studio.core.preview import RerunPreview
from tape_studio.core.run_state import can_start
from tape_studio.core.store import TapeSummary
from tape_studio.core.tape import Tape, fork_tape
from tape_studio.studio import runs
from tape_studio.studio.render import plain
from tape_studio.studio.runs import REGISTRY
from tape_studio.studio.state import PENDING_RUN, get_workspace, open_tape, session_id

_ERROR = "rerun_error"
SOURCES = {"cache": "the cache", "model": "the model (new call)", "estimate": "the model (estimated)"}


def action_bar(summary: TapeSummary, cursor: int) -> None:
    """Buttons that fork or continue the tape at the cursor."""
    busy = REGISTRY.running_on(summary.id)
    row = st.columns(4)
    row[0].button("🔀 Fork here", on_click=_guard, args=(_fork_here, summary.id, cursor), width="stretch",
                  help=f"A new tape that keeps steps 0–{cursor} (a fork at step {cursor + 1}), opened, ready to "
                  "edit or continue.")
    row[1].button("⟲ Rerun from here…", on_click=_ask, args=(summary.id, cursor), width="stretch", disabled=cursor == 0,
                  help=f"A fork at step {cursor}: keeps steps 0–{cursor - 1} and lets the agent redo step {cursor} onward. "
                  "On a step you just edited this redoes it too: to keep the edit, press Continue instead."
                  if cursor else "Move the cursor past the task: a rerun keeps the steps before the cursor.")
    unfinished = can_start(summary.status)
    row[2].button("▶ Continue…", on_click=_ask, args=(summary.id, None), width="stretch", disabled=busy or not unfinished,
                  help="Let the agent continue this tape (it is not finished).")
    row[3].button("⏯ Step once", on_click=_guard, args=(_start, summary.id, None, 1), width="stretch",
                  disabled=busy or not unfinished, help="One agent move or one environment reaction, then pause.")
    error = st.session_state.pop(_ERROR, None)
    if error:
        st.error(plain(error.splitlines()[0]))
        if "\n" in error:
            st.code(error, language=None, wrap_lines=True)


def pending_panel(tape_id: str) -> None:
    """The confirmation of a requested run, with its cost preview."""
    pending = st.session_state.get(PENDING_RUN)
    if not pending or pending["tape"] != tape_id:
        return
    ws, at = get_workspace(), pending["at"]
    with st.container(border=True):
        st.markdown(f"**Rerun from step {at}**" if at is not None else "**Continue this tape**")
        try:
            tape = ws.store.load_tape(tape_id)
            if at is not None and at < len(tape.steps) and "edited_by" in tape.steps[at].metadata.other:
                st.warning(f"Step {at} was written by hand: a rerun from here replaces it with the agent's own "
                           "step. To keep your edit and let the agent go on after it, cancel and press Continue.")
            candidate = fork_tape(tape, at) if at is not None else tape
            preview = runs.preview(ws, candidate, reference=_reference(tape, at))
        except TapeStudioError as exc:
            st.error(plain(f"Cannot run this tape: {exc}"))
            st.button("Cancel", key="pending_cancel", on_click=_cancel)
            return
        except Exception as exc:  # noqa: BLE001  (the preview only advises: its own failure must not block a run)
            st.warning(plain(f"No cost preview: {type(exc).__name__}: {exc}"))
        else:
            render_preview(preview)
        row = st.columns(3)
        row[0].button("Start", type="primary", key="pending_start", on_click=_guard,
                      args=(_start, tape_id, at, None), width="stretch")
        row[1].button("Start, step once", key="pending_step", on_click=_guard, args=(_start, tape_id, at, 1),
                      width="stretch")
        breakpoint_fields(ws, tape_id)
        row[2].button("Cancel", key="pending_cancel", on_click=_cancel, width="stretch")


BREAK_NODES = "run_break_nodes"
BREAK_TOOLS = "run_break_tools"


def breakpoint_fields(ws: object, tape_id: str | None, spec: object = None) -> None:
    """Where this run pauses for approval: before nodes, before tools ("*": every tool call)."""
    if spec is None:
        try:
            spec = ws.spec_of(ws.store.load_tape(tape_id))  # type: ignore[attr-defined]
        except TapeStudioError:
            return
    nodes = [node.name for node in spec.nodes]  # type: ignore[attr-defined]
    tools = ["*", *sorted({tool for node in spec.nodes for tool in node.tools})]  # type: ignore[attr-defined]
    left, right = st.columns(2)
    left.multiselect("Pause before nodes", nodes, key=BREAK_NODES, help="A breakpoint for this run: it waits for you.")
    right.multiselect("Ask before tools", tools, key=BREAK_TOOLS,
                      help="Approve, edit or reject each call of these tools ('*': every tool) in this run.")


def chosen_breakpoints() -> Breakpoints | None:
    points = Breakpoints(nodes=tuple(st.session_state.get(BREAK_NODES) or ()),
                         tools=tuple(st.session_state.get(BREAK_TOOLS) or ()))
    return points or None


def render_preview(preview: RerunPreview) -> None:
    from tape_studio.core.settings import load_settings

    numbers = st.columns(4)
    more = "+" if preview.open_ended else ""
    numbers[0].metric("LLM calls expected", f"{len(preview.calls)}{more}")
    numbers[1].metric("From the cache", preview.cached_calls)
    numbers[2].metric("New tokens", f"{'≈' if not preview.exact else ''}{preview.new_tokens}{more}")
    numbers[3].metric("Cost ($)", f"{preview.cost:.4f}")
    st.caption(plain(f"The rerun {preview.outcome}.") + ("" if preview.exact else
               " Calls after the first new answer are estimated from the recorded ones."))
    if preview.calls:
        rows = [{"agent": c.agent, "node": c.node, "answered by": SOURCES[c.source], "prompt tokens": c.prompt_tokens,
                 "completion tokens": c.completion_tokens, "cost ($)": c.cost, "exact": c.exact} for c in preview.calls]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="preview_calls")
    mode = load_settings(get_workspace().store).llm_mode
    if mode == "replay" and preview.new_calls:
        st.warning("LLM mode is replay: the first call that is not recorded will stop this run. "
                   "Switch to cached or live in Settings to let the model answer.")


def _reference(tape: Tape, at: int | None) -> Tape:
    """The tape whose recorded calls size the calls the preview cannot know."""
    if at is not None or not tape.metadata.parent_id:
        return tape
    try:
        return get_workspace().store.load_tape(tape.metadata.parent_id)
    except NotFoundError:
        return tape


def _guard(action: Callable[..., None], *args: object) -> None:
    try:
        action(*args)
    except TapeStudioError as exc:
        st.session_state[_ERROR] = str(exc)


def _ask(tape_id: str, at: int | None) -> None:
    st.session_state[PENDING_RUN] = {"tape": tape_id, "at": at}


def _cancel() -> None:
    st.session_state.pop(PENDING_RUN, None)


def _fork_here(tape_id: str, cursor: int) -> None:
    fork = get_workspace().fork(tape_id, cursor + 1)
    open_tape(fork.id, cursor)


def _start(tape_id: str, at: int | None, max_iterations: int | None) -> None:
    """Forks at `at` (None: continues the tape itself) and starts the run; opens the tape that runs."""
    ws = get_workspace()
    st.session_state.pop(PENDING_RUN, None)
    tape = ws.fork(tape_id, at) if at is not None else ws.store.load_tape(tape_id)
    runs.start(ws, session_id(), tape, max_iterations=max_iterations, breakpoints=chosen_breakpoints())
    open_tape(tape.id, max(len(tape.steps) - 1, 0))
