"""The page's half of the access token (see studio/access.py): until this browser session has
given the token, in the link (`?token=…`) or typed once, the studio shows nothing else."""

from __future__ import annotations

import os
import time

import streamlit as st

from tape_studio.studio.access import ACCESS_ENV, matches

_GRANTED = "access_granted"


def require_access() -> None:
    """Returns when this session may use the studio; otherwise draws the token form and stops."""
    expected = os.environ.get(ACCESS_ENV)
    if not expected or st.session_state.get(_GRANTED):
        return
    offered = st.query_params.get("token")
    if offered is not None:
        del st.query_params["token"]  # not left in the address bar, the history or a shared link
        if matches(expected, offered):
            st.session_state[_GRANTED] = True
            return
    st.title("Tape Studio")
    st.write("This studio can be reached from other machines, so it asks for its access token: "
             "the terminal that started it printed the token and a link that carries it.")
    with st.form("access_form"):
        typed = st.text_input("Access token", type="password", key="access_token")
        if st.form_submit_button("Open the studio", type="primary"):
            if matches(expected, typed):
                st.session_state[_GRANTED] = True
                st.rerun()
            time.sleep(0.5)  # slows guessing down; a 32-character random token is out of reach anyway
            st.error("That is not this studio's access token.")
    if offered is not None:
        st.error("The token in the link is not this studio's access token.")
    st.stop()
