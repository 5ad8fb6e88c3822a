"""The studio's Streamlit entry point (`tape-studio` runs it): page setup and navigation only.

Pages are given as file paths from `pages/`; with st.navigation Streamlit's own discovery of a
`pages/` folder is off, so this list is the whole app.
"""

import streamlit as st

from studio.state import BROWSE_PAGE, TAPE_PAGE

st.set_page_config(page_title="Tape Studio", layout="wide")
st.navigation([
    st.Page(BROWSE_PAGE, title="Browse", icon="📼", default=True),
    st.Page(TAPE_PAGE, title="Tape", icon="🔎"),
]).run()
