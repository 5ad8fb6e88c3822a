"""The family tree of forks: a root and every tape forked from it, drawn as an indented table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from tape_studio.core.store import TapeSummary
from tape_studio.studio.state import get_workspace


def tree_order(family: list[TapeSummary]) -> list[tuple[int, TapeSummary]]:
    """Depth-first order with depths; a tape whose parent is not in the family hangs off the top."""
    ids = {tape.id for tape in family}
    children: dict[str | None, list[TapeSummary]] = {}
    for tape in family:
        parent = tape.parent_id if tape.parent_id in ids else None
        children.setdefault(parent, []).append(tape)
    ordered: list[tuple[int, TapeSummary]] = []
    stack = [(0, tape) for tape in reversed(children.get(None, []))]
    while stack:
        depth, tape = stack.pop()
        ordered.append((depth, tape))
        stack += [(depth + 1, child) for child in reversed(children.get(tape.id, []))]
    return ordered


def family_table(tape_id: str, key: str) -> str | None:
    """The family of `tape_id` as a table; returns the id of another tape selected in it."""
    family = get_workspace().store.family(tape_id)
    if len(family) < 2:
        st.caption("No forks: this tape is alone in its family.")
        return None
    rows = tree_order(family)
    frame = pd.DataFrame([{
        "tree": "    " * depth + ("└─ " if depth else "") + (tape.title or "(untitled)"),
        "fork at": tape.fork_step,
        "status": tape.status,
        "steps": tape.n_steps,
        "this": "◀" if tape.id == tape_id else "",
        "id": tape.id,
    } for depth, tape in rows])
    event = st.dataframe(frame, hide_index=True, on_select="rerun", selection_mode="single-row", key=key,
                         column_config={"tree": st.column_config.TextColumn("Family tree", width="large")})
    chosen = [rows[i][1].id for i in event.selection.rows if i < len(rows)]
    return chosen[0] if chosen and chosen[0] != tape_id else None
