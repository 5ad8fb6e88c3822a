"""Tape: the debugger. A step player with a cursor; for the step at the cursor its provenance, an
edit form (→ a fork) and notes; fork, rerun from here (with a cost preview), continue and step
once, with new steps streaming in live; lineage and the family tree of forks."""

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.core.store import TapeFilter
from tape_studio.studio.approval_panel import approval_panel
from tape_studio.studio.detail import content, notes, provenance
from tape_studio.studio.edit import edit_form
from tape_studio.studio.family import family_table
from tape_studio.studio.graph import graph_panel
from tape_studio.studio.live import live_panel
from tape_studio.studio.player import cursor_controls, steps_window
from tape_studio.studio.step_list import PANE_HEIGHT, step_list
from tape_studio.studio.reask_panel import reask_panel
from tape_studio.studio.render import render_lineage, render_summary
from tape_studio.studio.rerun import action_bar, pending_panel
from tape_studio.studio.state import (
    CURSOR,
    CURSOR_NEXT,
    GRAPH_OPEN,
    TAPE_ID,
    get_workspace,
    open_tape,
    session_id,
)

ws = get_workspace()
st.title("Tape")

tape_id = st.query_params.get("tape") or st.session_state.get(TAPE_ID)
if not tape_id:
    if ws.store.count_tapes() == 0:
        st.info("No tapes yet. Start one on the Run page, or from a terminal:\n\n"
                '`tape-studio run --agent qa --task "What is the capital of France?"`')
        st.stop()
    titles = {row.id: f"{row.title or '(untitled)'} · {row.id[:8]}" for row in ws.store.list_tapes(TapeFilter(limit=50))}
    tape_id = st.selectbox("Open a recent tape", list(titles), format_func=titles.get, index=None)
    if not tape_id:
        st.stop()
try:
    summary = ws.store.summary(tape_id)
except NotFoundError:
    st.session_state.pop(TAPE_ID, None)  # so that a stale id does not come back on the next visit
    st.error("No tape with id shown below: it was deleted, or the link is wrong.")
    st.code(tape_id, language=None)
    st.stop()
if st.session_state.get(TAPE_ID) != tape_id:  # another tape, or a reload: the link's step, else the top
    linked = st.query_params.get("step", "0")
    st.session_state[TAPE_ID], st.session_state[CURSOR] = tape_id, int(linked) if linked.isdigit() else 0
if CURSOR_NEXT in st.session_state:
    st.session_state[CURSOR] = st.session_state.pop(CURSOR_NEXT)
st.query_params["tape"] = tape_id  # the address always names the tape shown, so it can be shared

render_summary(summary)
parent = ws.store.summary(summary.parent_id) if summary.parent_id and ws.store.has_tape(summary.parent_id) else None
render_lineage(summary, ws.store.children(tape_id), on_open=open_tape, parent=parent)
# Drawn only while open: the browser redraws a table on every rerun even when it is folded away,
# which was a third of what a step of the cursor cost on a long tape.
family_tree = st.expander("Family tree of forks", key="tape_family_open", on_change="rerun")
if family_tree.open:
    with family_tree:
        chosen = family_table(tape_id, key="tape_family")
        if chosen:
            st.button("Open selected tape", on_click=open_tape, args=(chosen,))
live_panel(session_id(), tape_id)
approval_panel(summary)
pending_panel(tape_id)

if summary.n_steps == 0:
    st.info("This tape has no steps yet.")
    action_bar(summary, 0)
    st.stop()
cursor = cursor_controls(summary)
st.query_params["step"] = str(cursor)  # kept on reload, and shareable: ?tape=ID&step=K
action_bar(summary, cursor)
# Folded until opened (then open for the session): redrawing the figure in the browser was half of
# what a cursor move cost (a step on the 10,000-step tape: 180-210 ms folded, 290-390 ms open).
graph = st.expander("Graph of the agent", key=GRAPH_OPEN, on_change="rerun")
if graph.open:
    with graph:
        graph_panel(summary, session_id(), cursor, on_pick=lambda index: open_tape(tape_id, index))
cards = st.toggle("Full cards", key="tape_cards", help="Every step of the window drawn whole, with its notes.")
steps_col, detail_col = st.columns([3, 2])
with steps_col:
    step = steps_window(summary, cursor) if cards else step_list(summary, cursor)
with detail_col, st.container(height=None if cards else PANE_HEIGHT, key="inspector", border=True):
    st.markdown(f"**Step {cursor}** · {step.family}")
    content(step)
    provenance_tab, edit_tab, notes_tab = st.tabs(["Provenance", "Edit this step", "Notes"])
    with provenance_tab:
        provenance(step)
    with edit_tab:
        edit_form(ws, tape_id, cursor, step)
    with notes_tab:
        notes(tape_id, cursor)
    reask_panel(ws, tape_id, cursor, step)
