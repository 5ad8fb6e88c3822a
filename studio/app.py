"""The studio's Streamlit entry point (`tape-studio` runs it): page setup and navigation only.

Pages are given as file paths from `pages/`; with st.navigation Streamlit's own discovery of a
`pages/` folder is off, so this list is the whole app.
"""

import sqlite3

import streamlit as st

from tape_studio.core.store_faults import StoreError
from tape_studio.studio.gate import require_access
from tape_studio.studio.state import (
    BROWSE_PAGE,
    COMPARE_PAGE,
    DATA_PAGE,
    RUN_PAGE,
    SETTINGS_PAGE,
    TAPE_PAGE,
    TRAIN_PAGE,
    store_fault,
)

st.set_page_config(page_title="Tape Studio", layout="wide")
require_access()  # a studio on a non-loopback address shows nothing before its access token is given
page = st.navigation([
    st.Page(BROWSE_PAGE, title="Browse", icon="📼", default=True),
    st.Page(TAPE_PAGE, title="Tape", icon="🔎"),
    st.Page(COMPARE_PAGE, title="Compare", icon="⚖️"),
    st.Page(RUN_PAGE, title="Run", icon="▶️"),
    st.Page(DATA_PAGE, title="Data", icon="🗃️"),
    st.Page(TRAIN_PAGE, title="Train", icon="🎓"),
    st.Page(TAPE_PAGE.with_name("experiments.py"), title="Experiments", icon="🧪"),
    st.Page(SETTINGS_PAGE, title="Settings", icon="⚙️"),
])
try:
    page.run()
except (StoreError, sqlite3.Error) as exc:  # a store that cannot be read or written: one line, not a traceback
    st.error(store_fault(exc))
