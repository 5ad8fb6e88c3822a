"""Browse: every tape in a table, searched and filtered in SQL, 50 rows a page; select rows to open,
compare, export or delete them, and see a selected tape's family tree. `?tape=ID` opens a tape."""

import streamlit as st

from tape_studio.studio.browse_filters import TABLE, first_run_hint, tape_filter
from tape_studio.studio.family import family_table
from tape_studio.studio.render import TAPE_COLUMN_CONFIG, plain, tape_table
from tape_studio.studio.selection import confirm_delete, selection_actions
from tape_studio.studio.state import BROWSE_PAGE_NO, TAPE_PAGE, get_workspace, open_tape

PAGE_SIZE = 50

ws = get_workspace()
deep_link = st.query_params.get("tape")
if deep_link:  # links to the studio's address with ?tape=ID(&step=K) land on the Tape page, at that step
    step = st.query_params.get("step", "0")
    open_tape(deep_link, int(step) if step.isdigit() else 0)
    st.switch_page(TAPE_PAGE, query_params={"tape": deep_link, "step": step if step.isdigit() else "0"})

st.title("Tapes")
if ws.store.count_tapes() == 0:
    st.info('No tapes yet. Start one on the Run page, or record one from a terminal and reload this page:\n\n'
            '`tape-studio run --agent qa --task "What is the capital of France?"`')
    st.stop()

message = st.session_state.pop("browse_message", None)
if message:
    st.toast(plain(message))
first_run_hint()
where = tape_filter(PAGE_SIZE)
confirm_delete()
total = ws.store.count_tapes(where)
if total == 0:
    st.info("No tape matches these filters. Clear the search or a filter to see more.")
    st.stop()
page = st.pagination(max(1, -(-total // PAGE_SIZE)), key=BROWSE_PAGE_NO)
rows = ws.store.list_tapes(where.model_copy(update={"offset": (page - 1) * PAGE_SIZE}))
st.caption(f"{total} tapes · page {page}")

snippets = ws.store.search_snippets([row.id for row in rows], where.text) if where.text else None
event = st.dataframe(tape_table(rows, snippets), on_select="rerun", selection_mode="multi-row", hide_index=True,
                     key=TABLE, column_config=TAPE_COLUMN_CONFIG)
selected = [rows[i] for i in event.selection.rows if i < len(rows)]  # a stale selection can outlive its page
selection_actions(selected)

if len(selected) == 1:
    with st.expander("Family tree of the selected tape", expanded=True):
        chosen = family_table(selected[0].id, key="browse_family")
        if chosen and st.button("Open selected fork"):
            open_tape(chosen)
            st.switch_page(TAPE_PAGE, query_params={"tape": chosen})
