"""What the studio's pages share: the one workspace, page paths and session-state key names.

Only the workspace is shared between browser sessions (its Store opens one sqlite connection per
thread, so it is safe to share); everything else a page remembers lives in `st.session_state`,
as ids and indexes, never whole tapes.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import streamlit as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.leases import mark_interrupted
from tape_studio.core.workspace import Workspace
from tape_studio.studio.launch import STORE_ENV

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
BROWSE_PAGE = PAGES_DIR / "browse.py"
TAPE_PAGE = PAGES_DIR / "tape.py"
COMPARE_PAGE = PAGES_DIR / "compare.py"
RUN_PAGE = PAGES_DIR / "run.py"
SETTINGS_PAGE = PAGES_DIR / "settings.py"
TRAIN_PAGE = PAGES_DIR / "train.py"
DATA_PAGE = PAGES_DIR / "data.py"

# Session-state keys (one place, so pages and tests agree on them).
TAPE_ID = "tape_id"
"""The tape the Tape page showed last: reopened when the URL names none, and used to notice a change."""
CURSOR = "tape_cursor"
"""Index of the selected step; the visible window of steps is the one that contains it."""
CURSOR_NEXT = "tape_cursor_next"
"""Where the cursor goes on the Tape page's next run (set by actions that open another tape)."""
TRAIN_TAB = "train_tab"
"""The Train page's open tab (only that one is drawn)."""
GRAPH_OPEN = "tape_graph_open"
"""Whether the Tape page's graph of the agent is unfolded (it stays so for the session)."""
BROWSE_PAGE_NO = "browse_page"
ANNOTATION_AUTHOR = "annotation_author"
ANNOTATION_TEXT = "annotation_text"
SESSION_ID = "session_id"
"""A random id per browser session: background runs are kept per session, never shared."""
PENDING_RUN = "pending_run"
"""A rerun or continuation the user asked for, waiting on the cost preview and a confirmation."""
DELETE_PENDING = "browse_delete_pending"
"""Tape ids the user asked to delete, waiting for a confirmation."""
RUN_PAGE_TAPE = "run_page_tape"
"""The tape the Run page started last, whose live stream it shows."""
TRAIN_RUN = "train_run"
"""The training run the Train page shows (also in the URL as `?run=ID`)."""
TRAIN_ROWS_SEEN = "train_rows_seen"
"""Committed rows of that run when the page was last drawn: more means redraw the charts."""

STEP_WINDOW = 50
"""Steps drawn at once: long tapes are loaded a window at a time, never whole."""


@st.cache_resource
def _open_workspace(store: str | None) -> Workspace:
    return Workspace(store)


def get_workspace() -> Workspace:
    """The workspace on the store the launcher named (`TAPE_STUDIO_STORE`), else the default one.

    Cached per store path rather than once, so that a changed environment (as between tests)
    opens the right store instead of a stale one. Each page run first marks the tapes whose
    process died since as interrupted (a read of the small leases table when none did)."""
    ws = _open_workspace(os.environ.get(STORE_ENV) or None)
    mark_interrupted(ws.store)
    return ws


def store_fault(exc: Exception) -> str:
    """The one line a page shows for a store it cannot read or write (named, with what to do)."""
    from tape_studio.core.config import store_path
    from tape_studio.core.store_faults import describe

    if isinstance(exc, TapeStudioError):
        return str(exc)
    return describe(store_path(os.environ.get(STORE_ENV) or None), exc)


def session_id() -> str:
    """This browser session's id (two tabs are two sessions, each with its own runs and cursor)."""
    if SESSION_ID not in st.session_state:
        st.session_state[SESSION_ID] = uuid.uuid4().hex
    return str(st.session_state[SESSION_ID])


def open_tape(tape_id: str, cursor: int = 0) -> None:
    """Shows `tape_id` on the Tape page at `cursor`. Callable from callbacks and from page code:
    the cursor is handed over in its own key because the cursor widget may already be drawn."""
    st.session_state[TAPE_ID], st.session_state[CURSOR_NEXT] = tape_id, cursor
    st.query_params["tape"] = tape_id


def window_start(cursor: int) -> int:
    return cursor - cursor % STEP_WINDOW
