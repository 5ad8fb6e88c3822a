"""Tape: one tape, read-only: who made it, its lineage, a window of steps with a cursor, and for
the selected step where it came from (the LLM call) and the notes people left on it."""

import streamlit as st

from core.errors import NotFoundError
from core.store import TapeFilter
from studio.render import render_annotation, render_llm_call, render_lineage, render_step, render_summary
from studio.state import (ANNOTATION_AUTHOR, ANNOTATION_TEXT, CURSOR, STEP_WINDOW, TAPE_ID,
                          get_workspace, window_start)

ws = get_workspace()
st.title("Tape")

tape_id = st.query_params.get("tape") or st.session_state.get(TAPE_ID)
if not tape_id:
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
if st.session_state.get(TAPE_ID) != tape_id:
    st.session_state[TAPE_ID], st.session_state[CURSOR] = tape_id, 0  # another tape: start at its top
st.query_params["tape"] = tape_id  # the address always names the tape shown, so it can be shared


def _open(other_id: str) -> None:
    st.query_params["tape"] = other_id


render_summary(summary)
render_lineage(summary, ws.store.children(tape_id), on_open=_open)

n_steps = summary.n_steps
if n_steps == 0:
    st.info("This tape has no steps yet.")
    st.stop()
st.session_state[CURSOR] = min(max(int(st.session_state.get(CURSOR, 0)), 0), n_steps - 1)


def _move(delta: int) -> None:
    st.session_state[CURSOR] = min(max(st.session_state[CURSOR] + delta, 0), n_steps - 1)


def _jump_to_first_error() -> None:
    index = ws.store.first_step_index(tape_id, "error")
    if index is None:
        st.toast("This tape has no error step.")
    else:
        st.session_state[CURSOR] = index


controls = st.columns([1, 1, 2, 1, 1, 2], vertical_alignment="bottom")
controls[0].button("◀ Prev", on_click=_move, args=(-1,), width="stretch")
controls[1].button("Next ▶", on_click=_move, args=(1,), width="stretch")
controls[2].number_input(f"Step (0–{n_steps - 1})", min_value=0, max_value=n_steps - 1, key=CURSOR)
controls[3].button(f"⏪ {STEP_WINDOW}", on_click=_move, args=(-STEP_WINDOW,), width="stretch")
controls[4].button(f"{STEP_WINDOW} ⏩", on_click=_move, args=(STEP_WINDOW,), width="stretch")
controls[5].button("Jump to first error", on_click=_jump_to_first_error, width="stretch")

cursor = st.session_state[CURSOR]
start = window_start(cursor)
steps = ws.store.load_steps(tape_id, start, start + STEP_WINDOW)  # only this window, however long the tape
steps_col, detail_col = st.columns([3, 2])
with steps_col:
    st.caption(f"Steps {start}–{start + len(steps) - 1} of {n_steps}")
    for offset, step in enumerate(steps):
        render_step(start + offset, step, selected=start + offset == cursor)

with detail_col:
    st.subheader(f"Step {cursor}: provenance")
    prompt_id = steps[cursor - start].metadata.prompt_id
    if not prompt_id:
        st.info("Made by a rule, a tool or a person: no LLM call.")
    else:
        try:
            render_llm_call(ws.store.load_llm_call(prompt_id))
        except NotFoundError:
            st.warning("This step names an LLM call that is not in the store (the tape was imported without it).")

    st.subheader(f"Step {cursor}: notes")
    for note in ws.store.annotations(tape_id):
        if note.step_index == cursor:
            render_annotation(note)

    def _annotate() -> None:
        text = st.session_state[ANNOTATION_TEXT].strip()
        if text:
            author = st.session_state[ANNOTATION_AUTHOR].strip() or "user"
            ws.store.add_annotation(tape_id, st.session_state[CURSOR], author, text)
            st.session_state[ANNOTATION_TEXT] = ""

    with st.form("annotate"):
        st.text_input("Author", value="user", key=ANNOTATION_AUTHOR)
        st.text_area("Note", key=ANNOTATION_TEXT)
        st.form_submit_button("Add note", on_click=_annotate)
