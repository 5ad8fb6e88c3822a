"""Browse: every tape in a table, searchable and filterable, a page of 50 at a time; open one."""

from typing import get_args

import streamlit as st

from core.agents import BUILTIN_SPECS
from core.store import TapeFilter
from core.tape import TapeStatus
from studio.render import TAPE_COLUMN_CONFIG, tape_table
from studio.state import BROWSE_PAGE_NO, TAPE_ID, TAPE_PAGE, get_workspace

PAGE_SIZE = 50

ws = get_workspace()
st.title("Tapes")
if ws.store.count_tapes() == 0:
    st.info('No tapes yet. Record one from a terminal, then reload this page:\n\n'
            '`tape-studio run --agent qa --task "What is the capital of France?"`')
    st.stop()


def _back_to_first_page() -> None:
    # A new search or filter starts from its first page, not from the page the old one was on.
    st.session_state[BROWSE_PAGE_NO] = 1


search_col, agent_col, status_col = st.columns([3, 1, 1])
text = search_col.text_input("Search", placeholder="text in the title or in any step", key="browse_text",
                             on_change=_back_to_first_page)
agent = agent_col.selectbox("Agent", sorted(set(ws.store.agents()) | set(BUILTIN_SPECS)), index=None, placeholder="any agent",
                            key="browse_agent", on_change=_back_to_first_page)
status = status_col.selectbox("Status", get_args(TapeStatus), index=None, placeholder="any status",
                              key="browse_status", on_change=_back_to_first_page)

where = TapeFilter(text=text.strip(), agent=agent, status=status, limit=PAGE_SIZE)
total = ws.store.count_tapes(where)
if total == 0:
    st.info("No tape matches this search.")
    st.stop()
page = st.pagination(max(1, -(-total // PAGE_SIZE)), key=BROWSE_PAGE_NO)
rows = ws.store.list_tapes(where.model_copy(update={"offset": (page - 1) * PAGE_SIZE}))
st.caption(f"{total} tapes · page {page}")

event = st.dataframe(tape_table(rows), on_select="rerun", selection_mode="single-row", hide_index=True,
                     key="browse_table", column_config=TAPE_COLUMN_CONFIG)
selected = [rows[i] for i in event.selection.rows if i < len(rows)]  # a stale selection can outlive its page
if selected and st.button("Open tape", type="primary"):
    st.session_state[TAPE_ID] = selected[0].id
    st.switch_page(TAPE_PAGE, query_params={"tape": selected[0].id})
