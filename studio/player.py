"""The step player of the Tape page: the cursor controls and the window of steps around the cursor.

Only the window (STEP_WINDOW steps) is loaded and drawn, so a 10,000-step tape opens as fast as
a short one; every jump (first error, next visit of a node) is one indexed SQL query.
"""

from __future__ import annotations

import streamlit as st

from tape_studio.core.store import Annotation, TapeSummary
from tape_studio.core.tape import Step
from tape_studio.studio.render import render_annotation, render_step
from tape_studio.studio.state import CURSOR, STEP_WINDOW, get_workspace, window_start

JUMP_NODE = "tape_jump_node"


def cursor_controls(summary: TapeSummary) -> int:
    """Prev/next, the step number, window jumps, first error and next visit of a node; returns the cursor."""
    ws, tape_id, last = get_workspace(), summary.id, summary.n_steps - 1
    st.session_state[CURSOR] = min(max(int(st.session_state.get(CURSOR, 0)), 0), last)

    def move(delta: int) -> None:
        st.session_state[CURSOR] = min(max(st.session_state[CURSOR] + delta, 0), last)

    def next_error() -> None:
        after = ws.store.first_step_index(tape_id, "error", st.session_state[CURSOR] + 1)
        index = after if after is not None else ws.store.first_step_index(tape_id, "error")  # wrap around
        if index is None:
            st.toast("This tape has no error step.")
        else:
            st.session_state[CURSOR] = index

    def next_visit() -> None:
        node = st.session_state.get(JUMP_NODE)
        if not node:
            return
        after = ws.store.first_node_index(tape_id, node, st.session_state[CURSOR] + 1)
        index = after if after is not None else ws.store.first_node_index(tape_id, node)  # wrap around
        if index is not None:
            st.session_state[CURSOR] = index

    row = st.columns([1, 1, 1.4, 1, 1, 1.6, 1.6, 1.2], vertical_alignment="bottom")
    row[0].button("◀ Prev", on_click=move, args=(-1,), width="stretch", shortcut="K")
    row[1].button("Next ▶", on_click=move, args=(1,), width="stretch", shortcut="J")
    row[2].number_input(f"Step (0–{last})", min_value=0, max_value=max(last, 0), key=CURSOR)
    row[3].button(f"⏪ {STEP_WINDOW}", on_click=move, args=(-STEP_WINDOW,), width="stretch")
    row[4].button(f"{STEP_WINDOW} ⏩", on_click=move, args=(STEP_WINDOW,), width="stretch")
    row[5].button("Next error", on_click=next_error, width="stretch", shortcut="E",
                  help="The first error after the cursor (then from the top again).")
    row[6].selectbox("Node", ws.store.step_nodes(tape_id), index=None, placeholder="jump to a node", key=JUMP_NODE)
    row[7].button("Next visit ▶", on_click=next_visit, width="stretch", disabled=not st.session_state.get(JUMP_NODE))
    return int(st.session_state[CURSOR])


def steps_window(summary: TapeSummary, cursor: int) -> Step:
    """The full-card view: the window of steps that holds the cursor, each drawn whole with its
    notes; returns the cursor's step."""
    ws = get_workspace()
    start = window_start(cursor)
    steps = ws.store.load_steps(summary.id, start, start + STEP_WINDOW)
    notes: dict[int | None, list[Annotation]] = {}
    for note in ws.store.annotations(summary.id):
        notes.setdefault(note.step_index, []).append(note)
    st.caption(f"Steps {start}–{start + len(steps) - 1} of {summary.n_steps}")

    def select(index: int) -> None:
        st.session_state[CURSOR] = index

    for offset, step in enumerate(steps):
        index = start + offset
        render_step(index, step, selected=index == cursor)
        if index != cursor:
            st.button(f"Select step {index}", key=f"select_{index}", on_click=select, args=(index,), type="tertiary")
        for note in notes.get(index, []):
            with st.container(border=False):
                render_annotation(note)
    return steps[cursor - start]
