"""The panels beside the step list: where the step at the cursor came from, and notes on it."""

from __future__ import annotations

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.core.tape import StepBase
from tape_studio.studio.render import render_annotation, render_body, render_llm_call
from tape_studio.studio.state import ANNOTATION_AUTHOR, ANNOTATION_TEXT, CURSOR, get_workspace


def content(step: StepBase) -> None:
    """The step at the cursor drawn whole: the list beside it shows one shortened line per step."""
    meta = step.metadata
    st.text(f"{step.kind} · node {meta.node or '-'} · agent {meta.agent or '-'}")
    render_body(step)


def provenance(step: StepBase) -> None:
    """The LLM call behind the step, or why there is none."""
    meta = step.metadata
    st.text(f"{step.kind} · node {meta.node or '-'} · agent {meta.agent or '-'} · made {meta.created_at:%Y-%m-%d %H:%M:%S}")
    if meta.other.get("edited_by"):
        st.text(f"edited by {meta.other['edited_by']}")
    if not meta.prompt_id:
        st.info("Made by a rule, a tool or a person: no LLM call.")
        return
    try:
        render_llm_call(get_workspace().store.load_llm_call(meta.prompt_id))
    except NotFoundError:
        st.warning("This step names an LLM call that is not in the store (the tape was imported without it).")


def notes(tape_id: str, cursor: int) -> None:
    """The notes on the step at the cursor, and a form to add one (author, time and text are kept)."""
    ws = get_workspace()
    shown = [note for note in ws.store.annotations(tape_id) if note.step_index == cursor]
    if not shown:
        st.caption("No notes on this step yet.")
    for note in shown:
        render_annotation(note)

    def annotate() -> None:
        text = st.session_state[ANNOTATION_TEXT].strip()
        if text:
            author = st.session_state[ANNOTATION_AUTHOR].strip() or "user"
            ws.store.add_annotation(tape_id, st.session_state[CURSOR], author, text)
            st.session_state[ANNOTATION_TEXT] = ""

    with st.form("annotate"):
        st.text_input("Author", value="user", key=ANNOTATION_AUTHOR)
        st.text_area("Note", key=ANNOTATION_TEXT)
        st.form_submit_button("Add note", on_click=annotate)
