"""What the studio's pages share: the one workspace, page paths and session-state key names.

Only the workspace is shared between browser sessions (its Store opens one sqlite connection per
thread, so it is safe to share); everything else a page remembers lives in `st.session_state`,
as ids and indexes, never whole tapes.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.workspace import Workspace
from studio.launch import STORE_ENV

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
BROWSE_PAGE = PAGES_DIR / "browse.py"
TAPE_PAGE = PAGES_DIR / "tape.py"

# Session-state keys (one place, so pages and tests agree on them).
TAPE_ID = "tape_id"
"""The tape the Tape page showed last: reopened when the URL names none, and used to notice a change."""
CURSOR = "tape_cursor"
"""Index of the selected step; the visible window of steps is the one that contains it."""
BROWSE_PAGE_NO = "browse_page"
ANNOTATION_AUTHOR = "annotation_author"
ANNOTATION_TEXT = "annotation_text"

STEP_WINDOW = 50
"""Steps drawn at once: long tapes are loaded a window at a time, never whole."""


@st.cache_resource
def _open_workspace(store: str | None) -> Workspace:
    return Workspace(store)


def get_workspace() -> Workspace:
    """The workspace on the store the launcher named (`TAPE_STUDIO_STORE`), else the default one.

    Cached per store path rather than once, so that a changed environment (as between tests)
    opens the right store instead of a stale one."""
    return _open_workspace(os.environ.get(STORE_ENV) or None)


def window_start(cursor: int) -> int:
    return cursor - cursor % STEP_WINDOW
