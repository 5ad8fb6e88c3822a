"""Who may use a studio that others can reach: on loopback, whoever is on this machine; on any
other address, only a browser that gives the access token printed when the studio started.

Streamlit's own login (`st.login`) needs an OpenID Connect provider, which an offline studio does
not have; a long random token, compared in constant time, is the fallback that always works.
This module is the launcher's half (no streamlit); `studio/gate.py` is the page's half.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets

from tape_studio.core.errors import InputError

ACCESS_ENV = "TAPE_STUDIO_ACCESS_TOKEN"
"""How the launcher hands the token to the Streamlit process (set only for a non-loopback address)."""
TOKEN_ENV = "TAPE_STUDIO_TOKEN"
"""A token of the user's choosing (so that a bookmarked link keeps working); else a new one each start."""
MIN_LENGTH = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def token_for(host: str) -> str | None:
    """The token a studio on `host` requires: None on loopback."""
    if is_loopback(host):
        return None
    chosen = os.environ.get(TOKEN_ENV, "")
    if not chosen:
        return secrets.token_urlsafe(24)
    if len(chosen) < MIN_LENGTH:
        raise InputError(f"refusing to serve on {host}: {TOKEN_ENV} must be at least {MIN_LENGTH} characters "
                         "(or unset it to get a random one)")
    return chosen


def matches(expected: str, offered: str) -> bool:
    """Compared in constant time, so the time a refusal takes says nothing about the token."""
    return hmac.compare_digest(expected.encode(), offered.encode())
