"""What the Browse page does with selected tapes: open, compare, export, delete (after a confirmation)."""

from __future__ import annotations

import streamlit as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.store import TapeSummary
from tape_studio.studio.browse_filters import TABLE
from tape_studio.studio.runs import REGISTRY
from tape_studio.studio.state import (
    COMPARE_PAGE,
    DELETE_PENDING,
    TAPE_PAGE,
    get_workspace,
    open_tape,
)


def bundle_bytes(tape_ids: list[str]) -> bytes:
    """The tapes and the LLM calls their steps link to, as one importable JSON file."""
    return get_workspace().bundle(tape_ids).encode()


def selection_actions(selected: list[TapeSummary]) -> None:
    ids = [row.id for row in selected]
    row = st.columns(4)
    if row[0].button("Open tape", type="primary", disabled=len(ids) != 1, width="stretch"):
        open_tape(ids[0])
        st.switch_page(TAPE_PAGE, query_params={"tape": ids[0]})
    if row[1].button("Compare", disabled=len(ids) != 2, width="stretch", help="Select exactly two tapes."):
        st.switch_page(COMPARE_PAGE, query_params={"a": ids[0], "b": ids[1]})
    row[2].download_button(f"Export {len(ids)}", data=lambda: bundle_bytes(ids), file_name="tapes.json",
                           mime="application/json", disabled=not ids, width="stretch", on_click="ignore",
                           help="Tapes with their LLM calls, importable with `tape-studio import`.")
    row[3].button(f"Delete {len(ids)}…", disabled=not ids, width="stretch",
                  on_click=lambda: st.session_state.update({DELETE_PENDING: ids}))
    if not ids:
        st.caption("Select rows to open, compare (two), export or delete tapes.")


def confirm_delete() -> None:
    """The confirmation box for a pending deletion, if any."""
    ids: list[str] = st.session_state.get(DELETE_PENDING) or []
    if not ids:
        return
    store = get_workspace().store
    forks = sum(len(store.children(tape_id)) for tape_id in ids)
    with st.container(border=True):
        st.warning(f"Delete {len(ids)} tape(s) with their steps and notes? This cannot be undone."
                   + (f" Their {forks} direct fork(s) stay and are re-pointed to the deleted tapes' parents."
                      if forks else ""))
        for tape_id in ids[:10]:
            st.text(f"{tape_id} · {store.summary(tape_id).title if store.has_tape(tape_id) else '(gone)'}")
        yes, no = st.columns(2)
        yes.button("Delete", type="primary", key="delete_confirm", on_click=_delete, args=(ids,))
        no.button("Cancel", key="delete_cancel", on_click=lambda: st.session_state.pop(DELETE_PENDING, None))


def _delete(ids: list[str]) -> None:
    st.session_state.pop(DELETE_PENDING, None)
    st.session_state.pop(TABLE, None)  # the old selection would point at other rows
    if any(REGISTRY.running_on(tape_id) for tape_id in ids):
        st.session_state["browse_message"] = "Nothing was deleted: a selected tape is running; stop its run first."
        return
    try:
        get_workspace().store.delete_tapes(ids)
    except TapeStudioError as exc:
        st.session_state["browse_message"] = f"Nothing was deleted: {exc}"
        return
    st.session_state["browse_message"] = f"Deleted {len(ids)} tape(s)."
