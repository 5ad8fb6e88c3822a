"""The Browse page's search and filters, turned into one TapeFilter (all filtering happens in SQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import get_args

import streamlit as st

from tape_studio.core.store import TapeFilter
from tape_studio.core.tape import TapeStatus
from tape_studio.studio.state import BROWSE_PAGE_NO, get_workspace

ERROR_CHOICES = {"with an error": True, "without errors": False}
TABLE = "browse_table"
RECORD_TAG = "training-record"
"""The tag of tapes a training run writes about itself: hidden from Browse until asked for."""


def _changed() -> None:
    # A new search starts from its first page, and the old row selection means other rows now.
    st.session_state[BROWSE_PAGE_NO] = 1
    st.session_state.pop(TABLE, None)


def tape_filter(page_size: int) -> TapeFilter:
    ws = get_workspace()
    search, agent_col, status_col = st.columns([3, 1, 1])
    text = search.text_input("Search", placeholder="text in the title or in any step", key="browse_text",
                             on_change=_changed)
    agents = sorted(set(ws.store.agents()) | {spec.name for spec in ws.agents()})
    agent = agent_col.selectbox("Agent", agents, index=None, placeholder="any agent", key="browse_agent",
                                on_change=_changed)
    status = status_col.selectbox("Status", get_args(TapeStatus), index=None, placeholder="any status",
                                  key="browse_status", on_change=_changed)
    errors, low, high, dates, records = st.columns([1, 1, 1, 2, 1], vertical_alignment="bottom")
    error = errors.selectbox("Errors", list(ERROR_CHOICES), index=None, placeholder="with or without",
                             key="browse_errors", on_change=_changed)
    min_score = low.number_input("Min score", value=None, step=0.1, key="browse_min_score", on_change=_changed)
    max_score = high.number_input("Max score", value=None, step=0.1, key="browse_max_score", on_change=_changed)
    days = dates.date_input("Created between", value=[], key="browse_dates", on_change=_changed)
    after, before = _day_range(days)
    show_records = records.toggle("Training records", key="browse_records", on_change=_changed,
                                  help="Tapes a training run wrote about itself (losses, gradients, decisions).")
    return TapeFilter(text=text.strip(), agent=agent, status=status, has_error=ERROR_CHOICES.get(error or ""),
                      min_score=min_score, max_score=max_score, created_after=after, created_before=before,
                      without_tag=None if show_records else RECORD_TAG, limit=page_size)


def _day_range(days: object) -> tuple[datetime | None, datetime | None]:
    """Whole days in UTC; a single picked day means that day."""
    picked = list(days) if isinstance(days, (list, tuple)) else ([days] if days else [])
    if not picked:
        return None, None
    start = datetime.combine(picked[0], time.min, tzinfo=UTC)
    end = datetime.combine(picked[-1], time.min, tzinfo=UTC) + timedelta(days=1)
    return start, end


FIRST_TAPE = "What is 17 times 23?"
"""The demo tape to open first: a wrong tool choice, and the forks that fix it by an edit."""


def first_run_hint() -> None:
    """Until a tape has been opened in this session: which demo tape to open first, and why."""
    from tape_studio.studio.state import TAPE_ID, open_tape

    if st.session_state.get(TAPE_ID):
        return
    rows = get_workspace().store.list_tapes(TapeFilter(text=FIRST_TAPE, limit=20))
    first = next((row for row in rows if row.title == FIRST_TAPE and not row.parent_id), None)
    if first is None:
        return
    with st.container(border=True):
        st.markdown("**New here?** Open *What is 17 times 23?* first: the agent looks the product up instead of "
                    "computing it, and its forks show the fix, an edited step rerun from there. Step through it, "
                    "then open the family tree.")
        if st.button("Open it in the debugger", key="browse_first_tape"):
            from tape_studio.studio.state import TAPE_PAGE

            open_tape(first.id)
            st.switch_page(TAPE_PAGE, query_params={"tape": first.id})
